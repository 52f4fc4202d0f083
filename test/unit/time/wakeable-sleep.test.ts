import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { systemClock } from '../../../lib/time/clock.ts';
import { WakeableSleep } from '../../../lib/time/wakeable-sleep.ts';

/** Resolves with 'slept' when `p` settles first, 'timer' when `ms` elapse first. */
function race(p: Promise<void>, ms: number): Promise<'slept' | 'timer'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timer'>((resolve) => (timer = setTimeout(() => resolve('timer'), ms)));
  return Promise.race([p.then(() => 'slept' as const), timeout]).finally(() => clearTimeout(timer));
}

describe('WakeableSleep', () => {
  it('sleeps its time when nobody wakes it', async () => {
    const pause = new WakeableSleep(systemClock);
    const stop = new AbortController();
    assert.equal(await race(pause.sleep(60_000, stop.signal), 100), 'timer');
    stop.abort();
  });

  it('is cut short by wake()', async () => {
    const pause = new WakeableSleep(systemClock);
    const sleeping = pause.sleep(60_000, new AbortController().signal);
    pause.wake();
    assert.equal(await race(sleeping, 1_000), 'slept');
  });

  it('keeps a wake that came while it was not asleep for the next sleep, once', async () => {
    const pause = new WakeableSleep(systemClock);
    const stop = new AbortController();
    pause.wake();
    assert.equal(await race(pause.sleep(60_000, stop.signal), 1_000), 'slept');
    assert.equal(await race(pause.sleep(60_000, stop.signal), 100), 'timer');
    stop.abort();
  });

  it('forgets a kept wake when cleared (the loop looked since), and keeps one that comes after', async () => {
    const pause = new WakeableSleep(systemClock);
    const first = new AbortController();
    pause.wake();
    pause.clear();
    const sleeping = pause.sleep(60_000, first.signal);
    assert.equal(await race(sleeping, 100), 'timer');
    first.abort();
    await sleeping;
    pause.clear();
    pause.wake();
    assert.equal(await race(pause.sleep(60_000, new AbortController().signal), 1_000), 'slept');
  });

  it('ends when its signal aborts, and at once when it already has', async () => {
    const pause = new WakeableSleep(systemClock);
    const stop = new AbortController();
    const sleeping = pause.sleep(60_000, stop.signal);
    stop.abort();
    assert.equal(await race(sleeping, 1_000), 'slept');
    assert.equal(await race(pause.sleep(60_000, stop.signal), 1_000), 'slept');
  });
});
