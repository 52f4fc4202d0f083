/**
 * `npm run demo` is reproducible: run as the npm script runs it (a child process, the real mode
 * API under serverless-offline), into a temporary directory, its output equals the committed
 * sample-output/ byte for byte.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { OUTPUT_FILES } from '../../lib/output/log-files.ts';
import { PROJECT_DIR } from '../support/osls.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

const DEMO_TIMEOUT_MS = 90_000;

void describe('npm run demo', () => {
  let tmp: TempDir;
  let stdout = '';

  before(async () => {
    tmp = await makeTempDir();
    const child = spawn(process.execPath, ['--import', 'tsx', 'lib/demo/main.ts', '--out', tmp.join('out')], {
      cwd: PROJECT_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), DEMO_TIMEOUT_MS);
    const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
    clearTimeout(timer);
    assert.equal(code, 0, `demo failed:\n${stdout}\n${stderr.slice(-3000)}`);
  });

  after(async () => {
    await tmp?.remove();
  });

  void it('reproduces the committed sample-output/ byte for byte', async () => {
    for (const name of OUTPUT_FILES) {
      const produced = await readFile(tmp.join('out', name));
      const committed = await readFile(`${PROJECT_DIR}/sample-output/${name}`);
      assert.ok(produced.equals(committed), `${name}: the demo wrote ${produced.length} bytes, sample-output/ has ${committed.length}; run \`npm run demo\``);
    }
  });

  void it('went historical -> live -> historical and says so in its summary', () => {
    assert.match(stdout, /historical +2000 quotes, then POST \/mode live/);
    assert.match(stdout, /live +3000 quotes from the feed, then POST \/mode historical/);
    assert.match(stdout, /historical +4000 more quotes, resumed from the checkpoint \(6000 in the file\)/);
    // Every quote once: 6,000 historical + 3,000 live lines in all.
    const count = (label: string): number => Number(new RegExp(`${label} +(\\d+) lines`).exec(stdout)?.[1]);
    assert.equal(count('mid_prices\\.log') + count('errors\\.log'), 9000);
  });
});
