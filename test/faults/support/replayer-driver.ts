/**
 * A replayer process for the crash tests: the real ReplayEngine (historical pipeline, producer,
 * DynamoDB checkpoints with leases) against an endpoint the TEST owns, so that the test can
 * `kill -9` it and start it again while the stack keeps its state.
 *
 *   node --import tsx replayer-driver.ts '{"endpointUrl":…,"file":…,"stream":…,"table":…,"speed":1}'
 *
 * Prints `running` on stdout once the engine runs; logs JSON lines on stderr (DEBUG). SIGTERM
 * stops it gracefully (flush, checkpoint, release) and exits 0. With `crashAfterAcks`, it
 * SIGKILLs itself inside the producer's acknowledgement callback once that many quotes were
 * acknowledged: the quotes are stored in Kinesis, the checkpoint that would cover them is not
 * written yet — the narrowest window a crash can hit.
 */
import { KinesisProducer } from '../../../lib/aws/producer.ts';
import { createAwsClients } from '../../../lib/aws/clients.ts';
import { loadShardMap } from '../../../lib/aws/shard-map.ts';
import { ControlStore } from '../../../lib/control/control-store.ts';
import { createLogger } from '../../../lib/logging/logger.ts';
import { DynamoCheckpointStore } from '../../../lib/replay/checkpoint-store.ts';
import { ReplayEngine, replayerIdentity } from '../../../lib/replay/engine.ts';
import type { QuoteEntry } from '../../../lib/replay/replayer.ts';

export interface DriverOptions {
  endpointUrl: string;
  /** One input, or several replayed merged (one checkpoint each). */
  file: string | string[];
  stream: string;
  table: string;
  speed: number | 'max';
  /** Lease length: short, so that a restart after kill -9 does not wait the default 10 s. */
  leaseMs: number;
  crashAfterAcks?: number;
  /** The engine's send window (default SEND_WINDOW). */
  sendWindow?: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as DriverOptions;
const logger = createLogger({ service: 'replayer-driver', level: 'DEBUG' });
const clients = createAwsClients({ endpointUrl: options.endpointUrl, region: 'us-east-1' });
const engineRef: { current?: ReplayEngine } = {};
let acked = 0;
const producer = new KinesisProducer<QuoteEntry>({
  client: clients.kinesis,
  streamName: options.stream,
  shardMap: await loadShardMap(clients.kinesis, options.stream),
  logger: logger.child('producer'),
  onAck: (entries) => {
    engineRef.current?.onAck(entries);
    acked += entries.length;
    if (options.crashAfterAcks !== undefined && acked >= options.crashAfterAcks) process.kill(process.pid, 'SIGKILL');
  },
});
const engine = new ReplayEngine({
  control: new ControlStore(clients.dynamodb, options.table),
  producer,
  checkpoints: new DynamoCheckpointStore(clients.dynamodb, options.table, replayerIdentity(), options.leaseMs),
  historicalFile: options.file,
  speed: options.speed,
  sendWindow: options.sendWindow,
  createLiveSource: () => {
    throw new Error('the crash driver has no live feed');
  },
  logger: logger.child('replayer'),
});
engineRef.current = engine;

const stop = new AbortController();
process.once('SIGTERM', () => stop.abort());
process.stdout.write('running\n');
try {
  await engine.run(stop.signal);
  logger.info('driver stopped', { acked });
} finally {
  clients.destroy();
}
