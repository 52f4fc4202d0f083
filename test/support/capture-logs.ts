/** A logger whose lines the test can read back, and a bounded wait on the event loop. */
import assert from 'node:assert/strict';
import { createLogger, type Logger } from '../../lib/logging/logger.ts';

export interface LogLine {
  level: string;
  message: string;
  [key: string]: unknown;
}

export function captureLogs(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = createLogger({ service: 'test', level: 'DEBUG', sink: (line) => lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines };
}

/** Polls `condition` on the event loop until it holds, failing after `timeoutMs` with `what`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
