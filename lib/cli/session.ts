/**
 * What every long-running command shares: the common AWS/stack flags, logs routed for the
 * terminal (a file under the state directory when stderr is a TTY, JSON on stderr otherwise),
 * progress, and Ctrl-C/SIGTERM handling.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { Config, ConfigOverrides } from '../config.ts';
import { createLogger, type Logger, type LogSink } from '../logging/logger.ts';
import { createProgressReporter, type ProgressReporter } from './progress.ts';

export interface CommonFlags {
  endpoint?: string;
  stateDir?: string;
  edgePort?: string;
  stream?: string;
  table?: string;
  shards?: string;
  logLevel?: string;
}

export function addCommonOptions(command: Command): Command {
  return command
    .option('--endpoint <url>', 'AWS endpoint to use instead of starting the embedded stack (env AWS_ENDPOINT_URL)')
    .option('--state-dir <dir>', 'where the embedded stack keeps its data (env STATE_DIR, default .tick-replay)')
    .option('--edge-port <port>', 'port of the embedded stack edge endpoint (env EDGE_PORT, default 4566)')
    .option('--stream <name>', 'Kinesis stream name (env STREAM_NAME)')
    .option('--table <name>', 'DynamoDB state table name (env TABLE_NAME)')
    .option('--shards <n>', 'shard count when the stream is created (env SHARD_COUNT, default 4)')
    .option('--log-level <level>', 'DEBUG, INFO, WARN, ERROR or SILENT (env POWERTOOLS_LOG_LEVEL, else LOG_LEVEL)');
}

export function commonOverrides(flags: CommonFlags): ConfigOverrides {
  return {
    endpointUrl: flags.endpoint,
    stateDir: flags.stateDir,
    edgePort: flags.edgePort,
    streamName: flags.stream,
    tableName: flags.table,
    shardCount: flags.shards,
    logLevel: flags.logLevel,
  };
}

/**
 * On a terminal the progress bar owns stderr, so logs go to a file under the state directory;
 * otherwise JSON logs go to stderr (stdout stays for results).
 */
export function createCliLogger(config: Config, tty: boolean): { logger: Logger; logFile?: string } {
  if (!tty) return { logger: createLogger({ service: 'tick-replay', level: config.logLevel }) };
  const logFile = path.join(config.stateDir, 'logs', 'tick-replay.log');
  mkdirSync(path.dirname(logFile), { recursive: true });
  const sink: LogSink = (line) => appendFileSync(logFile, line + '\n');
  return { logger: createLogger({ service: 'tick-replay', level: config.logLevel, sink }), logFile };
}

/**
 * First Ctrl-C / SIGTERM stops cleanly (flush, drain); a second one exits at once. A supervised
 * worker is stopped with SIGTERM by its supervisor as a matter of course (end of a run, Ctrl-C
 * in the supervisor's terminal): that is logged as information, not as a warning to a user.
 */
export function interruptSignal(logger: Logger, options: { supervised?: boolean } = {}): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      process.stderr.write(`\ntick-replay: second ${name}, exiting now\n`);
      process.exit(130);
    }
    if (options.supervised === true) logger.info('stopping as asked by the supervisor: finishing the batch in hand, then releasing the leases', { signal: name });
    else logger.warn('stopping: flushing buffers and draining the consumer (press Ctrl-C again to exit at once)', { signal: name });
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** What a long command needs around it: logs routed for the terminal, progress, and signals. */
export function startSession(config: Config): { logger: Logger; logFile?: string; progress: ProgressReporter; interrupt: ReturnType<typeof interruptSignal> } {
  const tty = process.stderr.isTTY === true;
  const { logger, logFile } = createCliLogger(config, tty);
  if (logFile !== undefined) process.stderr.write(`tick-replay: logs in ${path.relative(process.cwd(), logFile)}\n`);
  return { logger, logFile, progress: createProgressReporter({ tty, logger }), interrupt: interruptSignal(logger) };
}

