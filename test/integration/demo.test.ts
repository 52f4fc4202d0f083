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
import { midPrice } from '../../lib/quotes/decimal.ts';
import { readLines } from '../support/lines.ts';
import { PROJECT_DIR } from '../support/osls.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';
import { embeddedChildEnv } from '../support/aws-env.ts';

const DEMO_TIMEOUT_MS = 90_000;

/** Runs a node script of the project to completion; fails the test on a non-zero exit. */
async function runNode(args: string[]): Promise<string> {
  const child = spawn(process.execPath, args, { cwd: PROJECT_DIR, env: embeddedChildEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), DEMO_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  clearTimeout(timer);
  assert.equal(code, 0, `${args.join(' ')} failed:\n${stdout}\n${stderr.slice(-3000)}`);
  return stdout;
}

void describe('npm run demo', () => {
  let tmp: TempDir;
  let stdout = '';

  before(async () => {
    tmp = await makeTempDir();
    stdout = await runNode(['--import', 'tsx', 'lib/demo/main.ts', '--out', tmp.join('out')]);
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

  void it('is the uninterrupted historical replay with the live file inserted where the switch was', async () => {
    // The same file through `run` on one shard: the historical lines in arrival order, no switch.
    const reference = tmp.join('reference');
    await runNode(['bin/tick-replay.js', 'run', '--historical', 'data/historical_sample.csv', '--out', reference, '--shards', '1', '--edge-port', '0', '--state-dir', tmp.join('state'), '--log-level', 'ERROR']);
    const liveMids = (await readLines(`${PROJECT_DIR}/data/live_sample.csv`)).slice(1).map((row) => {
      const [, timestamp, , , ask, bid] = row.split(',') as [string, string, string, string, string, string];
      return `${timestamp}, ${midPrice(bid, ask)}`;
    });
    const demoMids = await readLines(tmp.join('out', 'mid_prices.log'));
    const liveStart = demoMids.indexOf(liveMids[0] ?? '');
    assert.ok(liveStart > 0, 'the live block follows some historical lines');
    assert.deepEqual(demoMids.slice(liveStart, liveStart + liveMids.length), liveMids, 'the live quotes, once, in feed order');
    const historicalMids = [...demoMids.slice(0, liveStart), ...demoMids.slice(liveStart + liveMids.length)];
    assert.deepEqual(historicalMids, await readLines(`${reference}/mid_prices.log`), 'historical: resumed exactly where it stopped');
    assert.deepEqual(await readLines(tmp.join('out', 'errors.log')), await readLines(`${reference}/errors.log`));
  });
});
