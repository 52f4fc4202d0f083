/** `tick-replay run` as a user runs it: a real process, real emulators, exit codes and output. */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { describe, it } from 'node:test';
import { cli } from '../support/cli-process.ts';
import { useTempDir } from '../support/temp-dir.ts';

/** A port nothing listens on: bind an ephemeral one, note it, release it. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

describe('tick-replay run (CLI)', () => {
  const tmp = useTempDir();

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
        // Interrupt once quotes have gone all the way through: the first mid line is written.
        const poll = setInterval(() => {
          void readFile(tmp.join('out-int', 'mid_prices.log'), 'utf8')
            .then((text) => {
              if (text.length > 0) {
                clearInterval(poll);
                child.kill('SIGINT');
              }
            })
            .catch(() => undefined);
        }, 50);
        child.on('close', () => clearInterval(poll));
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
    ['a bad --threshold', () => Promise.resolve(['--historical', 'x.csv', '--threshold', '-5']), /LATENCY_THRESHOLD must be a number between 0/],
  ];
  for (const [what, args, message] of failures) {
    it(`exits 2 with one specific line for ${what}`, async () => {
      const r = await cli(['run', '--state-dir', tmp.join('state'), '--edge-port', '0', ...(await args())]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, '');
      // Structured log lines may precede it; the error itself is one plain line, no stack trace.
      const plain = r.stderr.trim().split('\n').filter((l) => !l.startsWith('{'));
      assert.equal(plain.length, 1, r.stderr);
      assert.match(plain[0] ?? '', /^tick-replay: error: /);
      assert.match(plain[0] ?? '', message);
    });
  }

  it('exits 2 on a bad command line, with the parser\'s message, and 0 for --help', async () => {
    const bad = await cli(['run', '--historical', tmp.join('x.csv'), '--speed', 'fast']);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--speed must be "max" or a positive number, got "fast"/);
    const missing = await cli(['run']);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /required option '--historical/);
    const help = await cli(['run', '--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /Usage: tick-replay run/);
  });

  it('consume says there is no stack to attach to, and refuses an application name that cannot be a lease key', async () => {
    const free = await freePort();
    const none = await cli(['consume', '--edge-port', String(free), '--out', tmp.join('consume-out')]);
    assert.equal(none.code, 2, none.stderr);
    assert.match(none.stderr, new RegExp(`tick-replay: error: no AWS endpoint: nothing answers on http://127\\.0\\.0\\.1:${free}\\. Start the stack first`));
    const bad = await cli(['consume', '--app', 'a#b']);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /tick-replay: error: --app must be 1-64 letters/);
  });

  it('up refuses a missing historical file with one line, before starting anything', async () => {
    const r = await cli(['up', '--historical', tmp.join('absent.csv'), '--state-dir', tmp.join('state'), '--edge-port', '0', '--api-port', '0']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim(), `tick-replay: error: cannot read ${tmp.join('absent.csv')}: no such file`);
  });

  it('rejects a bad --speed with a usage error', async () => {
    const r = await cli(['run', '--historical', 'x.csv', '--speed', 'fast']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--speed must be "max" or a positive number, got "fast"/);
    assert.equal(r.stdout, '');
  });

  it('names the variable when the environment holds a bad value, and lets a flag override it', async () => {
    const bad = await cli(['run', '--historical', 'x.csv'], { LATENCY_THRESHOLD: 'abc' });
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim(), 'tick-replay: error: LATENCY_THRESHOLD must be a number between 0 and 86400000, got "abc"');

    const file = tmp.join('o.csv');
    await writeFile(file, 'timestamp,ticker,bid,ask\n2025-01-01 00:00:00,A,1,2\n');
    const fixed = await cli(['run', '--historical', file, '--out', tmp.join('out-o'), '--state-dir', tmp.join('state'), '--edge-port', '0', '--threshold', '20'], {
      LATENCY_THRESHOLD: 'abc',
    });
    assert.equal(fixed.code, 0, fixed.stderr);
  });

  it('fails with one line, instead of retrying forever, when the embedded stack dies mid-run', async () => {
    const r = await cli(
      ['run', '--historical', 'data/historical_sample.csv', '--out', tmp.join('out-k'), '--state-dir', tmp.join('state-k'), '--edge-port', '0', '--speed', '1'],
      {},
      (child) => {
        let buffered = '';
        child.stderr?.on('data', (d: Buffer) => {
          buffered += d.toString();
          const started = /"message":"embedded stack started".*?"pid":(\d+)/.exec(buffered) ?? /"pid":(\d+).*?"message":"embedded stack started"/.exec(buffered);
          if (started !== null && buffered.includes('event source mapping started')) {
            buffered = '';
            process.kill(Number(started[1]), 'SIGKILL');
          }
        });
      },
    );
    assert.equal(r.code, 2, r.stderr);
    const plain = r.stderr.trim().split('\n').filter((l) => !l.startsWith('{'));
    assert.deepEqual(plain, ['tick-replay: error: the embedded AWS stack stopped unexpectedly (signal SIGKILL)']);
  });

  it('says which endpoint it cannot reach, and leaves earlier output alone', async () => {
    const file = tmp.join('u.csv');
    await writeFile(file, 'timestamp,ticker,bid,ask\n2025-01-01 00:00:00,A,1,2\n');
    await mkdir(tmp.join('out-u'), { recursive: true });
    await writeFile(tmp.join('out-u', 'mid_prices.log'), 'earlier result\n');
    const port = await freePort();
    const r = await cli(['run', '--historical', file, '--out', tmp.join('out-u')], { AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` });
    assert.equal(r.code, 2, r.stderr);
    const plain = r.stderr.trim().split('\n').filter((l) => !l.startsWith('{'));
    assert.deepEqual(plain, [`tick-replay: error: cannot use the AWS endpoint http://127.0.0.1:${port}: ECONNREFUSED`]);
    assert.equal(await readFile(tmp.join('out-u', 'mid_prices.log'), 'utf8'), 'earlier result\n');
  });
});
