/**
 * The local event source mapping + mid-price handler (in-process) under faults: a poison record,
 * an output file that cannot be written, and an expired shard iterator. In each case every valid
 * quote ends up in mid_prices.log exactly once and the checkpoint never passes an unwritten batch.
 */
import assert from 'node:assert/strict';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { createMidPriceHandler } from '../../functions/mid-price.ts';
import type { AwsClients } from '../../lib/aws/clients.ts';
import { EventSourceMapping } from '../../lib/consumer/event-source-mapping.ts';
import { createLocalContext } from '../../lib/consumer/lambda-context.ts';
import { waitForCheckpoints } from '../../lib/consumer/checkpoint-wait.ts';
import { LeaseTable } from '../../lib/consumer/lease-table.ts';
import { createPowertoolsLogger } from '../../lib/logging/powertools-sink.ts';
import { DEAD_LETTERS_FILE, MID_PRICES_FILE, prepareOutputDir } from '../../lib/output/log-files.ts';
import { quickRetries } from '../support/quick-retries.ts';
import { encodeQuote } from '../../lib/records/quote-record.ts';
import type { LogLine } from '../support/capture-logs.ts';
import { readLines } from '../support/lines.ts';
import { waitUntil } from '../support/processes.ts';
import type { Fault } from './support/fault-proxy.ts';
import { startFaultStack, type FaultStack } from './support/stack.ts';

const TABLE = 'consumer-faults';


/** Quote `seq` on its own millisecond: its mid line is predictable and unique. */
function quoteData(seq: number): Buffer {
  const timestamp = new Date(Date.UTC(2025, 0, 1) + seq).toISOString();
  return Buffer.from(encodeQuote({ ticker: 'AAA', timestamp, arrival: timestamp, bid: `${seq}.1`, ask: `${seq}.3`, mode: 'historical', source: 'consumer-faults', seq }));
}

function midLineOf(seq: number): string {
  return `${new Date(Date.UTC(2025, 0, 1) + seq).toISOString().replace('T', ' ').replace('Z', '')}, ${seq}.2`;
}

describe('consumer under faults', () => {
  let env: FaultStack;
  let streams = 0;
  /** Every mapping a test started, stopped in after() also when an assertion failed first. */
  const mappings: EventSourceMapping[] = [];

  before(async () => {
    env = await startFaultStack();
  });

  after(async () => {
    await Promise.all(mappings.map((m) => m.stop()));
    await env.stop();
  });

  /** A fresh one-shard stream holding `records` (in order), an output dir, and a mapping over `clients`. */
  async function setup(records: Buffer[], clients: AwsClients): Promise<{ out: string; esm: EventSourceMapping; checkpoints: { get(shardId: string): Promise<string | undefined> }; leases: LeaseTable; handlerLogs: LogLine[]; lastSequence: string; sequences: string[] }> {
    const streamName = `consumer-${++streams}`;
    const streamArn = await env.createStream(streamName, 1, TABLE);
    const sequences: string[] = [];
    for (let i = 0; i < records.length; i += 500) {
      const put = await env.direct.kinesis.send(
        new PutRecordsCommand({ StreamName: streamName, Records: records.slice(i, i + 500).map((Data) => ({ Data, PartitionKey: 'AAA' })) }),
      );
      sequences.push(...(put.Records ?? []).map((r) => r.SequenceNumber ?? ''));
    }
    const lastSequence = sequences.at(-1) ?? '';
    const out = env.tmp.join(`out-${streams}`);
    await prepareOutputDir(out, { truncate: true });
    const handlerLogs: LogLine[] = [];
    const handler = createMidPriceHandler({
      outputDir: out,
      latencyThresholdMs: 20,
      logger: createPowertoolsLogger('mid-price', 'INFO', (line) => handlerLogs.push(JSON.parse(line) as LogLine)),
    });
    const leases = new LeaseTable(env.direct.dynamodb, TABLE, 'faults', streamName);
    // The checkpoint is kept in the shard's lease.
    const checkpoints = { get: async (shardId: string) => (await leases.list([shardId]))[0]?.checkpoint };
    const esm = new EventSourceMapping({
      kinesis: clients.kinesis,
      leases,
      workerId: `faults-worker-${streams}`,
      streamName,
      streamArn,
      region: 'us-east-1',
      invoke: (event) => handler(event, createLocalContext('midPrice', 'us-east-1')),
      batchSize: 50,
      startingPosition: 'TRIM_HORIZON',
      idlePollMs: 20,
      clock: quickRetries,
    });
    mappings.push(esm);
    return { out, esm, checkpoints, leases, handlerLogs, lastSequence, sequences };
  }

  it('dead-letters a poison record with its reason and processes the rest of its batch', async () => {
    const records = Array.from({ length: 120 }, (_, i) => quoteData(i + 1));
    // Record 60: a well-formed Kinesis record whose quote is invalid (a price that is not a number).
    const poison = JSON.parse(quoteData(60).toString()) as Record<string, unknown>;
    records[59] = Buffer.from(JSON.stringify({ ...poison, bid: 'abc' }));
    const { out, esm, checkpoints, leases, lastSequence } = await setup(records, env.direct);
    await esm.start();
    assert.ok(await waitForCheckpoints(leases, new Map([['shardId-000000000000', lastSequence]]), { signal: AbortSignal.timeout(20_000) }), 'every record checkpointed');
    await esm.stop();

    const mids = await readLines(`${out}/${MID_PRICES_FILE}`);
    const want = records.map((_, i) => i + 1).filter((seq) => seq !== 60).map(midLineOf);
    assert.deepEqual(mids, want, 'every valid quote once, in order');
    const dead = (await readLines(`${out}/${DEAD_LETTERS_FILE}`)).map((l) => JSON.parse(l) as { reason: string; data: string });
    assert.equal(dead.length, 1);
    assert.equal(dead[0]?.reason, 'field "bid" is not a decimal number: "abc"');
    assert.equal((JSON.parse(Buffer.from(dead[0]?.data ?? '', 'base64').toString()) as { seq: number }).seq, 60);
    assert.equal(esm.stats.failedInvocations, 0, 'the shard was never blocked');
    assert.equal(await checkpoints.get('shardId-000000000000'), lastSequence);
  });

  it('retries a batch whose output cannot be written, checkpointing nothing past it, then succeeds', async () => {
    const records = Array.from({ length: 80 }, (_, i) => quoteData(i + 1));
    const { out, esm, checkpoints, leases, handlerLogs, lastSequence } = await setup(records, env.direct);
    // Tests may run as root, where chmod blocks nothing: a directory where the log file should
    // be makes every append fail (EISDIR) for any user.
    const midFile = `${out}/${MID_PRICES_FILE}`;
    await rm(midFile);
    await mkdir(midFile);
    await esm.start();
    await waitUntil('three failed attempts', () => esm.stats.failedInvocations >= 3, 20_000);
    assert.equal(await checkpoints.get('shardId-000000000000'), undefined, 'no checkpoint past the unwritten batch');
    assert.equal(esm.stats.records, 0);
    // One clear error for the outage, not one per attempt.
    const errors = handlerLogs.filter((l) => l.level === 'ERROR');
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.equal(errors[0]?.message, 'cannot write output; batches are retried until it can (logged again when it recovers)');
    assert.match(JSON.stringify(errors[0]?.error), /cannot append to .*is a directory/);

    await rmdir(midFile);
    assert.ok(await waitForCheckpoints(leases, new Map([['shardId-000000000000', lastSequence]]), { signal: AbortSignal.timeout(20_000) }), 'every record checkpointed');
    await esm.stop();
    assert.deepEqual(await readLines(midFile), records.map((_, i) => midLineOf(i + 1)), 'each quote exactly once once writable');
    const isRecovery = (l: LogLine): boolean => l.message === 'output writable again; the batches that failed are written';
    await waitUntil('the recovery logged', () => handlerLogs.some(isRecovery), 20_000);
    const recovery = handlerLogs.filter(isRecovery);
    assert.equal(recovery.length, 1);
    assert.ok((recovery[0]?.failedAttempts as number) >= 3);
    assert.equal(await checkpoints.get('shardId-000000000000'), lastSequence);
  });

  it('rides out GetRecords throttling, 5xx and a black-holed call without losing or repeating a quote', async () => {
    // The project's own clients (lib/aws/clients.ts) with a 2 s request timeout instead of 30 s.
    const quick = env.clientsWithTimeout(2_000);
    const records = Array.from({ length: 150 }, (_, i) => quoteData(i + 1));
    const { out, esm, leases, lastSequence } = await setup(records, quick);
    const script: Fault[] = [
      { kind: 'status', status: 400, errorType: 'ProvisionedThroughputExceededException' },
      { kind: 'blackhole' },
      { kind: 'status', status: 500, errorType: 'InternalFailure' },
      { kind: 'cut' },
    ];
    let getRecords = 0;
    const before = env.proxy.requests.length;
    // The second to fifth GetRecords fail, in the order of the script (the first batch passes).
    env.proxy.setRule(({ target }) => {
      if (target !== 'Kinesis_20131202.GetRecords') return { kind: 'pass' };
      return script[getRecords++ - 1] ?? { kind: 'pass' };
    });
    try {
      await esm.start();
      assert.ok(await waitForCheckpoints(leases, new Map([['shardId-000000000000', lastSequence]]), { signal: AbortSignal.timeout(30_000) }), 'every record checkpointed');
      await esm.stop();
    } finally {
      env.proxy.setRule(() => ({ kind: 'pass' }));
      quick.destroy();
    }
    assert.deepEqual(await readLines(`${out}/${MID_PRICES_FILE}`), records.map((_, i) => midLineOf(i + 1)), 'no quote lost or repeated');
    const injected = env.proxy.requests.slice(before).filter((r) => r.fault !== 'pass').map((r) => r.fault);
    assert.deepEqual(injected, ['status', 'blackhole', 'status', 'cut']);
  });

  it('resumes from the checkpoint when the shard iterator expires', async () => {
    const records = Array.from({ length: 200 }, (_, i) => quoteData(i + 1));
    const { out, esm, leases, lastSequence, sequences } = await setup(records, env.faulty);
    let getRecords = 0;
    env.proxy.setRule(({ target }) => {
      // The third GetRecords (after two batches of 50 were processed) finds its iterator expired.
      if (target === 'Kinesis_20131202.GetRecords' && ++getRecords === 3) return { kind: 'status', status: 400, errorType: 'ExpiredIteratorException' };
      return { kind: 'pass' };
    });
    const before = env.proxy.requests.length;
    await esm.start();
    assert.ok(await waitForCheckpoints(leases, new Map([['shardId-000000000000', lastSequence]]), { signal: AbortSignal.timeout(20_000) }), 'every record checkpointed');
    await esm.stop();
    env.proxy.setRule(() => ({ kind: 'pass' }));

    assert.deepEqual(await readLines(`${out}/${MID_PRICES_FILE}`), records.map((_, i) => midLineOf(i + 1)), 'no quote lost or repeated');
    const iterators = env.proxy.requests.slice(before).filter((r) => r.target === 'Kinesis_20131202.GetShardIterator').map((r) => r.body as { ShardIteratorType: string; StartingSequenceNumber?: string });
    assert.equal(iterators.length, 2, 'the initial iterator and one after the expiry');
    assert.equal(iterators[1]?.ShardIteratorType, 'AFTER_SEQUENCE_NUMBER');
    assert.equal(iterators[1]?.StartingSequenceNumber, sequences[99], 'resumed right after the 100 records processed');
    assert.ok(env.proxy.requests.slice(before).some((r) => r.fault === 'status'), 'the expiry was injected');
  });
});
