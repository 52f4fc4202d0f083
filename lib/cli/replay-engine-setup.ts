/**
 * The long-running replayer as `up` and the demo build it: a Kinesis producer whose
 * acknowledgements go to the engine, and the engine reading the mode control item and the
 * historical checkpoint from the state table.
 */
import { KinesisProducer } from '../aws/producer.ts';
import { loadShardMap } from '../aws/shard-map.ts';
import type { Config } from '../config.ts';
import { locationKey, type InputContext } from '../input/input.ts';
import { ControlStore } from '../control/control-store.ts';
import { LiveSource } from '../live/live-source.ts';
import type { LiveFormat } from '../live/venues/venue.ts';
import type { Logger } from '../logging/logger.ts';
import { DynamoCheckpointStore } from '../replay/checkpoint-store.ts';
import { ReplayEngine, replayerIdentity, type EngineOptions } from '../replay/engine.ts';
import type { Speed } from '../replay/pacer.ts';
import type { Selection } from '../replay/selection.ts';
import type { QuoteAck, QuoteEntry } from '../replay/replayer.ts';
import type { AwsEnvironment } from './aws-environment.ts';

export interface ReplayEngineSetup {
  aws: AwsEnvironment;
  config: Config;
  historicalFile: string | readonly string[];
  /** How s3:// inputs are reached (input-context.ts); default: local files only. */
  inputs?: InputContext;
  selection?: Selection;
  speed: Speed;
  liveUrl: string | undefined;
  /** How live messages become quotes, and what to subscribe to after each connect. */
  liveFormat?: LiveFormat;
  liveSubscribe?: string;
  logger: Logger;
  aggregate?: boolean;
  onProgress?: EngineOptions['onProgress'];
  historicalGate?: EngineOptions['historicalGate'];
  onQuoteSent?: EngineOptions['onQuoteSent'];
  /** Told about every acknowledgement, after the engine (metrics). */
  onAck?: (acked: QuoteAck[]) => void;
  /** Told which shards each PutRecords reply's records landed on (a consumer in this process reads them now). */
  onRecordsLanded?: (shardIds: readonly string[]) => void;
}

/**
 * How often a local replayer reads the mode control item. A GetItem every 50 ms costs the local
 * emulator nothing measurable and keeps a mode switch (API call → first line of the new mode)
 * within its budget; against AWS the engine's default (200 ms) keeps the table's read bill low.
 */
const LOCAL_CONTROL_POLL_MS = 50;

export async function createReplayEngine(options: ReplayEngineSetup): Promise<{ producer: KinesisProducer<QuoteEntry>; engine: ReplayEngine }> {
  const { aws, config, logger } = options;
  // The producer needs the engine (acknowledgements) and the engine the producer.
  const engineRef: { current?: ReplayEngine } = {};
  const producer = new KinesisProducer<QuoteEntry>({
    client: aws.clients.kinesis,
    streamName: config.streamName,
    shardMap: await loadShardMap(aws.clients.kinesis, config.streamName),
    logger: logger.child('producer'),
    onAck: (acked) => {
      engineRef.current?.onAck(acked);
      options.onAck?.(acked);
    },
    onRecordsLanded: options.onRecordsLanded,
    aggregate: options.aggregate ?? false,
  });
  const engine = new ReplayEngine({
    control: new ControlStore(aws.clients.dynamodb, config.tableName),
    producer,
    // The same lease period as the consumer's shard leases (LEASE_DURATION_MS): how long a killed
    // replayer's source stays unavailable to its restart.
    checkpoints: new DynamoCheckpointStore(aws.clients.dynamodb, config.tableName, replayerIdentity(), config.leaseDurationMs),
    historicalFile: typeof options.historicalFile === 'string' ? locationKey(options.historicalFile) : options.historicalFile.map((file) => locationKey(file)),
    inputs: options.inputs,
    selection: options.selection,
    speed: options.speed,
    liveUrl: options.liveUrl,
    createLiveSource: (url) => new LiveSource({ url, format: options.liveFormat, subscribe: options.liveSubscribe, logger: logger.child('live-source') }),
    logger: logger.child('replayer'),
    onProgress: options.onProgress,
    historicalGate: options.historicalGate,
    onQuoteSent: options.onQuoteSent,
    pollMs: options.config.target === 'aws' ? undefined : LOCAL_CONTROL_POLL_MS,
  });
  engineRef.current = engine;
  return { producer, engine };
}
