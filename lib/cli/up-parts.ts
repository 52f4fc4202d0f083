/**
 * What both forms of `up` start the same way (up-command.ts: the whole local stack;
 * up-replayer-alone.ts: the replayer against a deployment): the live feed simulator of
 * `--live-file`, the replay engine, and the stop list run in reverse order.
 */
import { startFeedServer, type FeedServer } from '../live/feed-server.ts';
import type { Logger } from '../logging/logger.ts';
import type { QuoteAck } from '../replay/replayer.ts';
import type { AwsEnvironment } from './aws-environment.ts';
import { createReplayEngine } from './replay-engine-setup.ts';
import type { UpOptions } from './up-command.ts';

/** What was started, with how to stop it; stopped last first. */
export type StopList = Array<{ what: string; stop: () => Promise<void> }>;

/** Stops everything on the list, last started first; a failure to stop one is logged, not thrown. */
export async function stopInReverse(stops: StopList, logger: Logger): Promise<void> {
  for (const { what, stop } of stops.reverse()) {
    await stop().catch((error: unknown) => logger.warn(`stopping ${what} failed`, { error }));
  }
}

/** The feed simulator on `--live-file` (added to `stops`); the live URL the replayer follows. */
export async function startUpFeed(options: UpOptions, stops: StopList): Promise<string | undefined> {
  let feed: FeedServer | undefined;
  if (options.liveFile !== undefined) {
    feed = await startFeedServer({
      file: options.liveFile,
      format: options.liveFormat,
      host: options.host,
      port: options.livePort,
      // The simulator stands in for an exchange: its own pace (real time by default), not the replay's.
      speed: options.liveSpeed ?? 1,
      loop: true,
      logger: options.logger.child('feed'),
      allowedHosts: options.config.allowedHosts,
    });
    stops.push({ what: 'live feed', stop: () => feed?.close() ?? Promise.resolve() });
  }
  return options.liveUrl ?? feed?.url;
}

/** What `up` hooks into its replayer. */
export interface UpEngineHooks {
  /** Every acknowledgement (the metrics). */
  onAck: (acked: QuoteAck[]) => void;
  historicalGate?: (sentThisSession: number) => Promise<void> | undefined;
  /** The shards each PutRecords reply's records landed on (the in-process consumer's wake). */
  onRecordsLanded?: (shardIds: readonly string[]) => void;
}

/** The replayer `up` runs: historical first, the mode control followed, acknowledgements counted. */
export function createUpEngine(
  options: UpOptions,
  aws: AwsEnvironment,
  liveUrl: string | undefined,
  { onAck, historicalGate, onRecordsLanded }: UpEngineHooks,
): ReturnType<typeof createReplayEngine> {
  return createReplayEngine({
    aws,
    config: options.config,
    historicalFile: options.historicalFile,
    inputs: options.inputs,
    selection: options.selection,
    speed: options.speed,
    liveUrl,
    liveFormat: options.liveFormat,
    liveSubscribe: options.liveSubscribe,
    logger: options.logger,
    aggregate: options.aggregate,
    onProgress: options.onProgress,
    onQuoteSent: options.onQuoteSent,
    historicalGate,
    onAck,
    onRecordsLanded,
  });
}
