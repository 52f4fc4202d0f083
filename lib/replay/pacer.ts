/**
 * Real-time pacing: releases each quote at the wall time its effective arrival maps to,
 * scaled by the replay speed. Time comes from an injected Clock, so tests never sleep.
 *
 * The first `wait` (and the first after `reanchor`) anchors the two time lines:
 *   scheduled wall(arrival) = anchorWall + (arrival − anchorArrival) / 1000 / speed   (ms)
 * A quote whose scheduled time has already passed is released at once and its lateness reported;
 * after a pause (mode switch, backpressure), `reanchor` avoids a burst that catches up.
 */
import { ConfigError } from '../errors.ts';
import type { Clock } from '../time/clock.ts';

export type Speed = number | 'max';

function speedError(text: string): ConfigError {
  return new ConfigError(`--speed must be "max" or a positive number, got "${text}"`, { flag: '--speed', value: text });
}

const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Parses `--speed`: `max`, or a positive finite decimal such as `1`, `10`, `0.5`. */
export function parseSpeed(text: string): Speed {
  const trimmed = text.trim();
  if (trimmed.toLowerCase() === 'max') return 'max';
  if (!DECIMAL.test(trimmed)) throw speedError(text);
  const value = Number(trimmed);
  if (!Number.isFinite(value) || value <= 0) throw speedError(text);
  return value;
}

const RELEASED_ON_TIME: Promise<number> = Promise.resolve(0);

export class Pacer {
  private readonly clock: Clock;
  /** Wall ms per arrival µs (1 / (1000 × speed)); 0 for 'max'. */
  private readonly msPerUs: number;
  private readonly unpaced: boolean;
  private anchored = false;
  private anchorWallMs = 0;
  private anchorArrivalUs = 0;

  constructor(speed: Speed, clock: Clock) {
    if (speed !== 'max' && !(Number.isFinite(speed) && speed > 0)) throw speedError(String(speed));
    this.clock = clock;
    this.unpaced = speed === 'max';
    this.msPerUs = speed === 'max' ? 0 : 1 / (1000 * speed);
  }

  /**
   * Waits until this arrival's scheduled wall time and returns the lateness in ms (>= 0): how far
   * past the scheduled time it returned. Never sleeps when the time has already passed. With
   * speed 'max' it returns an already-resolved 0 at once. When `signal` aborts it returns early
   * (lateness 0); callers check the signal.
   */
  wait(arrivalUs: number, signal?: AbortSignal): Promise<number> {
    if (this.unpaced) return RELEASED_ON_TIME;
    if (!this.anchored) {
      this.anchored = true;
      this.anchorWallMs = this.clock.now();
      this.anchorArrivalUs = arrivalUs;
      return RELEASED_ON_TIME;
    }
    const target = this.anchorWallMs + (arrivalUs - this.anchorArrivalUs) * this.msPerUs;
    const now = this.clock.now();
    if (now >= target) return Promise.resolve(now - target);
    return this.sleepUntil(target, now, signal);
  }

  /** The next `wait` anchors afresh: no burst to catch up after a pause. */
  reanchor(): void {
    this.anchored = false;
  }

  private async sleepUntil(target: number, now: number, signal: AbortSignal | undefined): Promise<number> {
    if (this.clock.sleepUntil) await this.clock.sleepUntil(target, signal);
    else await this.clock.sleep(target - now, signal);
    return Math.max(0, this.clock.now() - target);
  }
}
