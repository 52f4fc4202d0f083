/**
 * `tick-replay` command line. Commands are thin: they resolve configuration, wire signals and
 * output, and call the pipelines in lib/. Errors the user can fix print one specific line and
 * exit non-zero.
 */
import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { resolveAggregate, resolveConfig, type Config } from '../config.ts';
import { TickReplayError } from '../errors.ts';
import { createLogger } from '../logging/logger.ts';
import { parseSpeed, type Speed } from '../replay/pacer.ts';
import { runHistorical } from './historical-run.ts';
import { formatSummary, summaryJson } from './summary.ts';
import { openAwsEnvironment } from './aws-environment.ts';
import { registerFeedCommand } from './feed-command.ts';
import { registerModeCommands } from './mode-commands.ts';
import { runUp } from './up-command.ts';
import { startStatusLine, type StatusLine } from './status-line.ts';
import { registerConsumeCommand, workersOption } from './consume-command.ts';
import { addCommonOptions, commonOverrides, interruptSignal, startSession, type CommonFlags } from './session.ts';

function speedOption(value: string): Speed {
  try {
    return parseSpeed(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

/** Flags shared by the commands that replay through Kinesis into the handler (`run`, `up`). */
type PipelineFlags = CommonFlags & {
  historical: string;
  out?: string;
  speed: Speed;
  threshold?: string;
  batchSize?: string;
  aggregate?: boolean;
  workers: number;
};

function pipelineConfig(flags: PipelineFlags): { config: Config; aggregate: boolean } {
  const config = resolveConfig(process.env, {
    ...commonOverrides(flags),
    outputDir: flags.out,
    latencyThresholdMs: flags.threshold,
    batchSize: flags.batchSize,
  });
  return { config, aggregate: resolveAggregate(process.env, flags.aggregate) };
}

async function runCommand(flags: PipelineFlags): Promise<void> {
  const { config, aggregate } = pipelineConfig(flags);
  const { logger, logFile, progress, interrupt } = startSession(config);
  try {
    const summary = await runHistorical({
      config,
      file: flags.historical,
      speed: flags.speed,
      logger,
      signal: interrupt.signal,
      onStart: (scan) => progress.start(scan.validRows),
      onProgress: (done) => progress.update(done),
      stackLogFile: logFile,
      aggregate,
      workers: flags.workers,
    });
    progress.stop();
    logger.info('run complete', { ...summary });
    process.stdout.write(formatSummary(summary) + '\n' + summaryJson(summary) + '\n');
    if (summary.interrupted) process.exitCode = 130;
  } finally {
    progress.stop();
    interrupt.dispose();
  }
}

function portOption(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) throw new InvalidArgumentError(`must be a port number (0-65535), got "${value}"`);
  return port;
}

async function upCommand(
  flags: PipelineFlags & { liveFile?: string; liveUrl?: string; livePort: number; apiPort: number; dashboardPort: number; host: string },
): Promise<void> {
  if (flags.liveFile !== undefined && flags.liveUrl !== undefined) throw new InvalidArgumentError('give --live-file or --live-url, not both');
  const { config, aggregate } = pipelineConfig(flags);
  const { logger, logFile, progress, interrupt } = startSession(config);
  // On a terminal one status line replaces the progress bar (logs already go to a file there).
  const tty = logFile !== undefined;
  let statusLine: StatusLine | undefined;
  let started = false;
  try {
    await runUp({
      config,
      historicalFile: flags.historical,
      liveFile: flags.liveFile,
      liveUrl: flags.liveUrl,
      livePort: flags.livePort,
      apiPort: flags.apiPort,
      dashboardPort: flags.dashboardPort,
      host: flags.host,
      speed: flags.speed,
      logger,
      signal: interrupt.signal,
      stackLogFile: logFile,
      aggregate,
      workers: flags.workers,
      onReady: ({ apiUrl, dashboardUrl, endpointUrl, liveUrl, snapshot }) => {
        process.stdout.write(
          [
            `tick-replay is up: replaying ${flags.historical} (historical, speed ${String(flags.speed)}) into ${path.relative(process.cwd(), config.outputDir) || '.'}/`,
            `  AWS endpoint   ${endpointUrl ?? 'AWS default endpoints'}`,
            `  live feed      ${liveUrl ?? 'none (give --live-file or --live-url)'}`,
            `  mode API       ${apiUrl}/mode`,
            `  dashboard      ${dashboardUrl}/   (Prometheus metrics: ${dashboardUrl}/metrics)`,
            `  flip modes     curl --json '{"mode":"live"}' ${apiUrl}/mode`,
            `                 npx tick-replay mode live | npx tick-replay mode historical [--from-start]`,
            `  status         curl ${apiUrl}/mode   or   npx tick-replay status`,
            'Press Ctrl-C to stop (checkpoints are kept; the next start resumes).',
            '',
          ].join('\n'),
        );
        if (tty) statusLine = startStatusLine(process.stderr, snapshot);
      },
      onProgress: (done, total) => {
        if (tty) return;
        if (!started) {
          started = true;
          progress.start(total);
        }
        progress.update(done);
      },
    });
  } finally {
    statusLine?.stop();
    progress.stop();
    interrupt.dispose();
  }
}

async function stackCommand(flags: CommonFlags): Promise<void> {
  const config = resolveConfig(process.env, commonOverrides(flags));
  const logger = createLogger({ service: 'tick-replay', level: config.logLevel });
  const interrupt = interruptSignal(logger);
  const aws = await openAwsEnvironment(config, logger);
  process.stdout.write(
    `AWS endpoint: ${aws.endpointUrl ?? 'default AWS endpoints'}\n` +
      `  stream ${config.streamName} (${aws.streamArn}), table ${config.tableName}\n` +
      `  try: AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=${config.region} aws --endpoint-url ${aws.endpointUrl ?? ''} kinesis list-streams\n` +
      `Press Ctrl-C to stop.\n`,
  );
  // The emulator child is unref'd (it must not keep a finished command alive); this command's
  // whole job is to stay up, so hold the event loop open until a signal arrives.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  await new Promise<void>((resolve) => interrupt.signal.addEventListener('abort', () => resolve(), { once: true }));
  clearInterval(keepAlive);
  await aws.close();
  interrupt.dispose();
}

export function buildProgram(): Command {
  const program = new Command('tick-replay')
    .description('Replay historical and live market quotes through AWS Kinesis into a mid-price processor.')
    .showHelpAfterError('(run with --help for usage)')
    // Usage errors exit 2, like the errors the user can fix (commander's own default is 1).
    .exitOverride();

  addCommonOptions(
    program
      .command('run')
      .description('replay a CSV file through Kinesis into the mid-price handler, wait for the output, and exit')
      .requiredOption('--historical <file>', 'CSV file of historical quotes')
      .option('--out <dir>', 'output directory for mid_prices.log and errors.log (env OUTPUT_DIR, default output)')
      .addOption(new Option('--speed <speed>', '"max" (no waits), 1 (real time) or N (N times faster)').argParser(speedOption).default('max'))
      .option('--threshold <ms>', 'latency threshold in ms (env LATENCY_THRESHOLD, default 20)')
      .option('--batch-size <n>', 'records per handler invocation (env BATCH_SIZE, default 100)')
      .option('--aggregate', 'pack quotes into KPL aggregated records (env AGGREGATE=true)')
      .addOption(workersOption()),
  ).action(runCommand);

  addCommonOptions(
    program
      .command('up')
      .description('run the whole stack: embedded AWS, live feed, mode API, replayer and consumer, until Ctrl-C')
      .requiredOption('--historical <file>', 'CSV file of historical quotes')
      .option('--live-file <file>', 'start the live feed simulator on this CSV and replay from it in live mode')
      .option('--live-url <url>', 'websocket URL of a live feed (instead of --live-file)')
      .addOption(new Option('--live-port <port>', 'port of the live feed simulator').argParser(portOption).default(8765))
      .addOption(new Option('--api-port <port>', 'port of the mode API (serverless-offline)').argParser(portOption).default(3000))
      .addOption(new Option('--dashboard-port <port>', 'port of the dashboard, GET /metrics (Prometheus) and GET /api/snapshot (0: any free port)').argParser(portOption).default(3001))
      .option('--host <host>', 'interface of the live feed, mode API and dashboard (beyond loopback, name the hosts clients use in ALLOWED_HOSTS)', '127.0.0.1')
      .option('--out <dir>', 'output directory (env OUTPUT_DIR, default output); files are appended to')
      .addOption(new Option('--speed <speed>', '"max", 1 (real time) or N (N times faster)').argParser(speedOption).default(1))
      .option('--threshold <ms>', 'latency threshold in ms (env LATENCY_THRESHOLD, default 20)')
      .option('--batch-size <n>', 'records per handler invocation (env BATCH_SIZE, default 100)')
      .option('--aggregate', 'pack quotes into KPL aggregated records (env AGGREGATE=true)')
      .addOption(workersOption()),
  ).action(upCommand);

  registerFeedCommand(program);
  registerModeCommands(program);
  registerConsumeCommand(program);

  addCommonOptions(
    program.command('stack').description('start the embedded AWS stack (Kinesis + DynamoDB on one edge port) until Ctrl-C'),
  ).action(stackCommand);

  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander has printed its message (or the help, exit code 0).
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    if (error instanceof TickReplayError) {
      process.stderr.write(`tick-replay: error: ${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`tick-replay: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  }
}

await main(process.argv);
