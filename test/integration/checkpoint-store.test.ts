/** Historical checkpoints and their lease, on the real DynamoDB emulator. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bootstrapResources } from '../../infra/bootstrap.ts';
import { startEmbeddedStack, type EmbeddedStack } from '../../infra/embedded-stack.ts';
import { createAwsClients, type AwsClients } from '../../lib/aws/clients.ts';
import { silentLogger } from '../../lib/logging/logger.ts';
import { START_POSITION } from '../../lib/replay/ack-tracker.ts';
import { CheckpointOwnershipError, DynamoCheckpointStore, type StoredCheckpoint } from '../../lib/replay/checkpoint-store.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

const TABLE = 'cp-state';

function checkpoint(sourceId: string, done: number): StoredCheckpoint {
  return {
    sourceId,
    fingerprint: 'f'.repeat(64),
    file: `/data/${sourceId}.csv`,
    size: 100,
    mtimeMs: 1,
    records: 10,
    validRows: 10,
    disorderUs: 0,
    position: { ...START_POSITION, done },
  };
}

describe('DynamoCheckpointStore', () => {
  let tmp: TempDir;
  let stack: EmbeddedStack;
  let clients: AwsClients;
  let clock = 1_000_000;
  const now = (): number => clock;

  before(async () => {
    tmp = await makeTempDir();
    stack = await startEmbeddedStack({ stateDir: tmp.join('state'), edgePort: 0, logger: silentLogger });
    clients = createAwsClients({ endpointUrl: stack.endpointUrl, region: 'us-east-1' });
    await bootstrapResources(clients, { streamName: 'cp-stream', shardCount: 1, tableName: TABLE }, silentLogger);
  });
  after(async () => {
    clients.destroy();
    await stack.stop();
    await tmp.remove();
  });

  it('lets one replayer own a source; a second is refused with the owner named', async () => {
    const a = new DynamoCheckpointStore(clients.dynamodb, TABLE, 'replayer-a', 10_000, now);
    const b = new DynamoCheckpointStore(clients.dynamodb, TABLE, 'replayer-b', 10_000, now);
    assert.equal(await a.acquire('hist:one'), undefined);
    await a.save(checkpoint('hist:one', 3));
    await assert.rejects(b.acquire('hist:one'), (e: unknown) => e instanceof CheckpointOwnershipError && /replayer-a/.test(e.message));
    // The owner renews freely and reads back what it saved.
    assert.equal((await a.acquire('hist:one'))?.position.done, 3);
  });

  it('hands the source over on release, and the old owner can no longer write', async () => {
    const a = new DynamoCheckpointStore(clients.dynamodb, TABLE, 'replayer-a', 10_000, now);
    const b = new DynamoCheckpointStore(clients.dynamodb, TABLE, 'replayer-b', 10_000, now);
    await a.acquire('hist:two');
    await a.save(checkpoint('hist:two', 5));
    await a.release('hist:two');
    assert.equal((await b.acquire('hist:two'))?.position.done, 5);
    await assert.rejects(a.save(checkpoint('hist:two', 6)), (e: unknown) => e instanceof CheckpointOwnershipError && /lost the lease/.test(e.message));
    assert.equal((await b.load('hist:two'))?.position.done, 5);
  });

  it('lets another replayer take over once the lease of a dead owner expired', async () => {
    const a = new DynamoCheckpointStore(clients.dynamodb, TABLE, 'replayer-a', 10_000, now);
    const b = new DynamoCheckpointStore(clients.dynamodb, TABLE, 'replayer-b', 10_000, now);
    await a.acquire('hist:three');
    await a.save(checkpoint('hist:three', 7));
    clock += 5_000;
    await assert.rejects(b.acquire('hist:three'), CheckpointOwnershipError);
    clock += 6_000;
    assert.equal((await b.acquire('hist:three'))?.position.done, 7);
  });

  it('finds a checkpoint by path only while the file is unchanged', async () => {
    const a = new DynamoCheckpointStore(clients.dynamodb, TABLE, 'replayer-a', 10_000, now);
    await a.acquire('hist:four');
    await a.save(checkpoint('hist:four', 9));
    assert.equal((await a.findByFile('/data/hist:four.csv', 100, 1))?.position.done, 9);
    assert.equal(await a.findByFile('/data/hist:four.csv', 101, 1), undefined);
    assert.equal(await a.findByFile('/data/hist:four.csv', 100, 2), undefined);
  });
});
