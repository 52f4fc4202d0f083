/**
 * `tick-replay` command line. Commands are thin: they resolve configuration, wire signals and
 * output, and call the pipelines in lib/. Errors the user can fix print one specific line and
 * exit non-zero.
 */
import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { resolveAggregate, resolveConfig, type Config } from '../config.ts';
import { resolveDeployment } from '../aws/deployment.ts';
import { describeEndpoints } from '../aws/endpoints.ts';
import { ConfigError, TickReplayError } from '../errors.ts';
import { createLogger } from '../logging/logger.ts';
import { parseSpeed, type Speed } from '../replay/pacer.ts';
import { runHistorical } from './historical-run.ts';
import { commandInputs } from './input-context.ts';
import { formatSummary, summaryJson } from './summary.ts';
import { openAwsEnvironment } from './aws-environment.ts';
import { registerFeedCommand } from './feed-command.ts';
import { registerModeCommands } from './mode-commands.ts';
import { registerOutputCommand } from './output-command.ts';
import { describeOutput, requireS3Endpoint } from './output-target.ts';
import { runUp, type UpReadyInfo } from './up-command.ts';
import { startStatusLine, type StatusLine } from './status-line.ts';
import { registerConsumeCommand, workersOption } from './consume-command.ts';
import { addCommonOptions, addTargetOptions, commonOverrides, interruptSignal, startSession, type CommonFlags } from './session.ts';
import { addInputOptions, inputNames, selectionFrom, type InputFlags } from './input-flags.ts';
import { venueMapper } from '../live/venues/venues.ts';

function speedOption(value: string): Speed {
  try {
    return parseSpeed(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

/** Flags shared by the commands that replay through Kinesis into the handler (`run`, `up`). */
type PipelineFlags = CommonFlags &
  InputFlags & {
  out?: string;
  speed: Speed;
  threshold?: string;
  batchSize?: string;
  aggregate?: boolean;
  workers: number;
};

async function pipelineConfig(flags: PipelineFlags): Promise<{ config: Config; aggregate: boolean }> {
  const resolved = resolveConfig(process.env, {
    ...commonOverrides(flags),
    outputDir: flags.out,
    latencyThresholdMs: flags.threshold,
    batchSize: flags.batchSize,
  });
  const aggregate = resolveAggregate(process.env, flags.aggregate);
  // Before anything is read or started: an S3 output the local target cannot reach.
  requireS3Endpoint(resolved);
  // `--aws`: the region and the names no flag or variable gave, from the deployment.
  return { config: await resolveDeployment(resolved), aggregate };
}

/** What `up` prints once it is up: the local stack's addresses, or the deployment it drives. */
function upBanner(files: readonly string[], speed: Speed, config: Config, info: UpReadyInfo): string {
  const head = `tick-replay is up: replaying ${files.join(', ')} (historical, speed ${String(speed)})`;
  const { apiUrl, dashboardUrl } = info;
  if (apiUrl === undefined || dashboardUrl === undefined) {
    const stack = config.stackName;
    return [
      `${head} into the deployed stack ${stack}`,
      `  AWS            ${describeEndpoints(info.endpoints)} (${config.region}), stream ${config.streamName}, table ${config.tableName}`,
      `  live feed      ${info.liveUrl ?? 'none (give --live-file or --live-url)'}`,
      `  flip modes     npx tick-replay mode live --aws --stack ${stack} | npx tick-replay mode historical --aws --stack ${stack} [--from-start]`,
      `  status         npx tick-replay status --aws --stack ${stack}`,
      '  the deployed midPrice function consumes the stream (its output: the stack output OutputUri)',
      'Press Ctrl-C to stop (checkpoints are kept; the next start resumes).',
      '',
    ].join('\n');
  }
  return [
    `${head} into ${config.outputS3 !== undefined ? describeOutput(config) : path.relative(process.cwd(), config.outputDir) || '.'}/`,
    `  AWS endpoint   ${describeEndpoints(info.endpoints)}`,
    `  live feed      ${info.liveUrl ?? 'none (give --live-file or --live-url)'}`,
    `  mode API       ${apiUrl}/mode`,
    `  dashboard      ${dashboardUrl}/   (Prometheus metrics: ${dashboardUrl}/metrics)`,
    `  flip modes     curl --json '{"mode":"live"}' ${apiUrl}/mode`,
    `                 npx tick-replay mode live | npx tick-replay mode historical [--from-start]`,
    `  status         curl ${apiUrl}/mode   or   npx tick-replay status`,
    'Press Ctrl-C to stop (checkpoints are kept; the next start resumes).',
    '',
  ].join('\n');
}

async function runCommand(flags: PipelineFlags): Promise<void> {
  const { config, aggregate } = await pipelineConfig(flags);
  const selection = selectionFrom(flags);
  const { logger, logFile, progress, interrupt } = startSession(config);
  const inputs = commandInputs(config, logger);
  try {
    const files = await inputNames(flags, inputs);
    const summary = await runHistorical({
      config,
      file: files,
      inputs,
      selection,
      speed: flags.speed,
      logger,
      signal: interrupt.signal,
      onStart: (inputs) => progress.start(inputs.validRows),
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
    inputs.close();
  }
}

function portOption(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) throw new InvalidArgumentError(`must be a port number (0-65535), got "${value}"`);
  return port;
}

async function upCommand(
  flags: PipelineFlags & { liveFile?: string; liveUrl?: string; liveFormat: string; liveSubscribe?: string; liveSpeed: Speed; livePort: number; apiPort: number; dashboardPort: number; host: string },
): Promise<void> {
  if (flags.liveFile !== undefined && flags.liveUrl !== undefined) throw new ConfigError('give --live-file or --live-url, not both', { name: '--live-file' });
  const { config, aggregate } = await pipelineConfig(flags);
  const selection = selectionFrom(flags);
  const { logger, logFile, progress, interrupt } = startSession(config);
  const inputs = commandInputs(config, logger);
  // On a terminal one status line replaces the progress bar (logs already go to a file there).
  const tty = logFile !== undefined;
  let statusLine: StatusLine | undefined;
  let started = false;
  try {
    const files = await inputNames(flags, inputs);
    await runUp({
      config,
      historicalFile: files,
      inputs,
      selection,
      liveFile: flags.liveFile,
      liveUrl: flags.liveUrl,
      liveFormat: venueMapper(flags.liveFormat).format,
      liveSubscribe: flags.liveSubscribe,
      livePort: flags.livePort,
      apiPort: flags.apiPort,
      dashboardPort: flags.dashboardPort,
      host: flags.host,
      speed: flags.speed,
      liveSpeed: flags.liveSpeed,
      logger,
      signal: interrupt.signal,
      stackLogFile: logFile,
      aggregate,
      workers: flags.workers,
      onReady: (info) => {
        process.stdout.write(upBanner(files, flags.speed, config, info));
        if (tty) statusLine = startStatusLine(process.stderr, info.snapshot);
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
    inputs.close();
  }
}

async function stackCommand(flags: CommonFlags): Promise<void> {
  const config = resolveConfig(process.env, commonOverrides(flags));
  if (config.target === 'aws') throw new ConfigError('"stack" starts the embedded AWS stack; with TICK_REPLAY_TARGET=aws there is nothing to start', { name: 'TICK_REPLAY_TARGET' });
  const logger = createLogger({ service: 'tick-replay', level: config.logLevel });
  const interrupt = interruptSignal(logger);
  const aws = await openAwsEnvironment(config, logger);
  const endpoint = aws.endpoints.kinesis ?? '';
  process.stdout.write(
    `AWS endpoint: ${describeEndpoints(aws.endpoints)}\n` +
      `  stream ${config.streamName} (${aws.streamArn}), table ${config.tableName}\n` +
      `  try: AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=${config.region} aws --endpoint-url ${endpoint} kinesis list-streams\n` +
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

  addTargetOptions(addCommonOptions(
    addInputOptions(program.command('run').description('replay CSV files through Kinesis into the mid-price handler, wait for the output, and exit'))
      .option('--out <dir|s3://bucket/prefix>', 'output directory for mid_prices.log and errors.log (env OUTPUT_DIR, default output), or S3 objects under a prefix (env OUTPUT_URI; read with `output cat`)')
      .addOption(new Option('--speed <speed>', '"max" (no waits), 1 (real time) or N (N times faster)').argParser(speedOption).default('max'))
      .option('--threshold <ms>', 'latency threshold in ms (env LATENCY_THRESHOLD, default 20)')
      .option('--batch-size <n>', 'records per handler invocation (env BATCH_SIZE, default 100)')
      .option('--aggregate', 'pack quotes into KPL aggregated records (env AGGREGATE=true)')
      .addOption(workersOption()),
  )).action(runCommand);

  addTargetOptions(addCommonOptions(
    addInputOptions(program.command('up').description('run the whole stack: embedded AWS, live feed, mode API, replayer and consumer, until Ctrl-C (with --aws: the replayer alone, against the deployed stack)'))
      .option('--live-file <file>', 'start the live feed simulator on this CSV and replay from it in live mode')
      .option('--live-url <url>', 'websocket URL of a live feed (instead of --live-file)')
      .option('--live-format <format>', 'live message format: json (ours), binance (bookTicker), coinbase (Advanced Trade ticker), kraken (v2 ticker)', 'json')
      .option('--live-subscribe <symbols|json>', 'sent after every connect: comma-separated symbols for the venue, or JSON message(s) as they are')
      .addOption(new Option('--live-port <port>', 'port of the live feed simulator').argParser(portOption).default(8765))
      .addOption(new Option('--api-port <port>', 'port of the mode API').argParser(portOption).default(3000))
      .addOption(new Option('--dashboard-port <port>', 'port of the dashboard, GET /metrics (Prometheus) and GET /api/snapshot (0: any free port)').argParser(portOption).default(3001))
      .option('--host <host>', 'interface of the live feed, mode API and dashboard (beyond loopback, name the hosts clients use in ALLOWED_HOSTS)', '127.0.0.1')
      .option('--out <dir|s3://bucket/prefix>', 'output directory (env OUTPUT_DIR, default output), files appended to; or S3 objects under a prefix (env OUTPUT_URI)')
      .addOption(new Option('--speed <speed>', '"max", 1 (real time) or N (N times faster)').argParser(speedOption).default(1))
      .addOption(new Option('--live-speed <speed>', 'pace of the --live-file simulator: "max", 1 (real time) or N').argParser(speedOption).default(1))
      .option('--threshold <ms>', 'latency threshold in ms (env LATENCY_THRESHOLD, default 20)')
      .option('--batch-size <n>', 'records per handler invocation (env BATCH_SIZE, default 100)')
      .option('--aggregate', 'pack quotes into KPL aggregated records (env AGGREGATE=true)')
      .addOption(workersOption()),
  )).action(upCommand);

  registerFeedCommand(program);
  registerModeCommands(program);
  registerConsumeCommand(program);
  registerOutputCommand(program);

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
