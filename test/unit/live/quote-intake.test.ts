import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QuoteIntake, type IncomingFrame } from '../../../lib/live/quote-intake.ts';
import { createLogger } from '../../../lib/logging/logger.ts';
import type { PacedQuote, SourceStats } from '../../../lib/replay/replay-source.ts';

const RECEIVED_MS = Date.UTC(2025, 0, 2, 14, 33, 0, 123);

function frame(text: string, receivedAtMs = RECEIVED_MS): IncomingFrame {
  return { data: Buffer.from(text, 'utf8'), isBinary: false, receivedAtMs };
}

function quote(i: number): IncomingFrame {
  return frame(JSON.stringify({ ticker: `T${i}`, timestamp: '2025-01-02 14:32:00', bid: '1', ask: '2' }));
}

function intake(maxQueued: number): { intake: QuoteIntake; stats: SourceStats; logs: Record<string, unknown>[] } {
  const stats: SourceStats = { read: 0, rejected: 0, crossed: 0, emitted: 0 };
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({ service: 'test', sink: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  return { intake: new QuoteIntake({ sourceId: 'live:ws://feed#s', maxQueued, stats, logger }), stats, logs };
}

function drain(q: QuoteIntake): PacedQuote[] {
  const out: PacedQuote[] = [];
  for (let next = q.take(); next !== undefined; next = q.take()) out.push(next);
  return out;
}

void describe('QuoteIntake', () => {
  void it('stamps each quote live at its receive time, with seq counting valid quotes only', () => {
    const { intake: q, stats } = intake(10);
    q.offer(quote(1));
    q.offer(frame('garbage'));
    q.offer(quote(2));
    q.offer({ ...quote(3), receivedAtMs: RECEIVED_MS + 5.9 });
    const quotes = drain(q);
    assert.deepEqual(
      quotes.map((x) => [x.ticker, x.seq, x.mode, x.source, x.arrival, x.arrivalUs]),
      [
        ['T1', 1, 'live', 'live:ws://feed#s', '2025-01-02T14:33:00.123Z', RECEIVED_MS * 1000],
        ['T2', 2, 'live', 'live:ws://feed#s', '2025-01-02T14:33:00.123Z', RECEIVED_MS * 1000],
        ['T3', 3, 'live', 'live:ws://feed#s', '2025-01-02T14:33:00.128Z', (RECEIVED_MS + 5) * 1000],
      ],
    );
    assert.equal('latencyMs' in (quotes[0] ?? {}), false);
    assert.deepEqual(stats, { read: 4, rejected: 1, crossed: 0, emitted: 0 });
  });

  void it('reads every RawData shape ws can deliver and rejects binary frames', () => {
    const { intake: q, stats, logs } = intake(10);
    const text = JSON.stringify({ ticker: 'A', timestamp: '2025-01-02 14:32:00', bid: '1', ask: '2' });
    const bytes = Buffer.from(text, 'utf8');
    q.offer({ data: [bytes.subarray(0, 10), bytes.subarray(10)], isBinary: false, receivedAtMs: RECEIVED_MS });
    q.offer({ data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length), isBinary: false, receivedAtMs: RECEIVED_MS });
    q.offer({ data: bytes, isBinary: true, receivedAtMs: RECEIVED_MS });
    assert.equal(drain(q).length, 2);
    assert.deepEqual(stats, { read: 3, rejected: 1, crossed: 0, emitted: 0 });
    assert.equal(logs[0]?.reason, 'binary frame: quotes are JSON text messages');
    assert.equal(logs[0]?.text, `<${bytes.length} bytes>`);
  });

  void it('never queues more than maxQueued: later frames are held in order and decoded as room frees', () => {
    const { intake: q, stats } = intake(4);
    const full = [1, 2, 3, 4, 5, 6, 7].map((i) => q.offer(quote(i)));
    // Full at the 4th; the 5th to 7th (the rest of a socket read) are held, not decoded.
    assert.deepEqual(full, [false, false, false, true, true, true, true]);
    assert.deepEqual([q.queued, q.held, stats.read], [4, 3, 4]);
    assert.equal(q.wantsMore, false);

    assert.equal(q.take()?.ticker, 'T1');
    assert.deepEqual([q.queued, q.held], [4, 2], 'one held frame moved into the room');
    assert.equal(q.wantsMore, false);
    assert.deepEqual(
      drain(q).map((x) => [x.ticker, x.seq]),
      [2, 3, 4, 5, 6, 7].map((i) => [`T${i}`, i]),
    );
    assert.equal(q.wantsMore, true);
    assert.equal(stats.read, 7);
  });

  void it('wants more only once the queue is below half and nothing is held', () => {
    const { intake: q } = intake(4);
    for (let i = 1; i <= 4; i++) q.offer(quote(i));
    q.take();
    assert.equal(q.wantsMore, false); // 3 of 4
    q.take();
    assert.equal(q.wantsMore, false); // 2 of 4: half is not below half
    q.take();
    assert.equal(q.wantsMore, true); // 1 of 4
  });

  void it('logs rejections sampled: the first ten, then one in a thousand, with counts', () => {
    const { intake: q, stats, logs } = intake(10);
    for (let i = 0; i < 2_001; i++) q.offer(frame('{}'));
    assert.equal(stats.rejected, 2_001);
    assert.deepEqual(
      logs.map((l) => l.rejected),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1_000, 2_000],
    );
    assert.equal(logs[0]?.reason, 'field "ticker" is missing');
  });

  void it('counts and logs crossed quotes, and keeps them', () => {
    const { intake: q, stats, logs } = intake(10);
    q.offer(frame(JSON.stringify({ ticker: 'X', timestamp: '2025-01-02 14:32:00', bid: '2', ask: '1' })));
    assert.equal(drain(q).length, 1);
    assert.equal(stats.crossed, 1);
    assert.equal(logs[0]?.message, 'crossed quote (bid > ask) kept');
  });

  void it('clear() drops queued and held frames', () => {
    const { intake: q } = intake(1);
    q.offer(quote(1));
    q.offer(quote(2));
    q.clear();
    assert.deepEqual([q.queued, q.held, q.take()], [0, 0, undefined]);
  });
});
