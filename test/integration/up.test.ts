/**
 * `tick-replay up` as a user runs it: historical → live → historical through the real mode API,
 * then `kill -9` of the whole process group and the same command again. Every historical quote
 * must be in the output; duplicates stay within the bound the restart logs.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';
import { embeddedChildEnv } from '../support/aws-env.ts';

interface Up {
  child: ChildProcess;
  apiUrl: Promise<string>;
  stderr: () => string;
  exited: Promise<number | null>;
}

function startUp(tmp: TempDir): Up {
  const child = spawn(
    process.execPath,
    [
      'bin/tick-replay.js', 'up',
      '--historical', 'data/historical_sample.csv', '--live-file', 'data/live_sample.csv',
      '--speed', '10', '--out', tmp.join('out'), '--state-dir', tmp.join('state'),
      '--edge-port', '0', '--api-port', '0', '--live-port', '0', '--dashboard-port', '0',
    ],
    // Own process group, so the test can kill -9 the whole of it, as a user would.
    { env: embeddedChildEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const apiUrl = new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      const match = /mode API\s+(http:\/\/\S+)\/mode/.exec(stdout);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.on('close', () => reject(new Error(`up exited before it was ready:\n${stderr.slice(-3000)}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, apiUrl, stderr: () => stderr, exited };
}

interface Status {
  mode: string;
  version: number;
  status: { mode: string; appliedVersion: number; historical: { done: number; total: number; completed: boolean }; live: { received: number; connection: string } } | null;
}

async function getStatus(api: string): Promise<Status> {
  return (await (await fetch(`${api}/mode`)).json()) as Status;
}

async function until(what: string, check: () => Promise<boolean>, ms = 90_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function postMode(api: string, body: string, contentType = 'application/json'): Promise<Response> {
  // As `curl --json` sends it.
  return fetch(`${api}/mode`, { method: 'POST', body, headers: { 'content-type': contentType } });
}

describe('tick-replay up', () => {
  let tmp: TempDir;
  const started: Up[] = [];
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    for (const up of started) if (up.child.exitCode === null && up.child.signalCode === null) process.kill(-(up.child.pid ?? 0), 'SIGKILL');
    await tmp.remove();
  });

  it('flips modes through the API, survives kill -9 of the process group, and loses no historical quote', { timeout: 240_000 }, async (t) => {
    const first = startUp(tmp);
    started.push(first);
    const api = await first.apiUrl;
    await until('historical progress', async () => ((await getStatus(api)).status?.historical.done ?? 0) >= 1_000);

    const live = await postMode(api, '{"mode":"live"}');
    assert.equal(live.status, 200, await live.clone().text());
    await until('live quotes', async () => {
      const s = await getStatus(api);
      return s.status?.mode === 'live' && s.status.live.received >= 20;
    });
    const bad = await postMode(api, '{"mode":"paper"}');
    assert.equal(bad.status, 400);
    // What `curl -d` (form encoding) or an HTML form sends: refused, as a web page could send it.
    assert.equal((await postMode(api, '{"mode":"historical"}', 'application/x-www-form-urlencoded')).status, 415);
    assert.equal((await getStatus(api)).mode, 'live', 'an invalid or form request leaves the mode alone');

    assert.equal((await postMode(api, '{"mode":"historical"}')).status, 200);
    await until('historical again, further on', async () => {
      const s = await getStatus(api);
      return s.status?.mode === 'historical' && s.status.historical.done >= 2_500;
    });

    process.kill(-(first.child.pid ?? 0), 'SIGKILL');
    await first.exited;

    const second = startUp(tmp);
    started.push(second);
    const api2 = await second.apiUrl;
    await until('the file completed', async () => (await getStatus(api2)).status?.historical.completed === true);
    const final = await getStatus(api2);
    assert.equal(final.status?.historical.done, 6_000);
    assert.equal(final.status?.mode, 'historical');
    second.child.kill('SIGINT');
    assert.equal(await second.exited, 0, second.stderr().slice(-3000));

    // Every historical row of the sample is in the output; extra copies only within the bound.
    const rows = (await readFile('data/historical_sample.csv', 'utf8')).trim().split('\n').slice(1).map((l) => l.split(','));
    const expected = rows.map(([, ts, , , , , , latency]) =>
      Number(latency) > 20 ? `No mid price at ${ts} as latency ${latency}ms is bigger than 20ms` : (ts as string),
    );
    const mids = (await readFile(tmp.join('out', 'mid_prices.log'), 'utf8')).trim().split('\n');
    const errors = (await readFile(tmp.join('out', 'errors.log'), 'utf8')).trim().split('\n');
    const historicalMids = mids.map((l) => l.split(', ')[0] as string).filter((ts) => ts < '2025-01-02 14:32:00');
    const liveMids = mids.filter((l) => l >= '2025-01-02 14:32:00');
    const seen = new Map<string, number>();
    for (const key of [...historicalMids, ...errors]) seen.set(key, (seen.get(key) ?? 0) + 1);
    const wanted = new Map<string, number>();
    for (const key of expected) wanted.set(key, (wanted.get(key) ?? 0) + 1);
    let duplicates = 0;
    for (const [key, count] of wanted) {
      assert.ok((seen.get(key) ?? 0) >= count, `missing ${key}`);
      duplicates += (seen.get(key) ?? 0) - count;
    }
    assert.equal([...seen.keys()].filter((k) => !wanted.has(k)).length, 0, 'nothing historical that is not in the file');
    const resumed = /"message":"resuming historical replay from its checkpoint".*?"possibleDuplicates":(\d+)/.exec(second.stderr());
    assert.ok(resumed !== null, 'the restart resumed from the checkpoint');
    // Re-sent quotes (logged bound) plus at most one uncheckpointed handler batch per shard.
    const bound = Number(resumed[1]) + 4 * 100;
    t.diagnostic(`after kill -9: ${duplicates} duplicate lines (bound ${bound}), ${liveMids.length} live lines`);
    assert.ok(duplicates <= bound, `${duplicates} duplicates, bound ${bound}`);
    assert.ok(liveMids.length >= 20, 'live quotes were written while live');
  });
});
