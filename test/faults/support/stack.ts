/**
 * The embedded stack a fault test owns, with the fault proxy in front of it: `faulty` clients go
 * through the proxy, `direct` clients reach the emulators untouched (to read back what was
 * really stored). Everything started here is stopped by `stop()`, by handle.
 */
import { GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-kinesis';
import { bootstrapResources } from '../../../infra/bootstrap.ts';
import { startEmbeddedStack, type EmbeddedStack } from '../../../infra/embedded-stack.ts';
import { createAwsClients, type AwsClients } from '../../../lib/aws/clients.ts';
import { listShards } from '../../../lib/aws/shard-map.ts';
import { silentLogger } from '../../../lib/logging/logger.ts';
import { makeTempDir, type TempDir } from '../../support/temp-dir.ts';
import { startFaultProxy, type FaultProxy } from './fault-proxy.ts';

export interface FaultStack {
  tmp: TempDir;
  stack: EmbeddedStack;
  proxy: FaultProxy;
  faulty: AwsClients;
  direct: AwsClients;
  /**
   * More clients through the proxy, with a short request timeout so that a black-holed call fails
   * in `ms` instead of the default 30 s. The caller destroys them.
   */
  clientsWithTimeout(ms: number): AwsClients;
  /** Creates a stream (and the table) and returns the stream's ARN. */
  createStream(streamName: string, shardCount: number, tableName?: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startFaultStack(): Promise<FaultStack> {
  const tmp = await makeTempDir('tick-replay-faults-');
  const stack = await startEmbeddedStack({ stateDir: tmp.join('state'), edgePort: 0, logger: silentLogger });
  const proxy = await startFaultProxy(stack.endpointUrl);
  // One quick SDK attempt only: the code under test must handle the failure, not the SDK.
  const faulty = createAwsClients({ endpointUrl: proxy.url, region: 'us-east-1', kinesisMaxAttempts: 1 });
  const direct = createAwsClients({ endpointUrl: stack.endpointUrl, region: 'us-east-1' });
  return {
    tmp,
    stack,
    proxy,
    faulty,
    direct,
    clientsWithTimeout: (ms) => createAwsClients({ endpointUrl: proxy.url, region: 'us-east-1', kinesisMaxAttempts: 1, requestTimeoutMs: ms }),
    async createStream(streamName, shardCount, tableName = 'faults-state') {
      const { streamArn } = await bootstrapResources(direct, { streamName, shardCount, tableName }, silentLogger);
      return streamArn;
    },
    async stop() {
      faulty.destroy();
      direct.destroy();
      await proxy.close();
      await stack.stop();
      await tmp.remove();
    },
  };
}

/** Every record's data on every shard of the stream, shard by shard, in shard order. */
export async function readStream(clients: Pick<AwsClients, 'kinesis'>, streamName: string): Promise<Array<{ shardId: string; data: Buffer }>> {
  const out: Array<{ shardId: string; data: Buffer }> = [];
  for (const shard of await listShards(clients.kinesis, streamName)) {
    const shardId = shard.ShardId ?? '';
    let iterator = (await clients.kinesis.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' })))
      .ShardIterator;
    while (iterator !== undefined) {
      const page = await clients.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const r of page.Records ?? []) out.push({ shardId, data: Buffer.from(r.Data ?? new Uint8Array()) });
      // An open shard always hands back a next iterator: stop at its end (MillisBehindLatest 0, empty page).
      if ((page.Records ?? []).length === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return out;
}

/** The `(source, seq)` identity of a quote record: what makes a duplicate recognisable. */
export function quoteKey(data: Buffer | string): string {
  const quote = JSON.parse(typeof data === 'string' ? data : data.toString('utf8')) as { source: string; seq: number };
  return `${quote.source}#${quote.seq}`;
}

/** How many times each key occurs. */
export function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

/** Lost (expected keys never seen) and duplicated (seen more than once) keys. */
export function deliveryReport(expected: Iterable<string>, counts: ReadonlyMap<string, number>): { lost: string[]; duplicates: number; unexpected: string[] } {
  const want = new Set(expected);
  const lost = [...want].filter((k) => (counts.get(k) ?? 0) === 0);
  let duplicates = 0;
  const unexpected: string[] = [];
  for (const [k, n] of counts) {
    if (!want.has(k)) unexpected.push(k);
    duplicates += Math.max(0, n - 1);
  }
  return { lost, duplicates, unexpected };
}
