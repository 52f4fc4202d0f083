import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../lib/errors.ts';
import type { Clock } from '../../../lib/time/clock.ts';
import { Pacer, parseSpeed } from '../../../lib/replay/pacer.ts';
import { FakeClock } from '../../support/fake-clock.ts';

/** The same, with the optional precise `sleepUntil` (the system clock path). */
class FakeDeadlineClock extends FakeClock {
  readonly deadlines: number[] = [];
  sleepUntil(deadline: number): Promise<void> {
    this.deadlines.push(deadline);
    this.time = Math.max(this.time, deadline);
    return Promise.resolve();
  }
}

const T0 = Date.UTC(2025, 0, 2, 14, 30) * 1000; // µs
const ms = (n: number): number => T0 + n * 1000;

void describe('Pacer', () => {
  void it('at speed 1 waits for the arrival deltas, on time', async () => {
    const clock = new FakeClock(1_000);
    const pacer = new Pacer(1, clock);
    const lateness: number[] = [];
    for (const arrival of [0, 20, 20, 25, 1_025]) lateness.push(await pacer.wait(ms(arrival)));
    assert.deepEqual(clock.sleeps, [20, 5, 1_000]);
    assert.deepEqual(lateness, [0, 0, 0, 0, 0]);
    assert.equal(clock.time, 1_000 + 1_025);
  });

  void it('at speed 10 runs ten times faster', async () => {
    const clock = new FakeClock(1_000);
    const pacer = new Pacer(10, clock);
    for (const arrival of [0, 20, 120, 1_120]) await pacer.wait(ms(arrival));
    assert.deepEqual(clock.sleeps, [2, 10, 100]);
  });

  void it('at speed 0.5 runs at half speed', async () => {
    const clock = new FakeClock(1_000);
    const pacer = new Pacer(0.5, clock);
    for (const arrival of [0, 100]) await pacer.wait(ms(arrival));
    assert.deepEqual(clock.sleeps, [200]);
  });

  void it('at max never sleeps and returns an already-resolved 0', async () => {
    const clock = new FakeClock(1_000);
    const pacer = new Pacer('max', clock);
    const first = pacer.wait(ms(0));
    const second = pacer.wait(ms(60_000));
    assert.equal(first, second, 'one shared resolved promise, none per call');
    assert.equal(await second, 0);
    assert.deepEqual(clock.sleeps, []);
    assert.equal(clock.time, 1_000);
  });

  void it('reports lateness without sleeping after a pause longer than the gaps', async () => {
    const clock = new FakeClock(1_000);
    const pacer = new Pacer(1, clock);
    await pacer.wait(ms(0));
    clock.advance(500); // e.g. backpressure held the replay
    assert.equal(await pacer.wait(ms(100)), 400);
    assert.equal(await pacer.wait(ms(300)), 200);
    assert.deepEqual(clock.sleeps, []);
    assert.equal(await pacer.wait(ms(600)), 0);
    assert.deepEqual(clock.sleeps, [100]);
  });

  void it('reanchor avoids the catch-up burst after a pause', async () => {
    const clock = new FakeClock(1_000);
    const pacer = new Pacer(1, clock);
    await pacer.wait(ms(0));
    await pacer.wait(ms(10));
    clock.advance(5_000); // e.g. live mode in between
    pacer.reanchor();
    assert.equal(await pacer.wait(ms(20)), 0, 'anchors afresh instead of being 4.99 s late');
    assert.equal(await pacer.wait(ms(50)), 0);
    assert.deepEqual(clock.sleeps, [10, 30]);
  });

  void it('uses the clock’s precise sleepUntil when it has one', async () => {
    const clock = new FakeDeadlineClock(1_000);
    const pacer = new Pacer(2, clock);
    await pacer.wait(ms(0));
    await pacer.wait(ms(50));
    await pacer.wait(ms(250));
    assert.deepEqual(clock.deadlines, [1_025, 1_125]);
    assert.deepEqual(clock.sleeps, []);
  });

  void it('returns early when the signal aborts', async () => {
    const clock: Clock = {
      now: () => 0,
      sleep: (_ms, signal) => {
        assert.equal(signal?.aborted, true);
        return Promise.resolve();
      },
    };
    const pacer = new Pacer(1, clock);
    await pacer.wait(ms(0));
    const controller = new AbortController();
    controller.abort();
    assert.equal(await pacer.wait(ms(1_000), controller.signal), 0);
  });

  void it('rejects an invalid speed', () => {
    assert.throws(() => new Pacer(0, new FakeClock(1_000)), ConfigError);
    assert.throws(() => new Pacer(Number.NaN, new FakeClock(1_000)), ConfigError);
  });
});

void describe('parseSpeed', () => {
  void it('accepts "max" and positive finite numbers', () => {
    assert.equal(parseSpeed('max'), 'max');
    assert.equal(parseSpeed('MAX'), 'max');
    assert.equal(parseSpeed('1'), 1);
    assert.equal(parseSpeed('10'), 10);
    assert.equal(parseSpeed('0.5'), 0.5);
    assert.equal(parseSpeed(' 2.5 '), 2.5);
    assert.equal(parseSpeed('.25'), 0.25);
    assert.equal(parseSpeed('1e2'), 100);
  });

  for (const bad of ['', 'x', '0', '-1', 'Infinity', 'NaN', '0x10', '1,5', '2x', '1e400']) {
    void it(`rejects ${JSON.stringify(bad)} with a ConfigError naming --speed`, () => {
      assert.throws(
        () => parseSpeed(bad),
        (err: unknown) =>
          err instanceof ConfigError && err.message === `--speed must be "max" or a positive number, got "${bad}"`,
      );
    });
  }
});
