/** A clock whose time moves only when slept on (or advanced by the test); records every sleep. */
import type { Clock } from '../../lib/time/clock.ts';

export class FakeClock implements Clock {
  readonly sleeps: number[] = [];

  constructor(public time = 0) {}

  now(): number {
    return this.time;
  }

  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.time += Math.max(0, ms);
    return Promise.resolve();
  }

  advance(ms: number): void {
    this.time += ms;
  }
}
