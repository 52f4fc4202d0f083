/**
 * The historical session's send window at speed max with checkpoint writes that land only once the
 * window is full: sending is held each time and goes on once a checkpoint covers it, many times in
 * one session, without leaving anything behind per hold.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { PutRecordsCommand, PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { KinesisProducer } from '../../../lib/aws/producer.ts';
import type { StoredCheckpoint } from '../../../lib/replay/checkpoint-store.ts';
import { ReplayEngine, type CheckpointPort } from '../../../lib/replay/engine.ts';
import type { QuoteEntry } from '../../../lib/replay/replayer.ts';
import { FakeControl, idleLive } from '../../support/engine-fakes.ts';
import { makeTempDir, type TempDir } from '../../support/temp-dir.ts';

/** The window under test (smaller than the default: the same mechanism, fewer rows to fill it). */
const WINDOW = 5_000;
/** Enough rows for the window to fill well over ten times (Node warns at 11 listeners on one signal). */
const ROWS = WINDOW * 12;
/** Sent beyond the durable checkpoint when the window holds: the quote held back is already read, and counts. */
const FULL = WINDOW - 1;

describe('the send window at speed max', () => {
  let tmp: TempDir;
  before(async () => {
    tmp = await makeTempDir();
    const rows = ['timestamp,ticker,bid,ask'];
    for (let i = 0; i < ROWS; i++) rows.push(`2025-01-01 00:00:${String(Math.floor(i / 1000) % 60).padStart(2, '0')}.${String(i % 1000).padStart(3, '0')},T${i % 4},1.${i % 10},2.${i % 10}`);
    await writeFile(tmp.join('q.csv'), rows.join('\n') + '\n');
  });
  after(async () => {
    await tmp.remove();
  });

  it('is held and released many times in one session, all rows sent, no listener left per hold', { timeout: 120_000 }, async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    let sequence = 0;
    const acking = {
      send: (command: PutRecordsCommand): Promise<PutRecordsCommandOutput> =>
        Promise.resolve({ Records: (command.input.Records ?? []).map(() => ({ ShardId: 'shardId-000000000000', SequenceNumber: String(++sequence) })), $metadata: {} }),
    };
    let stored: StoredCheckpoint | undefined;
    // Quotes sent beyond the last durable checkpoint when each write landed: the window's reach.
    const aheadAtSave: number[] = [];
    let sent = 0;
    const checkpoints: CheckpointPort = {
      leaseMs: 10_000,
      load: () => Promise.resolve(undefined),
      acquire: () => Promise.resolve(stored),
      save: async (checkpoint) => {
        // Each write after the first lands only once the replay is held by a full window (or has
        // sent everything): the window, not the timing, decides how far sending runs ahead.
        while (stored !== undefined && sent < ROWS && sent - stored.position.done < FULL) await new Promise((resolve) => setTimeout(resolve, 1));
        aheadAtSave.push(sent - (stored?.position.done ?? 0));
        stored = checkpoint;
      },
      release: () => Promise.resolve(),
    };
    const engineRef: { current?: ReplayEngine } = {};
    const e = new ReplayEngine({
      control: new FakeControl(),
      producer: new KinesisProducer<QuoteEntry>({ client: acking, streamName: 's', onAck: (acked) => engineRef.current?.onAck(acked) }),
      checkpoints,
      historicalFile: tmp.join('q.csv'),
      speed: 'max',
      sendWindow: WINDOW,
      liveUrl: 'ws://feed',
      createLiveSource: idleLive([]),
      onQuoteSent: () => void sent++,
    });
    engineRef.current = e;
    const stop = new AbortController();
    const running = e.run(stop.signal);
    try {
      // No deadline of its own (tens of thousands of rows on a loaded machine): the test's timeout bounds it.
      while (!(e.status().historical.completed && e.status().historical.done === ROWS)) await new Promise((resolve) => setTimeout(resolve, 10));
    } finally {
      stop.abort();
      await running;
      process.off('warning', onWarning);
    }
    assert.equal(sent, ROWS);
    assert.ok(
      aheadAtSave.every((ahead) => ahead <= WINDOW),
      `never more than the window beyond the durable checkpoint (worst ${Math.max(...aheadAtSave)})`,
    );
    const fills = aheadAtSave.filter((ahead) => ahead >= FULL).length;
    assert.ok(fills > 10, `the window filled more than ten times (${fills})`);
    assert.deepEqual(
      warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message),
      [],
    );
  });
});
