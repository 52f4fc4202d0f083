/**
 * ReplayEngine decisions that the emulators cannot provoke on demand: a lease held by someone
 * else while the user switches modes or stops; the historical gate (npm run demo) at an exact
 * quote count; throttled and failing checkpoint calls.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { PutRecordsCommand, PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { KinesisProducer } from '../../../lib/aws/producer.ts';
import { CheckpointOwnershipError, type StoredCheckpoint } from '../../../lib/replay/checkpoint-store.ts';
import { ReplayEngine, type CheckpointPort, type EngineOptions } from '../../../lib/replay/engine.ts';
import type { QuoteEntry } from '../../../lib/replay/replayer.ts';
import { systemClock, type Clock } from '../../../lib/time/clock.ts';
import { captureLogs } from '../../support/capture-logs.ts';
import { FakeControl, idleLive, until } from '../../support/engine-fakes.ts';
import { makeTempDir, type TempDir } from '../../support/temp-dir.ts';

/** A source someone else holds for good. */
const heldElsewhere: CheckpointPort = {
  leaseMs: 10_000,
  load: () => Promise.resolve(undefined),
  acquire: (sourceId) => Promise.reject(new CheckpointOwnershipError(`${sourceId} is being replayed by someone-else`)),
  save: () => Promise.reject(new Error('not reached')),
  release: () => Promise.resolve(),
};

/** What every engine here shares: the test file at full speed, an idle live feed, fast polling. */
function quickEngineOptions(file: string, opened: string[]): Pick<EngineOptions, 'historicalFile' | 'speed' | 'liveUrl' | 'createLiveSource' | 'pollMs' | 'statusMs'> {
  return { historicalFile: file, speed: 'max', liveUrl: 'ws://feed', createLiveSource: idleLive(opened), pollMs: 10, statusMs: 50 };
}

const noKinesis = { send: (_: PutRecordsCommand): Promise<PutRecordsCommandOutput> => Promise.reject(new Error('no records expected')) };


describe('ReplayEngine while another replayer holds the historical source', () => {
  let tmp: TempDir;
  before(async () => {
    tmp = await makeTempDir();
    await writeFile(tmp.join('q.csv'), 'timestamp,ticker,bid,ask\n2025-01-01 00:00:00,A,1,2\n');
  });
  after(async () => {
    await tmp.remove();
  });

  function engine(control: FakeControl, opened: string[]): ReplayEngine {
    return new ReplayEngine({
      control,
      producer: new KinesisProducer<QuoteEntry>({ client: noKinesis, streamName: 's' }),
      checkpoints: heldElsewhere,
      ...quickEngineOptions(tmp.join('q.csv'), opened),
    });
  }

  it('switches to live when asked during the lease wait, instead of failing', async () => {
    const control = new FakeControl();
    const opened: string[] = [];
    const e = engine(control, opened);
    const stop = new AbortController();
    const running = e.run(stop.signal);
    await new Promise((resolve) => setTimeout(resolve, 100));
    control.request('live');
    await until('the live source', () => opened.length === 1);
    assert.equal(e.status().mode, 'live');
    stop.abort();
    await running;
  });

  it('reads the control item at once when told it was written, not at its next poll', async () => {
    const control = new FakeControl();
    const opened: string[] = [];
    // A poll period far beyond the test: only controlWritten() can make the engine see the request.
    const e = new ReplayEngine({
      control,
      producer: new KinesisProducer<QuoteEntry>({ client: noKinesis, streamName: 's' }),
      checkpoints: heldElsewhere,
      ...quickEngineOptions(tmp.join('q.csv'), opened),
      pollMs: 600_000,
    });
    const stop = new AbortController();
    const running = e.run(stop.signal);
    await new Promise((resolve) => setTimeout(resolve, 100));
    control.request('live');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(opened, [], 'not seen before the next poll');
    e.controlWritten();
    await until('the live source', () => opened.length === 1);
    assert.equal(e.status().mode, 'live');
    stop.abort();
    await running;
  });

  it('stops cleanly when told to during the lease wait', async () => {
    const control = new FakeControl();
    const e = engine(control, []);
    const stop = new AbortController();
    const running = e.run(stop.signal);
    await new Promise((resolve) => setTimeout(resolve, 100));
    stop.abort();
    await running;
  });

  it('reports historical, not the requested live, when no live feed is configured', async () => {
    const control = new FakeControl();
    control.request('live');
    const e = new ReplayEngine({
      control,
      producer: new KinesisProducer<QuoteEntry>({ client: noKinesis, streamName: 's' }),
      checkpoints: heldElsewhere,
      historicalFile: tmp.join('q.csv'),
      speed: 'max',
      createLiveSource: idleLive([]),
      pollMs: 10,
    });
    const stop = new AbortController();
    const running = e.run(stop.signal);
    await until('a status', () => control.statuses.length > 0);
    assert.equal(e.status().mode, 'historical');
    stop.abort();
    await running;
  });
});

describe('ReplayEngine historical gate', () => {
  let tmp: TempDir;
  before(async () => {
    tmp = await makeTempDir();
    const rows = Array.from({ length: 10 }, (_, i) => `2025-01-01 00:00:0${i},T${i},1,2`);
    await writeFile(tmp.join('q.csv'), ['timestamp,ticker,bid,ask', ...rows, ''].join('\n'));
  });
  after(async () => {
    await tmp.remove();
  });

  it('holds the replay at the gate, and a switch ends the session without sending the held quote; the resume starts with it', async () => {
    const sentSeqs: number[] = [];
    let sequence = 0;
    const kinesis = {
      send: (command: PutRecordsCommand): Promise<PutRecordsCommandOutput> => {
        const entries = command.input.Records ?? [];
        for (const entry of entries) sentSeqs.push((JSON.parse(Buffer.from(entry.Data ?? new Uint8Array()).toString('utf8')) as { seq: number }).seq);
        return Promise.resolve({ Records: entries.map(() => ({ ShardId: 'shardId-000000000000', SequenceNumber: String(++sequence) })), $metadata: {} });
      },
    };
    let stored: StoredCheckpoint | undefined;
    const memoryCheckpoints: CheckpointPort = {
      leaseMs: 10_000,
      load: () => Promise.resolve(undefined),
      acquire: () => Promise.resolve(stored),
      save: (checkpoint) => {
        stored = checkpoint;
        return Promise.resolve();
      },
      release: () => Promise.resolve(),
    };
    const control = new FakeControl();
    const opened: string[] = [];
    let gateArmed = true;
    const heldAt: number[] = [];
    const engineRef: { current?: ReplayEngine } = {};
    const producer = new KinesisProducer<QuoteEntry>({ client: kinesis, streamName: 's', lingerMs: 0, onAck: (acked) => engineRef.current?.onAck(acked) });
    const e = new ReplayEngine({
      control,
      producer,
      checkpoints: memoryCheckpoints,
      ...quickEngineOptions(tmp.join('q.csv'), opened),
      historicalGate: (sent) => {
        if (!gateArmed || sent < 4) return undefined;
        heldAt.push(sent);
        return new Promise<void>(() => undefined);
      },
    });
    engineRef.current = e;
    const stop = new AbortController();
    const running = e.run(stop.signal);
    try {
      await until('4 acknowledged quotes and the gate holding', () => e.status().historical.done === 4 && heldAt.length === 1);
      control.request('live');
      await until('the live source', () => opened.length === 1);
      // The held fifth quote was not sent when the session ended.
      assert.deepEqual(sentSeqs, [1, 2, 3, 4]);

      gateArmed = false;
      control.request('historical');
      await until('the end of the file', () => e.status().historical.completed && e.status().historical.done === 10);
    } finally {
      stop.abort();
      await running;
    }
    assert.deepEqual(sentSeqs, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(heldAt, [4]);
  });
});

describe('ReplayEngine retries of its checkpoint calls', () => {
  let tmp: TempDir;
  before(async () => {
    tmp = await makeTempDir();
    await writeFile(tmp.join('q.csv'), 'timestamp,ticker,bid,ask\n2025-01-01 00:00:00,A,1,2\n2025-01-01 00:00:01,B,3,4\n');
  });
  after(async () => {
    await tmp.remove();
  });

  const acking = {
    send: (command: PutRecordsCommand): Promise<PutRecordsCommandOutput> =>
      Promise.resolve({ Records: (command.input.Records ?? []).map((_, i) => ({ ShardId: 'shardId-000000000000', SequenceNumber: String(i + 1) })), $metadata: {} }),
  };

  /** Checkpoints in memory whose lookup fails with `failures` first. */
  function flakyLookup(failures: Error[]): CheckpointPort {
    let stored: StoredCheckpoint | undefined;
    return {
      leaseMs: 10_000,
      load: () => {
        const failure = failures.shift();
        return failure === undefined ? Promise.resolve(undefined) : Promise.reject(failure);
      },
      acquire: () => Promise.resolve(stored),
      save: (checkpoint) => {
        stored = checkpoint;
        return Promise.resolve();
      },
      release: () => Promise.resolve(),
    };
  }

  const awsError = (name: string): Error => Object.assign(new Error(`${name} from DynamoDB`), { name });

  it('retries a throttled lookup with the injected clock and random source, then replays the file', async () => {
    const { logger, lines } = captureLogs();
    const sleeps: number[] = [];
    // Real time (the engine's polling runs on it too), each sleep recorded and capped short.
    const clock: Clock = { now: () => systemClock.now(), sleep: (ms, signal) => (sleeps.push(ms), systemClock.sleep(Math.min(ms, 10), signal)) };
    const engineRef: { current?: ReplayEngine } = {};
    const e = new ReplayEngine({
      control: new FakeControl(),
      producer: new KinesisProducer<QuoteEntry>({ client: acking, streamName: 's', lingerMs: 0, onAck: (acked) => engineRef.current?.onAck(acked) }),
      checkpoints: flakyLookup([awsError('ThrottlingException'), awsError('ProvisionedThroughputExceededException')]),
      ...quickEngineOptions(tmp.join('q.csv'), []),
      // Periods distinct from the expected backoff delays, so the sleeps tell them apart.
      statusMs: 1_000,
      checkpointMs: 40,
      logger,
      clock,
      random: () => 0.5,
    });
    engineRef.current = e;
    const stop = new AbortController();
    const running = e.run(stop.signal);
    try {
      await until('the end of the file', () => e.status().historical.completed && e.status().historical.done === 2);
    } finally {
      stop.abort();
      await running;
    }
    const retries = lines.filter((l) => l.message === 'cannot look up the checkpoint yet; retrying');
    // DEFAULT_BACKOFF (50 ms base) with full jitter at 0.5: 25 ms, then 50 ms.
    assert.deepEqual(
      retries.map((l) => [l.level, l.attempt, l.delayMs]),
      [
        ['WARN', 1, 25],
        ['WARN', 2, 50],
      ],
    );
    assert.deepEqual(
      sleeps.filter((ms) => ![10, 40, 1_000].includes(ms)),
      [25, 50],
      'the backoff waited on the injected clock',
    );
  });

  it('fails at once on a lookup failure that another try cannot fix', async () => {
    const { logger, lines } = captureLogs();
    const e = new ReplayEngine({
      control: new FakeControl(),
      producer: new KinesisProducer<QuoteEntry>({ client: acking, streamName: 's' }),
      checkpoints: flakyLookup([awsError('ValidationException')]),
      ...quickEngineOptions(tmp.join('q.csv'), []),
      logger,
    });
    await assert.rejects(e.run(new AbortController().signal), { name: 'ValidationException' });
    assert.equal(lines.filter((l) => l.message.endsWith('retrying')).length, 0);
  });

  it('switches modes instead of stopping when a transient failure arrives after the switch', async () => {
    const { logger, lines } = captureLogs();
    const control = new FakeControl();
    const opened: string[] = [];
    // The lookup is in flight when the user switches to live; DynamoDB answers it with throttling
    // only after the session was cancelled.
    let lookups = 0;
    let failLookup: () => void = () => undefined;
    const checkpoints: CheckpointPort = {
      leaseMs: 10_000,
      load: () => {
        lookups++;
        return new Promise((_, reject) => (failLookup = () => reject(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))));
      },
      acquire: () => Promise.resolve(undefined),
      save: () => Promise.resolve(),
      release: () => Promise.resolve(),
    };
    const e = new ReplayEngine({
      control,
      producer: new KinesisProducer<QuoteEntry>({ client: noKinesis, streamName: 's' }),
      checkpoints,
      logger,
      ...quickEngineOptions(tmp.join('q.csv'), opened),
    });
    const stop = new AbortController();
    let failed: unknown;
    const running = e.run(stop.signal).catch((error: unknown) => (failed = error));
    try {
      await until('the checkpoint lookup', () => lookups === 1);
      control.request('live');
      await until('the session cancelled by the switch', () => lines.some((l) => l.message === 'mode change requested'));
      failLookup();
      await until('the live source, or the engine stopping', () => opened.length === 1 || failed !== undefined);
      assert.equal(failed, undefined, `the engine stopped on a failure of a cancelled session: ${String(failed)}`);
      assert.equal(e.status().mode, 'live');
    } finally {
      stop.abort();
      await running;
    }
    assert.equal(failed, undefined);
  });
});
