/**
 * `tick-replay up`: the whole long-running stack on one machine — embedded AWS (unless
 * AWS_ENDPOINT_URL is set), the live feed simulator, the mode API (serverless-offline from
 * serverless.yml), the replayer (historical first) and the consumer (the mid-price handler behind
 * the local event source mapping). Ctrl-C stops it in reverse order, checkpointed and flushed.
 */
import { constants as fsConstants } from 'node:fs';
import { access } from 'node:fs/promises';
import { describeExit, type ChildExit } from '../../infra/child-exit.ts';
import { EmbeddedStackError } from '../../infra/embedded-stack.ts';
import type { Config } from '../config.ts';
import { describeFsError, InputError } from '../errors.ts';
import { startFeedServer, type FeedServer } from '../live/feed-server.ts';
import type { Logger } from '../logging/logger.ts';
import { prepareOutputDir } from '../output/log-files.ts';
import { recordHasPrefix, RUN_STAMPED_PREFIX } from '../quotes/record.ts';
import type { Speed } from '../replay/pacer.ts';
import type { KinesisProducer } from '../aws/producer.ts';
import type { QuoteEntry } from '../replay/replayer.ts';
import { openAwsEnvironment, type AwsEnvironment } from './aws-environment.ts';
import { createLocalConsumer } from './local-consumer.ts';
import { startLocalModeApi } from './local-mode-api.ts';
import { createReplayEngine } from './replay-engine-setup.ts';

export interface UpOptions {
  config: Config;
  historicalFile: string;
  liveFile?: string;
  liveUrl?: string;
  livePort: number;
  apiPort: number;
  speed: Speed;
  logger: Logger;
  signal: AbortSignal;
  stackLogFile?: string;
  /** Pack quotes into KPL aggregated records (the aws-kinesis-agg format); default false. */
  aggregate?: boolean;
  /** Told where everything is once it is up. */
  onReady?: (info: { apiUrl: string; endpointUrl: string | undefined; liveUrl: string | undefined }) => void;
  onProgress?: (done: number, total: number) => void;
}

/** The consumer application of the long-running stack (its checkpoints persist across restarts). */
export const CONSUMER_APP = 'mid-price';

/** How long a stopping stack waits for the consumer to drain what was sent. */
const DRAIN_MS = 10_000;

export async function runUp(options: UpOptions): Promise<void> {
  const { config, logger, signal } = options;
  // Fail on a missing input before starting anything (the replayer reads it only later).
  await access(options.historicalFile, fsConstants.R_OK).catch((error: unknown) => {
    throw new InputError(`cannot read ${options.historicalFile}: ${describeFsError(error)}`, { file: options.historicalFile }, { cause: error });
  });
  await prepareOutputDir(config.outputDir, { truncate: false });
  const stops: Array<{ what: string; stop: () => Promise<void> }> = [];
  // A dead embedded stack or mode API would leave everything retrying forever: stop with its cause.
  const fatal = new AbortController();
  let closing = false;
  const watch = (what: string, exited: Promise<ChildExit> | undefined): void => {
    void exited?.then((exit) => {
      if (!closing) fatal.abort(new EmbeddedStackError(`${what} stopped unexpectedly (${describeExit(exit)})`, { ...exit }));
    });
  };
  const stopAll = async (): Promise<void> => {
    closing = true;
    for (const { what, stop } of stops.reverse()) {
      await stop().catch((error: unknown) => logger.warn(`stopping ${what} failed`, { error }));
    }
  };

  try {
    const aws: AwsEnvironment = await openAwsEnvironment(config, logger, { stackLogFile: options.stackLogFile });
    stops.push({ what: 'AWS environment', stop: () => aws.close() });
    watch('the embedded AWS stack', aws.stack?.exited);

    let feed: FeedServer | undefined;
    if (options.liveFile !== undefined) {
      feed = await startFeedServer({ file: options.liveFile, port: options.livePort, speed: options.speed, loop: true, logger: logger.child('feed') });
      stops.push({ what: 'live feed', stop: () => feed?.close() ?? Promise.resolve() });
    }
    const liveUrl = options.liveUrl ?? feed?.url;

    const api = await startLocalModeApi({ aws, config, port: options.apiPort, logger });
    stops.push({ what: 'mode API', stop: () => api.stop() });
    watch('the mode API (serverless-offline)', api.exited);
    if (signal.aborted || fatal.signal.aborted) return;

    const { mapping } = createLocalConsumer({
      aws,
      config,
      logger,
      app: CONSUMER_APP,
      // First start: everything in the stream; later starts resume after the checkpoints.
      startingPosition: 'TRIM_HORIZON',
      // Records of one-shot `run`s (stamped with their run id) are theirs, not ours.
      filter: (record) => !recordHasPrefix(record.Data, RUN_STAMPED_PREFIX),
    });
    await mapping.start();
    // Registered at once: whatever fails next, the consumer's poll loops are stopped.
    const drainTargets: { producer?: KinesisProducer<QuoteEntry> } = {};
    stops.push({
      what: 'consumer',
      stop: async () => {
        const targets = drainTargets.producer?.acknowledgedPositions();
        if (targets !== undefined && !fatal.signal.aborted) await mapping.waitForPositions(targets, AbortSignal.timeout(DRAIN_MS));
        await mapping.stop();
      },
    });

    const { producer, engine } = await createReplayEngine({
      aws,
      config,
      historicalFile: options.historicalFile,
      speed: options.speed,
      liveUrl,
      logger,
      aggregate: options.aggregate,
      onProgress: options.onProgress,
    });
    drainTargets.producer = producer;
    options.onReady?.({ apiUrl: api.url, endpointUrl: aws.endpointUrl, liveUrl });
    try {
      await engine.run(AbortSignal.any([signal, fatal.signal]));
    } catch (error) {
      // What failed after a component died failed because it died: report the cause.
      if (fatal.signal.aborted) throw fatal.signal.reason;
      throw error;
    }
    if (fatal.signal.aborted) throw fatal.signal.reason;
  } finally {
    await stopAll();
  }
}
