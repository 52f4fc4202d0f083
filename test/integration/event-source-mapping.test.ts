/**
 * The local event source mapping against the real emulators: Lambda's retry and checkpoint
 * semantics (ReportBatchItemFailures, thrown errors, resume after restart).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GetRecordsCommand, PutRecordsCommand, type GetRecordsCommandOutput, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { bootstrapResources } from '../../infra/bootstrap.ts';
import { EventSourceMapping, type BatchInvoker, type EventSourceMappingOptions } from '../../lib/consumer/event-source-mapping.ts';
import { waitForCheckpoints } from '../../lib/consumer/checkpoint-wait.ts';
import { LeaseTable } from '../../lib/consumer/lease-table.ts';
import { silentLogger } from '../../lib/logging/logger.ts';
import { systemClock } from '../../lib/time/clock.ts';
import { quickRetries } from '../support/quick-retries.ts';
import { useEmbeddedStack } from '../support/stack-fixture.ts';


const payloads = (event: KinesisStreamEvent): string[] => event.Records.map((r) => Buffer.from(r.kinesis.data, 'base64').toString());

describe('EventSourceMapping', () => {
  const env = useEmbeddedStack();
  let streamArn: string;
  let stream = 0;

  /** A fresh one-shard stream with `count` records on it, `r1..rN` unless `data` says otherwise. */
  async function streamWith(count: number, data = (n: number): Buffer => Buffer.from(`r${n}`)): Promise<{ streamName: string; tableName: string }> {
    const streamName = `esm-${++stream}`;
    const tableName = 'esm-state';
    ({ streamArn } = await bootstrapResources(env.clients, { streamName, shardCount: 1, tableName }, silentLogger));
    const records = Array.from({ length: count }, (_, i) => ({ Data: data(i + 1), PartitionKey: 'K' }));
    await env.clients.kinesis.send(new PutRecordsCommand({ StreamName: streamName, Records: records }));
    return { streamName, tableName };
  }

  function mapping(names: { streamName: string; tableName: string }, invoke: BatchInvoker): EventSourceMapping {
    return new EventSourceMapping(options(names, invoke));
  }

  const leases = (names: { streamName: string; tableName: string }): LeaseTable => new LeaseTable(env.clients.dynamodb, names.tableName, 'test-app', names.streamName);
  let workers = 0;

  function options(names: { streamName: string; tableName: string }, invoke: BatchInvoker): EventSourceMappingOptions {
    return {
      kinesis: env.clients.kinesis,
      leases: leases(names),
      workerId: `worker-${++workers}`,
      streamName: names.streamName,
      streamArn,
      region: 'us-east-1',
      invoke,
      batchSize: 4,
      startingPosition: 'TRIM_HORIZON',
      idlePollMs: 20,
      clock: quickRetries,
      logger: silentLogger,
    };
  }

  /** Polls a condition (the mapping works on its own timers); fails the test after 20 s. */
  async function runUntil(esm: EventSourceMapping, done: () => boolean, start = true): Promise<void> {
    if (start) await esm.start();
    const deadline = Date.now() + 20_000;
    while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await esm.stop();
    assert.ok(done(), 'condition reached before the deadline');
  }

  it('delivers batches of at most batchSize as real KinesisStreamEvents, in shard order', async () => {
    const names = await streamWith(10);
    const events: KinesisStreamEvent[] = [];
    const esm = mapping(names, (event) => {
      events.push(event);
      return Promise.resolve({ batchItemFailures: [] });
    });
    await runUntil(esm, () => events.flatMap(payloads).length >= 10);
    assert.deepEqual(events.flatMap(payloads), Array.from({ length: 10 }, (_, i) => `r${i + 1}`));
    assert.ok(events.every((e) => e.Records.length <= 4));
    const first = events[0]?.Records[0];
    assert.equal(first?.eventSource, 'aws:kinesis');
    assert.equal(first?.eventSourceARN, streamArn);
    assert.equal(first?.kinesis.partitionKey, 'K');
    assert.match(first?.eventID ?? '', /^shardId-\d+:\d+$/);
  });

  it("keeps each held shard's lag from GetRecords' MillisBehindLatest, and forgets it when it stops", async () => {
    const names = await streamWith(6);
    const real = env.clients.kinesis;
    let calls = 0;
    // The emulator is never behind: report a lag that grows with each GetRecords call.
    const send = async (command: Parameters<KinesisClient['send']>[0]): Promise<unknown> => {
      const out: unknown = await real.send(command);
      if (command instanceof GetRecordsCommand) (out as GetRecordsCommandOutput).MillisBehindLatest = 1_000 * ++calls;
      return out;
    };
    const lags: number[] = [];
    const esm = new EventSourceMapping({
      ...options(names, () => Promise.resolve({ batchItemFailures: [] })),
      kinesis: { send } as Pick<KinesisClient, 'send'>,
    });
    await runUntil(esm, () => {
      const lag = esm.shardLag().get('shardId-000000000000');
      if (lag !== undefined) lags.push(lag);
      return calls >= 3;
    });
    assert.ok(lags.length > 0, 'the lag was reported while the shard was held');
    assert.ok(lags.every((lag) => lag % 1_000 === 0 && lag >= 1_000 && lag <= 1_000 * calls), `lags ${lags.join(', ')}`);
    assert.equal(esm.shardLag().size, 0, 'no lag once the shard is no longer held');
  });

  it('retries from the first reported failure, checkpointing the records before it', async () => {
    const names = await streamWith(4);
    const seen: string[][] = [];
    let failedOnce = false;
    const esm = mapping(names, (event): Promise<KinesisStreamBatchResponse> => {
      seen.push(payloads(event));
      const third = event.Records.find((r) => Buffer.from(r.kinesis.data, 'base64').toString() === 'r3');
      if (third !== undefined && !failedOnce) {
        failedOnce = true;
        return Promise.resolve({ batchItemFailures: [{ itemIdentifier: third.kinesis.sequenceNumber }] });
      }
      return Promise.resolve({ batchItemFailures: [] });
    });
    await runUntil(esm, () => seen.length >= 2);
    assert.deepEqual(seen, [['r1', 'r2', 'r3', 'r4'], ['r3', 'r4']]);

    // A new mapping of the same application resumes after the checkpoint: the next record it
    // sees is one put after the restart, none of the four is delivered again.
    const again: string[] = [];
    const resumed = mapping(names, (event) => {
      again.push(...payloads(event));
      return Promise.resolve();
    });
    await resumed.start();
    await env.clients.kinesis.send(new PutRecordsCommand({ StreamName: names.streamName, Records: [{ Data: Buffer.from('r5'), PartitionKey: 'K' }] }));
    await runUntil(resumed, () => again.length >= 1, false);
    assert.deepEqual(again, ['r5']);
  });

  it('drops records that do not match the filter (Lambda event filtering) and moves past them', async () => {
    const names = await streamWith(6);
    const seen: string[] = [];
    const esm = new EventSourceMapping({
      ...options(names, (event) => {
        seen.push(...payloads(event));
        return Promise.resolve();
      }),
      filter: (record) => Buffer.from(record.Data ?? new Uint8Array()).toString() !== 'r2' && Buffer.from(record.Data ?? new Uint8Array()).toString() !== 'r5',
    });
    await runUntil(esm, () => seen.length >= 4 && esm.stats.records >= 6);
    assert.deepEqual(seen, ['r1', 'r3', 'r4', 'r6']);
  });

  it('retries the whole batch when the handler throws, without skipping a record', async () => {
    const names = await streamWith(3);
    const seen: string[][] = [];
    const esm = mapping(names, (event) => {
      seen.push(payloads(event));
      if (seen.length <= 2) return Promise.reject(new Error('transient'));
      return Promise.resolve();
    });
    await runUntil(esm, () => seen.length >= 3);
    assert.deepEqual(seen, [['r1', 'r2', 'r3'], ['r1', 'r2', 'r3'], ['r1', 'r2', 'r3']]);
    assert.equal(esm.stats.failedInvocations, 2);
  });

  it('checkpoints in the lease: waiting for checkpoints resolves once every shard reached its target', async () => {
    const names = await streamWith(6);
    const esm = mapping(names, () => Promise.resolve());
    await esm.start();
    const records = await env.clients.kinesis.send(
      new PutRecordsCommand({ StreamName: names.streamName, Records: [{ Data: Buffer.from('last'), PartitionKey: 'K' }] }),
    );
    const last = records.Records?.[0];
    const reached = await waitForCheckpoints(leases(names), new Map([[last?.ShardId ?? '', last?.SequenceNumber ?? '']]), { signal: AbortSignal.timeout(20_000) });
    assert.equal(reached, true);
    assert.equal(esm.processedPositions().get(last?.ShardId ?? ''), last?.SequenceNumber);
    assert.deepEqual(esm.heldShards(), [last?.ShardId]);
    await esm.stop();
    // Released on stop: free for the next worker at once.
    const [lease] = await leases(names).list([last?.ShardId ?? '']);
    assert.equal(lease?.owner, undefined);
    assert.equal(lease?.checkpoint, last?.SequenceNumber);
  });
  it('reads the next page while the handler works, and a stop with that page in hand loses none of it', async () => {
    const names = await streamWith(12);
    const real = env.clients.kinesis;
    let sent = 0;
    let answered = 0;
    const send = async (command: Parameters<KinesisClient['send']>[0]): Promise<unknown> => {
      if (!(command instanceof GetRecordsCommand)) return real.send(command);
      sent++;
      const out: unknown = await real.send(command);
      answered++;
      return out;
    };
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let callsWhenInvoked = -1;
    const seen: string[][] = [];
    const esm = new EventSourceMapping({
      ...options(names, async (event) => {
        seen.push(payloads(event));
        callsWhenInvoked = sent;
        await held;
      }),
      kinesis: { send } as Pick<KinesisClient, 'send'>,
    });
    await esm.start();
    const deadline = Date.now() + 20_000;
    // The first page is in the handler; the second was asked for without waiting for it.
    while (answered < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(seen, [['r1', 'r2', 'r3', 'r4']]);
    assert.equal(answered, 2, 'the page after the one in the handler was read while the handler ran');
    assert.equal(callsWhenInvoked, 2, 'the page ahead was asked for before the handler was invoked');

    const stopped = esm.stop();
    release();
    await stopped;
    assert.equal(sent, answered, 'no GetRecords call outlives stop()');
    assert.equal(sent, 2, 'nothing read after the stop was asked for');
    assert.deepEqual(seen, [['r1', 'r2', 'r3', 'r4']], 'the page read ahead was not delivered');

    // The page read ahead was never processed, so it was never checkpointed: the next worker of
    // the application starts right after r4 and gets everything else, once.
    const again: string[] = [];
    const resumed = mapping(names, (event) => {
      again.push(...payloads(event));
      return Promise.resolve();
    });
    await runUntil(resumed, () => again.length >= 8);
    assert.deepEqual(again, Array.from({ length: 8 }, (_, i) => `r${i + 5}`));
  });
  it('keeps polling while the handler works, so records put during an invocation are in hand when it returns', async () => {
    const names = await streamWith(1);
    const real = env.clients.kinesis;
    const pages: string[][] = [];
    const send = async (command: Parameters<KinesisClient['send']>[0]): Promise<unknown> => {
      const out = await real.send(command);
      if (command instanceof GetRecordsCommand) pages.push(((out as GetRecordsCommandOutput).Records ?? []).map((r) => Buffer.from(r.Data ?? []).toString()));
      return out;
    };
    const until = async (done: () => boolean): Promise<boolean> => {
      const deadline = Date.now() + 10_000;
      while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      return done();
    };
    const seen: string[][] = [];
    let readDuringInvocation: boolean | undefined;
    const esm = new EventSourceMapping({
      ...options(names, async (event) => {
        seen.push(payloads(event));
        if (seen.length > 1) return;
        // The page after r1 has come back empty before r2 exists: only a poll made while this
        // invocation runs can see r2.
        await until(() => pages.length >= 2);
        const before = pages.length;
        await real.send(new PutRecordsCommand({ StreamName: names.streamName, Records: [{ Data: Buffer.from('r2'), PartitionKey: 'K' }] }));
        readDuringInvocation = await until(() => pages.slice(before).some((page) => page.includes('r2')));
      }),
      kinesis: { send } as Pick<KinesisClient, 'send'>,
    });
    await runUntil(esm, () => seen.length >= 2);
    assert.equal(readDuringInvocation, true, 'r2 was read before the invocation that saw it put returned');
    assert.deepEqual(seen, [['r1'], ['r2']]);
  });
  it('does not read ahead after a large page (over 1 MiB of data), so aggregated pages are not held twice', async () => {
    // 8 records of 300 KB: a page of 4 (the batch size) holds 1.2 MB.
    const names = await streamWith(8, (n) => Buffer.concat([Buffer.from(`r${n} `), Buffer.alloc(300 * 1024, 120)]));
    const real = env.clients.kinesis;
    let sent = 0;
    const send = (command: Parameters<KinesisClient['send']>[0]): Promise<unknown> => {
      if (command instanceof GetRecordsCommand) sent++;
      return real.send(command);
    };
    const callsWhenInvoked: number[] = [];
    const firstWords: string[] = [];
    const esm = new EventSourceMapping({
      ...options(names, (event) => {
        callsWhenInvoked.push(sent);
        firstWords.push(...event.Records.map((r) => Buffer.from(r.kinesis.data, 'base64').toString('utf8').split(' ')[0] ?? ''));
        return Promise.resolve();
      }),
      kinesis: { send } as Pick<KinesisClient, 'send'>,
    });
    await runUntil(esm, () => firstWords.length >= 8);
    assert.deepEqual(firstWords, ['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8']);
    // Each page was asked for only once the previous one had been handled.
    assert.deepEqual(callsWhenInvoked, [1, 2]);
  });

  /**
   * A shard the mapping has read r1 from and then polled empty `EMPTY_POLLS` times, so that its
   * idle pause has doubled to IDLE_PAUSE_MS (idlePause; the bound idlePollMs is 60 s): a record put
   * now is read within a round trip only if something ends the pause. `duringEmptyPoll` runs
   * while the `EMPTY_POLLS`th empty GetRecords is in flight (answered by the emulator, not yet
   * handed back to the mapping). Real clock: the pause is real time.
   */
  const EMPTY_POLLS = 12;
  const IDLE_PAUSE_MS = 1_280;
  async function idleShard(duringEmptyPoll?: (put: () => Promise<void>) => Promise<void>): Promise<{
    esm: EventSourceMapping;
    /** Puts r2, noting when. */
    put: () => Promise<void>;
    /** How long after the put a GetRecords handed r2 to the mapping (undefined: not within 5 s). */
    readAfterPut: () => Promise<number | undefined>;
    /** Resolves once the shard's long pause is about to start (its EMPTY_POLLS-th empty poll answered). */
    idle: Promise<void>;
  }> {
    const names = await streamWith(1);
    const real = env.clients.kinesis;
    let emptyPolls = 0;
    let putAt: number | undefined;
    let readAt: number | undefined;
    let idle = (): void => undefined;
    const idleReached = new Promise<void>((resolve) => (idle = resolve));
    const put = async (): Promise<void> => {
      putAt = performance.now();
      await real.send(new PutRecordsCommand({ StreamName: names.streamName, Records: [{ Data: Buffer.from('r2'), PartitionKey: 'K' }] }));
    };
    let delivered = 0;
    const send = async (command: Parameters<KinesisClient['send']>[0]): Promise<unknown> => {
      const out: unknown = await real.send(command);
      if (!(command instanceof GetRecordsCommand)) return out;
      const records = (out as GetRecordsCommandOutput).Records ?? [];
      if (records.some((r) => Buffer.from(r.Data ?? []).toString() === 'r2')) readAt ??= performance.now();
      if (records.length === 0 && delivered > 0 && ++emptyPolls === EMPTY_POLLS) {
        await duringEmptyPoll?.(put);
        idle();
      }
      return out;
    };
    const esm = new EventSourceMapping({
      ...options(names, (event) => {
        delivered += event.Records.length;
        return Promise.resolve();
      }),
      kinesis: { send } as Pick<KinesisClient, 'send'>,
      idlePollMs: 60_000,
      clock: systemClock,
    });
    await esm.start();
    const readAfterPut = async (): Promise<number | undefined> => {
      const deadline = performance.now() + 5_000;
      while (readAt === undefined && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      return readAt === undefined || putAt === undefined ? undefined : readAt - putAt;
    };
    return { esm, put, readAfterPut, idle: idleReached };
  }

  it('reads a record at once when a producer in the process says it landed, in the middle of a long idle pause', async () => {
    const { esm, put, readAfterPut, idle } = await idleShard();
    await idle;
    await new Promise((resolve) => setTimeout(resolve, 100));
    await put();
    esm.recordsPut(['shardId-000000000000']);
    const readAfter = await readAfterPut();
    await esm.stop();
    // Without the wake the record waits out the rest of a 1,280 ms pause.
    assert.ok(readAfter !== undefined && readAfter < IDLE_PAUSE_MS / 2, `read ${readAfter} ms after the put`);
  });

  it('keeps a wake that comes while a GetRecords is in flight: the pause after that call ends at once', async () => {
    const { esm, readAfterPut, idle } = await idleShard(async (put) => {
      // This call's answer (empty) is already made: only the next call can see r2.
      await put();
      esm.recordsPut(['shardId-000000000000']);
    });
    await idle;
    const readAfter = await readAfterPut();
    await esm.stop();
    assert.ok(readAfter !== undefined && readAfter < IDLE_PAUSE_MS / 2, `read ${readAfter} ms after the put`);
  });

  it('still stops at once in a long idle pause, a wake for another shard or none at all notwithstanding', async () => {
    const { esm, idle } = await idleShard();
    await idle;
    await new Promise((resolve) => setTimeout(resolve, 100));
    esm.recordsPut(['shardId-000000000099']);
    const started = performance.now();
    await esm.stop();
    const stoppedIn = performance.now() - started;
    assert.ok(stoppedIn < IDLE_PAUSE_MS / 2, `stopped in ${stoppedIn} ms`);
    assert.deepEqual(esm.heldShards(), []);
  });

  it('woken on put, waits at the tip for the wake instead of polling, and reads other writers\' records within idlePollMs', async () => {
    const names = await streamWith(1);
    const real = env.clients.kinesis;
    let gets = 0;
    const readAt = new Map<string, number>();
    const send = async (command: Parameters<KinesisClient['send']>[0]): Promise<unknown> => {
      const out: unknown = await real.send(command);
      if (!(command instanceof GetRecordsCommand)) return out;
      gets++;
      for (const r of (out as GetRecordsCommandOutput).Records ?? []) readAt.set(Buffer.from(r.Data ?? []).toString(), performance.now());
      return out;
    };
    const putOne = async (data: string): Promise<number> => {
      const at = performance.now();
      await real.send(new PutRecordsCommand({ StreamName: names.streamName, Records: [{ Data: Buffer.from(data), PartitionKey: 'K' }] }));
      return at;
    };
    const readWithin = async (data: string, ms: number): Promise<boolean> => {
      const deadline = performance.now() + ms;
      while (!readAt.has(data) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      return readAt.has(data);
    };
    const idlePollMs = 400;
    const esm = new EventSourceMapping({
      ...options(names, () => Promise.resolve()),
      kinesis: { send } as Pick<KinesisClient, 'send'>,
      idlePollMs,
      wokenOnPut: true,
      clock: systemClock,
    });
    await esm.start();
    assert.ok(await readWithin('r1', 5_000), 'r1 read');
    // Idle at the tip for 1.2 s: a poll per idlePollMs (3), not one per 10-80 ms (~20 without wokenOnPut).
    const before = gets;
    await new Promise((resolve) => setTimeout(resolve, 3 * idlePollMs));
    const idleGets = gets - before;
    // Announced: read at once. Not announced (another writer): read at the next poll, within idlePollMs.
    const announcedAt = await putOne('r2');
    esm.recordsPut(['shardId-000000000000']);
    assert.ok(await readWithin('r2', idlePollMs * 2), 'r2 read');
    const otherAt = await putOne('r3');
    assert.ok(await readWithin('r3', idlePollMs * 3), 'r3 read');
    await esm.stop();
    assert.ok(idleGets <= 4, `${idleGets} GetRecords in ${3 * idlePollMs} ms at the tip`);
    const announced = (readAt.get('r2') ?? Infinity) - announcedAt;
    const other = (readAt.get('r3') ?? Infinity) - otherAt;
    assert.ok(announced < idlePollMs / 2, `announced record read after ${announced} ms`);
    assert.ok(other <= idlePollMs + 100, `other writer's record read after ${other} ms`);
  });

  /** A lease table with slow checkpoint writes (still through the emulator), remembering the last durable one. */
  class SlowCheckpoints extends LeaseTable {
    durable: bigint | undefined;
    override async checkpoint(shardId: string, owner: string, sequenceNumber: string): ReturnType<LeaseTable['checkpoint']> {
      await new Promise((resolve) => setTimeout(resolve, 60));
      const lease = await super.checkpoint(shardId, owner, sequenceNumber);
      this.durable = BigInt(sequenceNumber);
      return lease;
    }
  }

  it('writes a small batch\'s checkpoint during the next invocation, never leaving more than one batch of records uncheckpointed', async () => {
    // A backlog of two full batches, then records one at a time (a paced replay).
    const names = await streamWith(8);
    const table = new SlowCheckpoints(env.clients.dynamodb, names.tableName, 'trailing-app', names.streamName);
    const seen: string[] = [];
    const delivered: bigint[] = [];
    /** Per invocation: records delivered and not yet durably checkpointed, this batch included. */
    const outstanding: number[] = [];
    let overlapped = 0;
    const esm = new EventSourceMapping({
      ...options(names, (event) => {
        const previous = delivered.at(-1);
        if (previous !== undefined && (table.durable ?? -1n) < previous) overlapped++;
        delivered.push(...event.Records.map((r) => BigInt(r.kinesis.sequenceNumber)));
        outstanding.push(delivered.filter((s) => s > (table.durable ?? -1n)).length);
        seen.push(...payloads(event));
        return Promise.resolve();
      }),
      leases: table,
      trailingCheckpoints: true,
    });
    await esm.start();
    for (let n = 9; n <= 16; n++) {
      await env.clients.kinesis.send(new PutRecordsCommand({ StreamName: names.streamName, Records: [{ Data: Buffer.from(`r${n}`), PartitionKey: 'K' }] }));
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    await runUntil(esm, () => seen.length >= 16, false);
    assert.deepEqual(seen, Array.from({ length: 16 }, (_, i) => `r${i + 1}`));
    // The two full batches of the backlog did not overlap: r5..r8 waited for r4's checkpoint.
    assert.deepEqual(outstanding.slice(0, 2), [4, 4]);
    assert.ok(overlapped > 0, 'some small batch was invoked while the checkpoint before it was being written');
    assert.ok(outstanding.every((n) => n <= 4), `records written and not checkpointed, per invocation: ${outstanding.join(', ')}`);
    // The stop waited for the last checkpoint: it is r16's.
    assert.equal(table.durable, delivered.at(-1));
  });

  /** A lease table counting checkpoint writes and remembering the last one that landed. */
  class CountedCheckpoints extends LeaseTable {
    writes = 0;
    durable: bigint | undefined;
    override async checkpoint(shardId: string, owner: string, sequenceNumber: string): ReturnType<LeaseTable['checkpoint']> {
      this.writes++;
      const lease = await super.checkpoint(shardId, owner, sequenceNumber);
      this.durable = BigInt(sequenceNumber);
      return lease;
    }
  }

  /** One record on the stream (a paced producer's put). */
  async function putOne(streamName: string, data: string): Promise<void> {
    await env.clients.kinesis.send(new PutRecordsCommand({ StreamName: streamName, Records: [{ Data: Buffer.from(data), PartitionKey: 'K' }] }));
  }

  /** Small batches with trailing checkpoints on a real clock (the idle write is timed). */
  function lazyOptions(names: { streamName: string; tableName: string }, table: LeaseTable, invoke: BatchInvoker, extra: Partial<EventSourceMappingOptions>): EventSourceMappingOptions {
    return { ...options(names, invoke), leases: table, batchSize: 10, trailingCheckpoints: true, clock: systemClock, ...extra };
  }

  it('writes a checkpoint per half batch size at a paced rate, never leaving more than batchSize records uncheckpointed', async () => {
    const names = await streamWith(1);
    const table = new CountedCheckpoints(env.clients.dynamodb, names.tableName, 'lazy-paced', names.streamName);
    const delivered: bigint[] = [];
    const outstanding: number[] = [];
    let invocations = 0;
    const esm = new EventSourceMapping(
      lazyOptions(
        names,
        table,
        (event) => {
          invocations++;
          delivered.push(...event.Records.map((r) => BigInt(r.kinesis.sequenceNumber)));
          outstanding.push(delivered.filter((s) => s > (table.durable ?? -1n)).length);
          return Promise.resolve();
        },
        { checkpointIdleMs: 60_000 },
      ),
    );
    await esm.start();
    for (let n = 2; n <= 41; n++) {
      await putOne(names.streamName, `r${n}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await runUntil(esm, () => delivered.length >= 41, false);
    assert.ok(invocations >= 20, `${invocations} invocations: small batches`);
    // One write per batch before (41 records, batches of a few): now about one per 5 records, plus the stop's.
    assert.ok(table.writes * 3 <= invocations, `${table.writes} checkpoint writes for ${invocations} invocations`);
    assert.ok(outstanding.every((n) => n <= 10), `records written and not checkpointed, per invocation: ${outstanding.join(', ')}`);
    // The stop wrote what was owed.
    assert.equal(table.durable, delivered.at(-1));
  });

  it('writes an idle shard\'s owed checkpoint within checkpointIdleMs', async () => {
    const checkpointIdleMs = 150;
    const names = await streamWith(3);
    const table = new CountedCheckpoints(env.clients.dynamodb, names.tableName, 'lazy-idle', names.streamName);
    let last: bigint | undefined;
    let finishedAt = 0;
    const esm = new EventSourceMapping(
      lazyOptions(
        names,
        table,
        (event) => {
          last = BigInt(event.Records.at(-1)?.kinesis.sequenceNumber ?? '0');
          finishedAt = Date.now();
          return Promise.resolve();
        },
        { checkpointIdleMs },
      ),
    );
    await esm.start();
    const deadline = Date.now() + 5_000;
    while ((last === undefined || table.durable !== last) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    const landedAfter = Date.now() - finishedAt;
    const writes = table.writes;
    await esm.stop();
    assert.equal(table.durable, last, 'the checkpoint reached the last record before the stop');
    // Three records are under half the batch size: only the idle write wrote them.
    assert.equal(writes, 1);
    assert.ok(landedAfter >= checkpointIdleMs - 20 && landedAfter <= checkpointIdleMs + 250, `checkpoint landed ${landedAfter} ms after the batch`);
  });

  it('writes the owed checkpoint before handing the lease over', async () => {
    const names = await streamWith(3);
    const table = new CountedCheckpoints(env.clients.dynamodb, names.tableName, 'lazy-handover', names.streamName);
    let last: string | undefined;
    const esm = new EventSourceMapping(
      lazyOptions(
        names,
        table,
        (event) => {
          last = event.Records.at(-1)?.kinesis.sequenceNumber;
          return Promise.resolve();
        },
        { checkpointIdleMs: 60_000, leaseDurationMs: 1_500 },
      ),
    );
    await esm.start();
    const deadline = Date.now() + 10_000;
    while (last === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    const [held] = await table.list(['shardId-000000000000']);
    assert.ok(held !== undefined && held.checkpoint === undefined, 'the checkpoint is owed, not written');
    assert.ok(await table.requestHandoff(held, 'worker-next'));
    let lease = held;
    while (lease.owner !== 'worker-next' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      lease = (await table.list(['shardId-000000000000']))[0] ?? lease;
    }
    await esm.stop();
    assert.equal(lease.owner, 'worker-next', 'handed over');
    assert.equal(lease.checkpoint, last, 'the checkpoint reached the last record before the lease moved');
  });
});
