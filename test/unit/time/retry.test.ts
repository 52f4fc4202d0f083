import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff, retry, type RetryNotice } from '../../../lib/time/retry.ts';
import { FakeClock } from '../../support/fake-clock.ts';

const policy = { baseMs: 100, capMs: 1_000 };

/** A call that fails with the given errors in turn, then resolves with 'done'. */
function failing(...errors: Error[]): { call: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    call: () => {
      const error = errors[calls++];
      return error === undefined ? Promise.resolve('done') : Promise.reject(error);
    },
    calls: () => calls,
  };
}

/** A clock whose every wait is cut short by `stop` aborting (as a stop during the backoff would). */
function stopDuringWait(): { stop: AbortController; clock: FakeClock } {
  const stop = new AbortController();
  const clock = new FakeClock();
  clock.sleep = (ms) => {
    stop.abort();
    clock.sleeps.push(ms);
    return Promise.resolve();
  };
  return { stop, clock };
}

const transient = new Error('transient');
const fatal = new Error('fatal');
const retryable = (error: unknown): boolean => error === transient;

describe('Backoff', () => {
  it('waits a jittered, capped, doubling delay per retry and starts afresh after reset', async () => {
    const clock = new FakeClock();
    const backoff = new Backoff({ policy, clock, random: () => 0.5 });
    const notices: RetryNotice[] = [];
    for (let i = 0; i < 6; i++) await backoff.pause(undefined, (n) => notices.push(n));
    assert.deepEqual(clock.sleeps, [50, 100, 200, 400, 500, 500]);
    assert.deepEqual(
      notices.map((n) => n.attempt),
      [1, 2, 3, 4, 5, 6],
    );
    assert.equal(backoff.attempts, 6);
    backoff.reset();
    await backoff.pause();
    assert.equal(clock.sleeps.at(-1), 50);
    assert.equal(backoff.attempts, 1);
  });

  it('draws the delay from the injected random source (full jitter)', async () => {
    const clock = new FakeClock();
    const draws = [0, 0.999];
    const backoff = new Backoff({ policy, clock, random: () => draws.shift() as number });
    await backoff.pause();
    await backoff.pause();
    assert.deepEqual(clock.sleeps, [0, 199]);
  });
});

describe('retry', () => {
  it('retries retryable failures with backoff, reporting each, until the call succeeds', async () => {
    const clock = new FakeClock();
    const { call, calls } = failing(transient, transient);
    const seen: Array<[unknown, RetryNotice]> = [];
    const result = await retry(call, { backoff: new Backoff({ policy, clock, random: () => 0.5 }), retryable, onRetry: (e, n) => seen.push([e, n]) });
    assert.equal(result, 'done');
    assert.equal(calls(), 3);
    assert.deepEqual(seen, [
      [transient, { attempt: 1, delayMs: 50 }],
      [transient, { attempt: 2, delayMs: 100 }],
    ]);
  });

  it('rethrows a failure the predicate rejects at once, without waiting', async () => {
    const clock = new FakeClock();
    const { call, calls } = failing(transient, fatal);
    await assert.rejects(retry(call, { backoff: new Backoff({ policy, clock }), retryable }), (e) => e === fatal);
    assert.equal(calls(), 2);
    assert.equal(clock.sleeps.length, 1);
  });

  it('abandon policy: a stop during the wait ends the loop with no further call', async () => {
    const { stop, clock } = stopDuringWait();
    const { call, calls } = failing(transient, transient);
    assert.equal(await retry(call, { backoff: new Backoff({ clock }), retryable, signal: stop.signal }), undefined);
    assert.equal(calls(), 1);
  });

  it('abandon policy: a retryable failure that finds the signal aborted resolves undefined; a fatal one is thrown', async () => {
    const stop = new AbortController();
    stop.abort();
    const clock = new FakeClock();
    const { call, calls } = failing(transient);
    assert.equal(await retry(call, { backoff: new Backoff({ clock }), retryable, signal: stop.signal }), undefined);
    assert.equal(calls(), 1);
    assert.deepEqual(clock.sleeps, [], 'no wait after the stop');
    await assert.rejects(retry(failing(fatal).call, { backoff: new Backoff({ clock }), retryable, signal: stop.signal }), (e) => e === fatal);
  });

  it('settle policy: after a stop cut the wait short the call runs once more, and a failure then resolves undefined', async () => {
    const { stop, clock } = stopDuringWait();
    const settles = failing(transient);
    assert.equal(await retry(settles.call, { backoff: new Backoff({ clock }), retryable, signal: stop.signal, onStop: 'settle' }), 'done');
    assert.equal(settles.calls(), 2);
    const fails = failing(transient, transient);
    assert.equal(await retry(fails.call, { backoff: new Backoff({ clock }), retryable, signal: stop.signal, onStop: 'settle' }), undefined);
    assert.equal(fails.calls(), 1, 'the signal was already aborted: the first failure settles');
    await assert.rejects(retry(failing(fatal).call, { backoff: new Backoff({ clock }), retryable, signal: stop.signal, onStop: 'settle' }), (e) => e === fatal);
  });

  it('shares the attempt count with other retries of the same Backoff', async () => {
    const clock = new FakeClock();
    const backoff = new Backoff({ policy, clock, random: () => 0.5 });
    await backoff.pause();
    await retry(failing(transient).call, { backoff, retryable });
    assert.deepEqual(clock.sleeps, [50, 100]);
  });
});
