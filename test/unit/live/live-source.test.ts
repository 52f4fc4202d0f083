import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../lib/errors.ts';
import { LiveSource } from '../../../lib/live/live-source.ts';
import { silentLogger } from '../../../lib/logging/logger.ts';

void describe('LiveSource (construction; sockets are in test/integration/live-source.test.ts)', () => {
  void it('names its source live:<url>#<session>, without credentials or query string', () => {
    const a = new LiveSource({ url: 'wss://user:secret@feed.example.com:9443/quotes?token=abc', logger: silentLogger, sessionId: 's1' });
    assert.equal(a.sourceId, 'live:wss://feed.example.com:9443/quotes#s1');
    assert.equal(new LiveSource({ url: 'ws://127.0.0.1:8765', logger: silentLogger, sessionId: 's2' }).sourceId, 'live:ws://127.0.0.1:8765#s2');
  });

  void it('gives each instance its own random session, so (source, seq) stays unique across restarts', () => {
    const ids = new Set(Array.from({ length: 20 }, () => new LiveSource({ url: 'ws://127.0.0.1:8765', logger: silentLogger }).sourceId));
    assert.equal(ids.size, 20);
    for (const id of ids) assert.match(id, /^live:ws:\/\/127\.0\.0\.1:8765#[0-9a-f]{8}$/);
  });

  void it('starts closed with zeroed counters and does not connect until iterated', () => {
    const live = new LiveSource({ url: 'ws://127.0.0.1:1', logger: silentLogger });
    assert.equal(live.mode, 'live');
    assert.deepEqual(live.stats, { read: 0, rejected: 0, crossed: 0, emitted: 0 });
    assert.deepEqual(live.connectionState(), {
      connection: 'closed',
      reconnects: 0,
      pongTimeouts: 0,
      oversize: 0,
      sequenceGaps: 0,
      missedMessages: 0,
      sequenceRegressions: 0,
      queued: 0,
      held: 0,
      paused: false,
    });
  });

  void it('keeps a URL fragment (symbols to subscribe to) out of what it connects to and shows', () => {
    const live = new LiveSource({ url: 'ws://127.0.0.1:1/v2#BTC/USD', format: 'kraken', logger: silentLogger, sessionId: 's' });
    assert.equal(live.sourceId, 'live:ws://127.0.0.1:1/v2#s');
  });

  void it('rejects a URL that is not ws:// or wss:// and non-positive limits, naming them', () => {
    assert.throws(() => new LiveSource({ url: 'http://127.0.0.1:8765', logger: silentLogger }), (e: unknown) => e instanceof ConfigError && /ws:\/\/ or wss:\/\//.test(e.message));
    assert.throws(() => new LiveSource({ url: 'not a url', logger: silentLogger }), ConfigError);
    assert.throws(() => new LiveSource({ url: 'ws://h', logger: silentLogger, format: 'bloomberg' as 'json' }), /--live-format must be one of json, binance, coinbase, kraken/);
    assert.throws(() => new LiveSource({ url: 'ws://h', logger: silentLogger, maxQueued: 0 }), /maxQueued must be a positive integer, got 0/);
    assert.throws(() => new LiveSource({ url: 'ws://h', logger: silentLogger, pongTimeoutMs: 1.5 }), /pongTimeoutMs must be a positive integer/);
  });
});
