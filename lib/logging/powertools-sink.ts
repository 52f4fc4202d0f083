/**
 * A Powertools Logger whose lines go to one of our log sinks instead of stdout/stderr. The local
 * event source mapping runs the Lambda handler in-process; its logs must follow the CLI's routing
 * (stderr, or the log file while a progress bar owns the terminal) and never land on stdout,
 * which carries command results. `printLog` is Powertools' documented extension point.
 */
import { Logger, type LogItem } from '@aws-lambda-powertools/logger';
import { stderrSink, type LogLevel, type LogSink } from './logger.ts';

class SinkLogger extends Logger {
  // Assigned after super(): Powertools may print (buffered start-up warnings) from its constructor.
  private sink: LogSink | undefined;

  constructor(sink: LogSink, options: ConstructorParameters<typeof Logger>[0]) {
    super(options);
    this.sink = sink;
  }

  protected override printLog(_logLevel: number, log: LogItem): void {
    // Powertools' own printLog prepares the item and serialises with its replacer, which turns an
    // Error into { name, message, stack, cause }: a plain JSON.stringify drops the message (an
    // Error's own properties are not enumerable) and the log would say only `"name":"OutputError"`.
    log.prepareForPrint();
    (this.sink ?? stderrSink)(JSON.stringify(log.getAttributes(), this.getJsonReplacer()));
  }
}

export function createPowertoolsLogger(serviceName: string, level: LogLevel, sink: LogSink): Logger {
  return new SinkLogger(sink, { serviceName, logLevel: level });
}
