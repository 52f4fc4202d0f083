/**
 * The engine with several historical files: one checkpoint per file, so historical → live →
 * historical and a restart resume every file where it stopped; and inputs identified by content,
 * so a file replaced under the same path, size and mtime is not resumed into.
 */
import assert from 'node:assert/strict';
import { readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import type { PutRecordsCommand, PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { KinesisProducer } from '../../../lib/aws/producer.ts';
import { CheckpointOwnershipError, type StoredCheckpoint } from '../../../lib/replay/checkpoint-store.ts';
import { ReplayEngine, type CheckpointPort } from '../../../lib/replay/engine.ts';
import type { QuoteEntry } from '../../../lib/replay/replayer.ts';
import { FakeControl, idleLive, until } from '../../support/engine-fakes.ts';
import { useTempDir } from '../../support/temp-dir.ts';

/** Checkpoints in memory, one item per source, as DynamoDB keeps them. */
function memoryCheckpoints(): CheckpointPort & { items: Map<string, StoredCheckpoint> } {
  const items = new Map<string, StoredCheckpoint>();
  return {
    items,
    leaseMs: 10_000,
    load: (sourceId) => Promise.resolve(items.get(sourceId)),
    acquire: (sourceId) => Promise.resolve(items.get(sourceId)),
    save: (checkpoint) => {
      items.set(checkpoint.sourceId, structuredClone(checkpoint));
      return Promise.resolve();
    },
    release: () => Promise.resolve(),
  };
}

/** A Kinesis that acknowledges everything and records `ticker#seq` in send order. */
function recordingKinesis(sent: string[]): { send(command: PutRecordsCommand): Promise<PutRecordsCommandOutput> } {
  let sequence = 0;
  return {
    send: (command) => {
      const entries = command.input.Records ?? [];
      for (const entry of entries) {
        const record = JSON.parse(Buffer.from(entry.Data ?? new Uint8Array()).toString('utf8')) as { ticker: string; seq: number };
        sent.push(`${record.ticker}#${record.seq}`);
      }
      return Promise.resolve({ Records: entries.map(() => ({ ShardId: 'shardId-000000000000', SequenceNumber: String(++sequence) })), $metadata: {} });
    },
  };
}

function csv(ticker: string, rows: number, offsetMs: number): string {
  const lines = ['timestamp,ticker,bid,ask'];
  for (let i = 0; i < rows; i++) lines.push(`${new Date(Date.UTC(2025, 0, 1) + offsetMs + 2 * i).toISOString()},${ticker},${i + 1},${i + 2}`);
  return lines.join('\n') + '\n';
}

describe('ReplayEngine over several files', () => {
  const tmp = useTempDir();

  function engine(files: string[], checkpoints: CheckpointPort, control: FakeControl, sent: string[], gate?: (n: number) => Promise<void> | undefined): ReplayEngine {
    const ref: { current?: ReplayEngine } = {};
    const producer = new KinesisProducer<QuoteEntry>({ client: recordingKinesis(sent), streamName: 's', lingerMs: 0, onAck: (acked) => ref.current?.onAck(acked) });
    ref.current = new ReplayEngine({
      control,
      producer,
      checkpoints,
      historicalFile: files,
      speed: 'max',
      liveUrl: 'ws://feed',
      createLiveSource: idleLive([]),
      pollMs: 10,
      statusMs: 50,
      historicalGate: gate,
    });
    return ref.current;
  }

  it('resumes every file where it stopped across historical → live → historical and a restart, each quote once, in merged order', async () => {
    const a = tmp.join('a.csv');
    const b = tmp.join('b.csv');
    await writeFile(a, csv('A', 300, 0));
    await writeFile(b, csv('B', 300, 1));
    const checkpoints = memoryCheckpoints();
    const sent: string[] = [];
    const control = new FakeControl();

    // First engine: held after 150 quotes, switched to live, then stopped (a restart follows).
    let hold = true;
    const first = engine([a, b], checkpoints, control, sent, (n) => (hold && n >= 150 ? new Promise<void>(() => undefined) : undefined));
    const stop1 = new AbortController();
    const run1 = first.run(stop1.signal);
    await until('150 quotes acknowledged', () => first.status().historical.done === 150);
    control.request('live');
    await until('live mode', () => first.status().mode === 'live');
    control.request('historical');
    await until('back to historical, held again', () => first.status().mode === 'historical' && first.status().historical.done === 300);
    stop1.abort();
    await run1;
    assert.equal(checkpoints.items.size, 2, 'one checkpoint per file');

    // A new process: resumes both files from their checkpoints and runs to the end.
    hold = false;
    const second = engine([a, b], checkpoints, control, sent);
    const stop2 = new AbortController();
    const run2 = second.run(stop2.signal);
    await until('both files done', () => second.status().historical.completed);
    stop2.abort();
    await run2;

    const expected = Array.from({ length: 300 }, (_, i) => [`A#${i + 1}`, `B#${i + 1}`]).flat();
    assert.deepEqual(sent, expected);
  });

  it('does not resume into a file replaced with the same path, size and mtime: it is replayed as new', async () => {
    const file = tmp.join('replaced.csv');
    await writeFile(file, csv('OLD', 100, 0));
    const mtime = new Date('2025-06-01T12:00:00Z'); // whole seconds: set back exactly below
    await utimes(file, mtime, mtime);
    const before = await stat(file);
    const checkpoints = memoryCheckpoints();
    const control = new FakeControl();
    const sent: string[] = [];
    const first = engine([file], checkpoints, control, sent, (n) => (n >= 60 ? new Promise<void>(() => undefined) : undefined));
    const stop1 = new AbortController();
    const run1 = first.run(stop1.signal);
    await until('60 quotes acknowledged', () => first.status().historical.done === 60);
    stop1.abort();
    await run1;

    // Same length, same mtime, different content (a restore, `cp -p`, `rsync -t`).
    const replacement = (await readFile(file, 'utf8')).replaceAll('OLD', 'NEW');
    await writeFile(file, replacement);
    await utimes(file, mtime, mtime);
    const after = await stat(file);
    assert.equal(after.size, before.size);
    assert.equal(after.mtimeMs, before.mtimeMs);

    const resent: string[] = [];
    const second = engine([file], checkpoints, control, resent);
    const stop2 = new AbortController();
    const run2 = second.run(stop2.signal);
    await until('the replacement replayed', () => second.status().historical.completed);
    stop2.abort();
    await run2;
    assert.deepEqual(resent, Array.from({ length: 100 }, (_, i) => `NEW#${i + 1}`), 'the new content from its first row, not from row 61');
  });
  it('waits for a source another owner still holds while renewing the leases it already took, then replays every file', async () => {
    const a = tmp.join('held-a.csv');
    const b = tmp.join('held-b.csv');
    await writeFile(a, csv('A', 50, 0));
    await writeFile(b, csv('B', 50, 1));
    const memory = memoryCheckpoints();
    // The second source is held by a dead replayer for its first three tries (its lease then expires).
    const order: string[] = [];
    const acquires = new Map<string, number>();
    const checkpoints: CheckpointPort = {
      ...memory,
      acquire: (sourceId) => {
        if (!order.includes(sourceId)) order.push(sourceId);
        const n = (acquires.get(sourceId) ?? 0) + 1;
        acquires.set(sourceId, n);
        if (sourceId === order[1] && n <= 3) return Promise.reject(new CheckpointOwnershipError('held by a dead replayer', { sourceId }));
        return memory.acquire(sourceId);
      },
    };
    const sent: string[] = [];
    const e = engine([a, b], checkpoints, new FakeControl(), sent);
    const stop = new AbortController();
    const run = e.run(stop.signal);
    await until('both files done', () => e.status().historical.completed);
    stop.abort();
    await run;
    assert.equal(acquires.get(order[1] as string), 4, 'the held source was taken on the fourth try');
    // The lease taken first was renewed at every wait (3), besides being taken: it cannot expire meanwhile.
    assert.equal(acquires.get(order[0] as string), 4);
    assert.deepEqual(sent, Array.from({ length: 50 }, (_, i) => [`A#${i + 1}`, `B#${i + 1}`]).flat());
  });
});
