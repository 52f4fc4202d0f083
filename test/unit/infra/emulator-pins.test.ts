/**
 * The embedded stack calls the emulators' internals (their request handlers, fed a stand-in
 * request; the LevelDB bindings they load; their patched close()), so their versions are exact:
 * an upgrade is a deliberate change, tested, not whatever a caret range resolves to.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function json(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as Record<string, unknown>;
}

describe('emulator versions', () => {
  it('are exact in package.json and are what package-lock.json installs', () => {
    const dependencies = json('package.json').dependencies as Record<string, string>;
    const locked = json('package-lock.json').packages as Record<string, { version?: string }>;
    for (const name of ['kinesalite', 'dynalite']) {
      const wanted = dependencies[name];
      assert.match(wanted ?? '', /^\d+\.\d+\.\d+$/, `${name} must be pinned to an exact version, not "${wanted}"`);
      assert.equal(locked[`node_modules/${name}`]?.version, wanted, `package-lock.json installs another ${name}`);
    }
  });
});
