/**
 * `tick-replay consume [--app NAME] [--workers N]`: the mid-price consumer on its own, attached to
 * a running stack (the embedded one of `up`/`stack`, LocalStack, AWS). One worker runs in this
 * process; with N > 1 this process supervises N worker processes that share the shards through
 * leases. Each `--app` is an independent consumer application with its own leases and
 * checkpoints: a second one reads the whole stream without touching the first.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { resolveConfig, type Config } from '../config.ts';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import { resolveDeployment } from '../aws/deployment.ts';
import { describeEndpoints } from '../aws/endpoints.ts';
import { needsEmbeddedStack, openAwsEnvironment } from './aws-environment.ts';
import { isCheckpointPromptly, startWorkerPool, type WorkerStart } from './consumer-workers.ts';
import { DEFAULT_APP, startLocalWorker } from './consumer-application.ts';
import { addCommonOptions, addTargetOptions, commonOverrides, createCliLogger, interruptSignal, type CommonFlags } from './session.ts';
import { describeOutput, prepareOutput, requireS3Endpoint } from './output-target.ts';

export interface ConsumerWorkerOptions {
  config: Config;
  app: string;
  from: WorkerStart;
  run?: string;
  logger: Logger;
  signal: AbortSignal;
  /** How often to log the worker's counters (default 10 s). */
  statsEveryMs?: number;
}

/** One worker in this process, until `signal` aborts; then it checkpoints and releases its leases. */
export async function runConsumerWorker(options: ConsumerWorkerOptions): Promise<void> {
  const { config, logger, signal } = options;
  await prepareOutput(config, { truncate: false });
  const aws = await openAwsEnvironment(config, logger);
  try {
    const { mapping, workerId } = await startLocalWorker({ aws, config, logger, app: options.app, from: options.from, run: options.run });
    const log = logger.child('consumer', { app: options.app, worker: workerId });
    const stats = setInterval(() => log.info('consumer worker stats', { held: mapping.heldShards(), ...mapping.stats }), options.statsEveryMs ?? 10_000);
    // A supervised worker: the supervisor's run has put everything and waits for the checkpoints.
    const onMessage = (message: unknown): void => {
      if (isCheckpointPromptly(message)) mapping.checkpointPromptly();
    };
    process.on('message', onMessage);
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    clearInterval(stats);
    process.off('message', onMessage);
    await mapping.stop();
    log.info('consumer worker stopped', { ...mapping.stats });
  } finally {
    await aws.close();
  }
}

/**
 * `consume` attaches to a stack that is already running: the endpoints given (--endpoint,
 * AWS_ENDPOINT_URL…), the deployed stack (`--aws`), else the embedded stack's edge on this
 * machine if one answers, for the services without an endpoint.
 */
async function attachEndpoint(config: Config): Promise<Config> {
  if (!needsEmbeddedStack(config)) return config;
  const local = `http://127.0.0.1:${config.edgePort}`;
  const healthy = await fetch(`${local}/_localstack/health`, { signal: AbortSignal.timeout(2_000) })
    .then((response) => response.ok)
    .catch(() => false);
  if (!healthy) {
    throw new ConfigError(
      `no AWS endpoint: nothing answers on ${local}. Start the stack first (npx tick-replay up … or npx tick-replay stack), or set AWS_ENDPOINT_URL / --endpoint`,
      { name: 'AWS_ENDPOINT_URL' },
    );
  }
  return { ...config, endpoints: { ...config.endpoints, kinesis: config.endpoints.kinesis ?? local, dynamodb: config.endpoints.dynamodb ?? local } };
}

function positiveInt(name: string, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1 || n > max) throw new InvalidArgumentError(`${name} must be an integer between 1 and ${max}, got "${value}"`);
    return n;
  };
}

export const workersOption = (): Option =>
  new Option('--workers <n>', 'consumer worker processes sharing the shards through leases').argParser(positiveInt('--workers', 32)).default(1);

type ConsumeFlags = CommonFlags & {
  app: string;
  workers: number;
  from: WorkerStart;
  run?: string;
  worker?: boolean;
  out?: string;
  threshold?: string;
  batchSize?: string;
  leaseMs?: string;
};

async function consumeCommand(flags: ConsumeFlags): Promise<void> {
  // The name is part of the lease keys (`lease#<app>#<stream>#<shard>`): keep it plain.
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(flags.app)) {
    throw new ConfigError(`--app must be 1-64 letters, digits, "_", "." or "-", got "${flags.app}"`, { name: 'app' });
  }
  const resolved = resolveConfig(process.env, {
    ...commonOverrides(flags),
    outputDir: flags.out,
    latencyThresholdMs: flags.threshold,
    batchSize: flags.batchSize,
    leaseDurationMs: flags.leaseMs,
  });
  requireS3Endpoint(resolved);
  // A supervised worker logs JSON to stderr, which its supervisor routes.
  const { logger, logFile } = createCliLogger(resolved, flags.worker !== true && process.stderr.isTTY === true);
  if (logFile !== undefined) process.stderr.write(`tick-replay: logs in ${logFile}\n`);
  const config = await attachEndpoint(await resolveDeployment(resolved));
  const interrupt = interruptSignal(logger, { supervised: flags.worker === true });
  // A worker whose supervisor is gone (even kill -9) stops too: its IPC channel closes.
  const orphaned = new AbortController();
  process.once('disconnect', () => orphaned.abort());
  // The channel must not keep a stopped worker alive.
  process.channel?.unref();
  const signal = AbortSignal.any([interrupt.signal, orphaned.signal]);
  try {
    if (flags.worker === true || flags.workers === 1) {
      await runConsumerWorker({ config, app: flags.app, from: flags.from, run: flags.run, logger, signal });
      return;
    }
    process.stdout.write(`tick-replay: ${flags.workers} consumer workers for application "${flags.app}" on ${describeEndpoints(config.endpoints)}, writing to ${describeOutput(config)}; Ctrl-C stops them\n`);
    const pool = startWorkerPool({ count: flags.workers, endpoints: config.endpoints, config, app: flags.app, from: flags.from, run: flags.run, logger });
    const stopped = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    try {
      await Promise.race([stopped, pool.allDied]);
    } finally {
      await pool.stop();
    }
  } finally {
    interrupt.dispose();
  }
}

export function registerConsumeCommand(program: Command): void {
  addTargetOptions(addCommonOptions(
    program
      .command('consume')
      .description('run the mid-price consumer against a running stack: N worker processes share the shards through DynamoDB leases')
      .option('--app <name>', 'consumer application: its own leases and checkpoints, the whole stream', DEFAULT_APP)
      .addOption(workersOption())
      .addOption(new Option('--from <position>', 'where shards never consumed by this application start').choices(['trim-horizon', 'latest']).default('trim-horizon'))
      .option('--out <dir|s3://bucket/prefix>', 'output directory (env OUTPUT_DIR, default output), files appended to; or S3 objects under a prefix (env OUTPUT_URI)')
      .option('--threshold <ms>', 'latency threshold in ms (env LATENCY_THRESHOLD, default 20)')
      .option('--batch-size <n>', 'records per handler invocation (env BATCH_SIZE, default 100)')
      .option('--lease-ms <ms>', 'lease duration: a silent worker\'s shards are taken over after it (env LEASE_DURATION_MS, default 5000)')
      // Used by the supervisors (`consume --workers`, `run`, `up`) for their worker processes.
      .addOption(new Option('--worker', 'run as one supervised worker').hideHelp())
      .addOption(new Option('--run <id>', 'consume only the records of this one-shot run').hideHelp()),
  )).action(consumeCommand);
}
