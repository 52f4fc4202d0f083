/** Fakes for ReplayEngine tests: the control item in memory, an idle live feed, polling waits. */
import type { ModeControl, ReplayStatus } from '../../lib/control/control-store.ts';
import type { LiveSourceLike } from '../../lib/replay/engine.ts';
import type { PacedQuote, SourceStats } from '../../lib/replay/replay-source.ts';

export class FakeControl {
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

/** A live source that yields nothing until it is closed. */
export function idleLive(opened: string[]): (url: string) => LiveSourceLike {
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

export async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
