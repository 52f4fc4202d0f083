/**
 * ReplayEngine decisions that the emulators cannot provoke on demand: a lease held by someone
 * else while the user switches modes or stops.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { PutRecordsCommand, PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { KinesisProducer } from '../../../lib/aws/producer.ts';
import type { ModeControl, ReplayStatus } from '../../../lib/control/control-store.ts';
import { CheckpointOwnershipError } from '../../../lib/replay/checkpoint-store.ts';
import { ReplayEngine, type CheckpointPort, type LiveSourceLike } from '../../../lib/replay/engine.ts';
import type { PacedQuote, SourceStats } from '../../../lib/replay/replay-source.ts';
import type { QuoteEntry } from '../../../lib/replay/replayer.ts';
import { makeTempDir, type TempDir } from '../../support/temp-dir.ts';

class FakeControl {
  control: ModeControl = { mode: 'historical', version: 1, fromStart: false, requestedAt: '', rewinds: 0 };
  statuses: ReplayStatus[] = [];
  getMode(): Promise<ModeControl> {
    return Promise.resolve(this.control);
  }
  putStatus(status: ReplayStatus): Promise<void> {
    this.statuses.push(status);
    return Promise.resolve();
  }
  request(mode: 'historical' | 'live'): void {
    this.control = { mode, version: this.control.version + 1, fromStart: false, requestedAt: new Date().toISOString(), rewinds: this.control.rewinds };
  }
}

/** A source someone else holds for good. */
const heldElsewhere: CheckpointPort = {
  leaseMs: 10_000,
  findByFile: () => Promise.resolve(undefined),
  acquire: (sourceId) => Promise.reject(new CheckpointOwnershipError(`${sourceId} is being replayed by someone-else`)),
  save: () => Promise.reject(new Error('not reached')),
  release: () => Promise.resolve(),
};

/** A live source that yields nothing until it is closed. */
function idleLive(opened: string[]): (url: string) => LiveSourceLike {
  return (url) => {
    opened.push(url);
    let close: () => void = () => undefined;
    const closed = new Promise<void>((resolve) => (close = resolve));
    const stats: SourceStats = { read: 0, rejected: 0, crossed: 0, emitted: 0 };
    return {
      mode: 'live',
      sourceId: `live:${url}`,
      stats,
      acknowledge: () => undefined,
      position: () => undefined,
      connectionState: () => ({ connection: 'open', reconnects: 0 }),
      close: () => {
        close();
        return Promise.resolve();
      },
      [Symbol.asyncIterator](): AsyncIterator<PacedQuote> {
        // Yields nothing; the iteration ends when the source is closed.
        return { next: async () => (await closed, { done: true, value: undefined }) };
      },
    };
  };
}

const noKinesis = { send: (_: PutRecordsCommand): Promise<PutRecordsCommandOutput> => Promise.reject(new Error('no records expected')) };

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

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
      historicalFile: tmp.join('q.csv'),
      speed: 'max',
      liveUrl: 'ws://feed',
      createLiveSource: idleLive(opened),
      pollMs: 10,
      statusMs: 50,
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
