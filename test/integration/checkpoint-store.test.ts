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
  // Each replayer's own monotonic clock.
  const clocks = { a: 1_000_000, b: 5 };
  const nowA = (): number => clocks.a;
  const nowB = (): number => clocks.b;

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
    const a = new DynamoCheckpointStore(clients.dynamodb, TABLE, 'replayer-a', 10_000, nowA);
    const b = new DynamoCheckpointStore(clients.dynamodb, TABLE, 'replayer-b', 10_000, nowB);
    assert.equal(await a.acquire('hist:one'), undefined);
    await a.save(checkpoint('hist:one', 3));
    await assert.rejects(b.acquire('hist:one'), (e: unknown) => e instanceof CheckpointOwnershipError && /replayer-a/.test(e.message));
    // The owner renews freely and reads back what it saved.
    assert.equal((await a.acquire('hist:one'))?.position.done, 3);
  });

  it('hands the source over on release, and the old owner can no longer write', async () => {
    const a = new DynamoCheckpointStore(clients.dynamodb, TABLE, 'replayer-a', 10_000, nowA);
    const b = new DynamoCheckpointStore(clients.dynamodb, TABLE, 'replayer-b', 10_000, nowB);
    await a.acquire('hist:two');
    await a.save(checkpoint('hist:two', 5));
    await a.release('hist:two');
    assert.equal((await b.acquire('hist:two'))?.position.done, 5);
    await assert.rejects(a.save(checkpoint('hist:two', 6)), (e: unknown) => e instanceof CheckpointOwnershipError && /lost the lease/.test(e.message));
    assert.equal((await b.load('hist:two'))?.position.done, 5);
  });

  it('lets another replayer take over once the counter of a dead owner stood still for a lease period on its own clock', async () => {
    const a = new DynamoCheckpointStore(clients.dynamodb, TABLE, 'replayer-a', 10_000, nowA);
    const b = new DynamoCheckpointStore(clients.dynamodb, TABLE, 'replayer-b', 10_000, nowB);
    await a.acquire('hist:three');
    await a.save(checkpoint('hist:three', 7));
    await assert.rejects(b.acquire('hist:three'), CheckpointOwnershipError);
    clocks.b += 5_000;
    await assert.rejects(b.acquire('hist:three'), (e: unknown) => e instanceof CheckpointOwnershipError && /unchanged for 5000 of 10000 ms/.test(e.message));
    clocks.b += 6_000;
    assert.equal((await b.acquire('hist:three'))?.position.done, 7);
    // The fencing: the old owner, back from its pause, can no longer write.
    await assert.rejects(a.save(checkpoint('hist:three', 8)), CheckpointOwnershipError);
  });

  it('never takes a live lease over, whatever the clocks do: a step of an hour on either host changes nothing', async () => {
    const a = new DynamoCheckpointStore(clients.dynamodb, TABLE, 'replayer-a', 10_000, nowA);
    const b = new DynamoCheckpointStore(clients.dynamodb, TABLE, 'replayer-b', 10_000, nowB);
    await a.acquire('hist:five');
    await a.save(checkpoint('hist:five', 1));
    await assert.rejects(b.acquire('hist:five'), CheckpointOwnershipError);
    for (let i = 0; i < 3; i++) {
      // The owner keeps saving (as it does every ~50 ms while it sends); the other host's clock jumps.
      await a.save(checkpoint('hist:five', 2 + i));
      clocks.b += 3_600_000;
      clocks.a -= 3_600_000;
      await assert.rejects(b.acquire('hist:five'), CheckpointOwnershipError);
    }
    assert.equal((await a.acquire('hist:five'))?.position.done, 4, 'the live owner still holds it');
  });

  it('finds a checkpoint by path only while the file is unchanged', async () => {
    const a = new DynamoCheckpointStore(clients.dynamodb, TABLE, 'replayer-a', 10_000, nowA);
    await a.acquire('hist:four');
    await a.save(checkpoint('hist:four', 9));
    assert.equal((await a.findByFile('/data/hist:four.csv', 100, 1))?.position.done, 9);
    assert.equal(await a.findByFile('/data/hist:four.csv', 101, 1), undefined);
    assert.equal(await a.findByFile('/data/hist:four.csv', 100, 2), undefined);
  });
});
