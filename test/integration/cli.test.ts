/** `tick-replay run` as a user runs it: a real process, real emulators, exit codes and output. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}, onSpawn?: (child: ChildProcess) => void): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/tick-replay.js', ...args], {
      env: { ...process.env, AWS_ENDPOINT_URL: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('tick-replay run (CLI)', () => {
  let tmp: TempDir;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await tmp.remove();
  });

  it('replays a file on its own embedded stack and ends stdout with a JSON summary', async () => {
    const file = tmp.join('q.csv');
    await writeFile(file, 'ts,ticker,bid,ask,latency\n1735689600000,AAA,1.5,2.5,25\n1735689600001,AAA,0.1,0.2,3\n');
    const r = await cli(['run', '--historical', file, '--out', tmp.join('out'), '--state-dir', tmp.join('state'), '--edge-port', '0', '--speed', 'max']);
    assert.equal(r.code, 0, r.stderr);
    const last = r.stdout.trim().split('\n').at(-1) ?? '';
    const summary = JSON.parse(last) as Record<string, unknown>;
    assert.equal(summary.sent, 2);
    assert.equal(summary.midLines, 1);
    assert.equal(summary.errorLines, 1);
    assert.match(r.stdout, /mid_prices\.log\s+1 lines/);
    assert.equal(await readFile(tmp.join('out', 'mid_prices.log'), 'utf8'), '2025-01-01 00:00:00.001, 0.15\n');
    assert.equal(
      await readFile(tmp.join('out', 'errors.log'), 'utf8'),
      'No mid price at 2025-01-01 00:00:00.000 as latency 25ms is bigger than 20ms\n',
    );
    // Logs are structured JSON on stderr when it is not a terminal.
    const logLines = r.stderr.trim().split('\n').filter((l) => l.startsWith('{'));
    assert.ok(logLines.length > 0);
    for (const line of logLines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      assert.ok(typeof entry.timestamp === 'string' && typeof entry.level === 'string' && typeof entry.message === 'string');
    }
  });

  it('honours LATENCY_THRESHOLD from the environment', async () => {
    const file = tmp.join('t.csv');
    await writeFile(file, 'timestamp,ticker,bid,ask,latency\n2025-01-01 00:00:00.000,AAA,1,2,25\n');
    const r = await cli(['run', '--historical', file, '--out', tmp.join('out-t'), '--state-dir', tmp.join('state'), '--edge-port', '0'], {
      LATENCY_THRESHOLD: '30',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await readFile(tmp.join('out-t', 'mid_prices.log'), 'utf8'), '2025-01-01 00:00:00.000, 1.5\n');
  });

  it('stops cleanly on SIGINT: everything sent is drained into the output, then it exits 130', async () => {
    const r = await cli(
      ['run', '--historical', 'data/historical_sample.csv', '--out', tmp.join('out-int'), '--state-dir', tmp.join('state'), '--edge-port', '0', '--speed', '1'],
      {},
      (child) => {
        // Interrupt once the replay is under way (the first quotes are on their way to Kinesis).
        let interrupted = false;
        child.stderr?.on('data', (d: Buffer) => {
          if (!interrupted && d.toString().includes('event source mapping started')) {
            interrupted = true;
            setTimeout(() => child.kill('SIGINT'), 1_500);
          }
        });
      },
    );
    assert.equal(r.code, 130, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as { sent: number; midLines: number; errorLines: number; interrupted: boolean };
    assert.equal(summary.interrupted, true);
    assert.ok(summary.sent > 0 && summary.sent < 6000, `sent ${summary.sent}`);
    assert.equal(summary.midLines + summary.errorLines, summary.sent);
    const written = (await readFile(tmp.join('out-int', 'mid_prices.log'), 'utf8')).split('\n').length - 1;
    assert.equal(written, summary.midLines);
  });

  const failures: Array<[string, () => Promise<string[]>, RegExp]> = [
    ['a missing input file', () => Promise.resolve(['--historical', tmp.join('missing.csv')]), /missing\.csv.*no such file/],
    [
      'a CSV without usable columns',
      async () => {
        await writeFile(tmp.join('cols.csv'), 'a,b,c\n1,2,3\n');
        return ['--historical', tmp.join('cols.csv')];
      },
      /missing required column/,
    ],
    [
      'an output path that is a file',
      async () => {
        await writeFile(tmp.join('ok.csv'), 'timestamp,ticker,bid,ask\n2025-01-01 00:00:00,A,1,2\n');
        await writeFile(tmp.join('not-a-dir'), '');
        return ['--historical', tmp.join('ok.csv'), '--out', tmp.join('not-a-dir')];
      },
      /output directory .*not-a-dir.* not usable/,
    ],
    ['a bad --speed', () => Promise.resolve(['--historical', 'x.csv', '--speed', 'fast']), /--speed must be "max" or a positive number/],
    ['a bad LATENCY_THRESHOLD', () => Promise.resolve(['--historical', 'x.csv', '--threshold', '-5']), /LATENCY_THRESHOLD/],
  ];
  for (const [what, args, message] of failures) {
    it(`exits non-zero with one specific line for ${what}`, async () => {
      const r = await cli(['run', '--state-dir', tmp.join('state'), '--edge-port', '0', ...(await args())]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    });
  }
});
