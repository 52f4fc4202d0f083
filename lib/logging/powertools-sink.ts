/**
 * A Powertools Logger whose lines go to one of our log sinks instead of stdout/stderr. The local
 * event source mapping runs the Lambda handler in-process; its logs must follow the CLI's routing
 * (stderr, or the log file while a progress bar owns the terminal) and never land on stdout,
 * which carries command results.
 *
 * Powertools 2.36.0 (the latest release) has no public option for where lines go: it prints
 * through a private `console` (`new Console(process.stdout, process.stderr)`, or the global
 * console with POWERTOOLS_DEV), and its public extension points (`logFormatter`,
 * `jsonReplacerFn`) shape a line but cannot redirect it. So this overrides the protected
 * `printLog`, and package.json pins @aws-lambda-powertools/logger (and metrics, which shares
 * @aws-lambda-powertools/commons with it) to that exact version: a release that renamed or
 * bypassed `printLog` would send the handler's logs to stdout, and
 * test/unit/logging/powertools-sink.test.ts fails if one does. Lines are written by
 * lib/logging/json-line.ts, the same code as the CLI's own logger: one valid JSON line per call,
 * errors with their cause chain, context and AWS `$metadata`, bounded and cycle-safe.
 */
import { Logger, type LogItem } from '@aws-lambda-powertools/logger';
import { jsonLine } from './json-line.ts';
import { stderrSink, type LogLevel, type LogSink } from './logger.ts';

/**
 * The keys Powertools' default formatter (PowertoolsLogFormatter) puts before the caller's, and
 * its correlation id: they stay when a line has to be cut for size.
 */
const POWERTOOLS_KEYS: ReadonlySet<string> = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_name',
  'function_request_id',
  'sampling_rate',
  'xray_trace_id',
  'tenant_id',
  'correlation_id',
]);

/** One JSON line for a Powertools log item's attributes. */
export function powertoolsLine(attributes: Record<string, unknown>): string {
  const fixed: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(attributes)) (POWERTOOLS_KEYS.has(key) ? fixed : rest)[key] = value;
  return jsonLine(fixed, rest);
}

class SinkLogger extends Logger {
  // Assigned after super(): Powertools may print (buffered start-up warnings) from its constructor.
  private sink: LogSink | undefined;

  constructor(sink: LogSink, options: ConstructorParameters<typeof Logger>[0]) {
    super(options);
    this.sink = sink;
  }

  protected override printLog(_logLevel: number, log: LogItem): void {
    // prepareForPrint drops empty keys, as Powertools' own printLog does before printing.
    log.prepareForPrint();
    (this.sink ?? stderrSink)(powertoolsLine(log.getAttributes()));
  }

  // createChild() builds its child through this factory (Powertools' documented subclass hook):
  // a child must write to the same sink, not to stdout.
  protected override createLogger(options?: ConstructorParameters<typeof Logger>[0]): Logger {
    return new SinkLogger(this.sink ?? stderrSink, options);
  }
}

export function createPowertoolsLogger(serviceName: string, level: LogLevel, sink: LogSink): Logger {
  return new SinkLogger(sink, { serviceName, logLevel: level });
}
