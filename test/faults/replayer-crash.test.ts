/**
 * Crash recovery of the replayer: a real replayer process (test/faults/support/replayer-driver.ts,
 * the ReplayEngine with its producer and DynamoDB checkpoints) against an embedded stack this test
 * owns, killed with SIGKILL ten times at seeded random points — by the test at a random moment,
 * and by itself right after Kinesis acknowledged quotes and before their checkpoint was written —
 * then run to the end. The stream must hold every quote of the file; duplicates stay within the
 * bound each restart logs, and each duplicate is a byte-identical copy with the same (source, seq).
 * SIGTERM must flush and checkpoint within 5 s, so that a restart re-sends nothing.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { mulberry32 } from '../../data/generate.ts';
import { DynamoCheckpointStore } from '../../lib/replay/checkpoint-store.ts';
import { scanCsv, sourceIdFor } from '../../lib/replay/historical-source.ts';
import { firstStdoutLine, waitUntil } from '../support/processes.ts';
import type { LogLine } from '../support/capture-logs.ts';
import { countBy, deliveryReport, quoteKey, readStream, startFaultStack, type FaultStack } from './support/stack.ts';
import type { DriverOptions } from './support/replayer-driver.ts';
import { embeddedChildEnv } from '../support/aws-env.ts';

const DRIVER = fileURLToPath(new URL('./support/replayer-driver.ts', import.meta.url));
const LEASE_MS = 1_000;

interface Driver {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  logs: LogLine[];
}

/** The send window the crash runs use: 2.5 s of their replay at speed 2. */
const WINDOW = 5_000;
/** Rows 1 ms apart (about 1,000 quotes/s at speed 1), four tickers. */
function csv(rows: number, salt: string): string {
  const lines = ['timestamp,ticker,bid,ask'];
  for (let i = 0; i < rows; i++) lines.push(`${new Date(Date.UTC(2025, 0, 1) + i).toISOString()},${salt}${i % 4},1.${i % 100},2`);
  return lines.join('\n') + '\n';
}

describe('replayer crash recovery', () => {
  let env: FaultStack;
  const drivers: Driver[] = [];

  before(async () => {
    env = await startFaultStack();
  });

  after(async () => {
    // Every driver this suite started, by its own handle, also when a test failed half-way.
    for (const d of drivers) if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
    await Promise.all(drivers.map((d) => d.exited));
    await env.stop();
  });

  function startDriver(options: Omit<DriverOptions, 'endpointUrl' | 'leaseMs'>): Driver {
    const full: DriverOptions = { endpointUrl: env.stack.endpointUrl, leaseMs: LEASE_MS, ...options };
    const child = spawn(process.execPath, ['--import', 'tsx', DRIVER, JSON.stringify(full)], { env: embeddedChildEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const logs: LogLine[] = [];
    let partial = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) if (line.startsWith('{')) logs.push(JSON.parse(line) as LogLine);
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const driver = { child, exited, logs };
    drivers.push(driver);
    return driver;
  }

  async function waitForLog(driver: Driver, message: string): Promise<void> {
    await waitUntil(`the driver logged "${message}"`, () => {
      assert.equal(driver.child.exitCode, null, `driver exited before logging "${message}"`);
      return driver.logs.some((l) => l.message === message);
    }, 30_000);
  }

  async function prepare(name: string, rows: number): Promise<{ file: string; sourceId: string; store: DynamoCheckpointStore }> {
    const file = env.tmp.join(`${name}.csv`);
    await writeFile(file, csv(rows, name.slice(0, 3).toUpperCase()));
    await env.createStream(name, 2, name);
    const sourceId = sourceIdFor((await scanCsv(file)).fingerprint);
    return { file, sourceId, store: new DynamoCheckpointStore(env.direct.dynamodb, name, 'test-observer') };
  }

  async function runToCompletion(options: Omit<DriverOptions, 'endpointUrl' | 'leaseMs'>, store: DynamoCheckpointStore, sourceId: string): Promise<Driver> {
    const driver = startDriver(options);
    await firstStdoutLine(driver.child);
    await waitUntil('the replay completed', async () => (await store.load(sourceId))?.position.completed === true, 60_000);
    driver.child.kill('SIGTERM');
    assert.deepEqual(await driver.exited, { code: 0, signal: null });
    return driver;
  }

  it('loses nothing across 10 kill -9 at random points, duplicates within the logged bound', async () => {
    const rows = 15_000;
    const { file, sourceId, store } = await prepare('crash', rows);
    const random = mulberry32(20_26);
    // A window these 15,000 quotes fill several times (the default is larger): the bound under test.
    const base = { file, stream: 'crash', table: 'crash', speed: 2, sendWindow: WINDOW };
    const plan: string[] = [];
    for (let crash = 0; crash < 10; crash++) {
      // Every third crash: inside the acknowledgement callback, before the checkpoint covering it.
      const afterAcks = crash % 3 === 2 ? 50 + Math.floor(random() * 1_500) : undefined;
      const driver = startDriver({ ...base, crashAfterAcks: afterAcks });
      await firstStdoutLine(driver.child);
      // Crash while sending, not while starting: the first run once it saved a checkpoint (so that
      // the next one has something to resume from, however slow the machine), later runs once they
      // resumed (a restart first waits out the killed owner's lease).
      if (crash > 0) await waitForLog(driver, 'resuming historical replay from its checkpoint');
      else await waitUntil('a first checkpoint', async () => (await store.load(sourceId)) !== undefined, 30_000);
      if (afterAcks === undefined) {
        const ms = 300 + Math.floor(random() * 1_200);
        plan.push(`kill after ${ms} ms`);
        await delay(ms);
        driver.child.kill('SIGKILL');
      } else plan.push(`self-kill after ${afterAcks} acks`);
      const exit = await driver.exited;
      assert.equal(exit.signal, 'SIGKILL', `crash ${crash + 1} (${plan.at(-1)}) was a kill -9, not an exit (${JSON.stringify(exit)})`);
    }
    const before = await store.load(sourceId);
    assert.ok(before !== undefined && !before.position.completed, 'the crashes hit mid-file');
    const last = await runToCompletion(base, store, sourceId);

    const resumes = drivers.flatMap((d) => d.logs).filter((l) => l.message === 'resuming historical replay from its checkpoint');
    const bounds = resumes.map((l) => l.possibleDuplicates as number);
    assert.equal(resumes.length, 10, 'each restart resumed from a checkpoint');
    const stored = await readStream(env.direct, 'crash');
    const key = quoteKey;
    const report = deliveryReport(
      Array.from({ length: rows }, (_, i) => `${sourceId}#${i + 1}`),
      countBy(stored, (r) => key(r.data)),
    );
    assert.deepEqual(report.lost, [], 'zero missing quotes');
    assert.deepEqual(report.unexpected, []);
    const allowed = bounds.reduce((a, b) => a + b, 0);
    assert.ok(report.duplicates <= allowed, `duplicates ${report.duplicates} within the logged bounds ${bounds.join('+')} = ${allowed}`);
    // The bound itself: one send window of quotes outside the durable checkpoint per crash.
    for (const b of bounds) assert.ok(b <= WINDOW, `a crash can re-send at most ${WINDOW} quotes (logged ${b})`);
    // A duplicate is a copy, recognisable by (source, seq): same bytes as the first one.
    const first = new Map<string, string>();
    for (const r of stored) {
      const seen = first.get(key(r.data));
      if (seen === undefined) first.set(key(r.data), r.data.toString('base64'));
      else assert.equal(r.data.toString('base64'), seen, `duplicate ${key(r.data)} differs from its original`);
    }
    assert.equal(last.logs.some((l) => l.message === 'driver stopped'), true);
    process.stdout.write(`# crash plan: ${plan.join(', ')}; duplicates ${report.duplicates} (bound ${allowed}); records ${stored.length} for ${rows} quotes\n`);
  });

  it('two files merged: kill -9 three times, then to the end; every quote of both files, each file resumed from its own checkpoint', async () => {
    const rows = 5_000;
    const files = [env.tmp.join('merged-a.csv'), env.tmp.join('merged-b.csv')];
    await writeFile(files[0] as string, csv(rows, 'MGA'));
    await writeFile(files[1] as string, csv(rows, 'MGB'));
    await env.createStream('merged', 2, 'merged');
    const sourceIds = await Promise.all(files.map(async (f) => sourceIdFor((await scanCsv(f)).fingerprint)));
    const store = new DynamoCheckpointStore(env.direct.dynamodb, 'merged', 'test-observer');
    const random = mulberry32(7_15);
    const base = { file: files, stream: 'merged', table: 'merged', speed: 2 };
    for (let crash = 0; crash < 3; crash++) {
      const driver = startDriver(base);
      await firstStdoutLine(driver.child);
      if (crash > 0) {
        await waitUntil('both files resumed', () => {
          assert.equal(driver.child.exitCode, null, 'driver exited before resuming both files');
          return sourceIds.every((id) => driver.logs.some((l) => l.message === 'resuming historical replay from its checkpoint' && l.sourceId === id));
        }, 30_000);
      } else await waitUntil('first checkpoints of both files', async () => (await Promise.all(sourceIds.map((id) => store.load(id)))).every((c) => c !== undefined), 30_000);
      await delay(300 + Math.floor(random() * 1_200));
      driver.child.kill('SIGKILL');
      assert.equal((await driver.exited).signal, 'SIGKILL');
    }
    const driver = startDriver(base);
    await firstStdoutLine(driver.child);
    await waitUntil('both files completed', async () => (await Promise.all(sourceIds.map((id) => store.load(id)))).every((c) => c?.position.completed === true), 60_000);
    driver.child.kill('SIGTERM');
    assert.deepEqual(await driver.exited, { code: 0, signal: null });

    const resumes = drivers.flatMap((d) => d.logs).filter((l) => l.message === 'resuming historical replay from its checkpoint' && sourceIds.includes(l.sourceId as string));
    assert.equal(resumes.length, 3 * 2, 'each restart resumed each file from its own checkpoint');
    const stored = await readStream(env.direct, 'merged');
    const report = deliveryReport(
      sourceIds.flatMap((id) => Array.from({ length: rows }, (_, i) => `${id}#${i + 1}`)),
      countBy(stored, (r) => quoteKey(r.data)),
    );
    assert.deepEqual(report.lost, [], 'zero missing quotes in either file');
    assert.deepEqual(report.unexpected, []);
    const allowed = resumes.reduce((sum, l) => sum + (l.possibleDuplicates as number), 0);
    assert.ok(report.duplicates <= allowed, `duplicates ${report.duplicates} within the logged bounds (${allowed})`);
  });

  it('SIGTERM flushes and checkpoints within 5 s, so the restart re-sends nothing', async () => {
    const rows = 6_000;
    const { file, sourceId, store } = await prepare('graceful', rows);
    const base = { file, stream: 'graceful', table: 'graceful', speed: 1 };
    const driver = startDriver(base);
    await firstStdoutLine(driver.child);
    // Sending has begun (the first checkpoint precedes it; under load the scan can take a while),
    // then some of the 6 s of quotes go out.
    await waitUntil('the first checkpoint', async () => (await store.load(sourceId)) !== undefined, 30_000);
    await delay(1_500);
    const t0 = Date.now();
    driver.child.kill('SIGTERM');
    assert.deepEqual(await driver.exited, { code: 0, signal: null });
    const stopMs = Date.now() - t0;
    assert.ok(stopMs <= 5_000, `stopped in ${stopMs} ms`);

    const checkpoint = await store.load(sourceId);
    const afterStop = countBy(await readStream(env.direct, 'graceful'), (r) => r.data.toString('utf8'));
    assert.ok(checkpoint !== undefined && !checkpoint.position.completed, 'stopped mid-file');
    // Everything sent was acknowledged before the final checkpoint. At most one quote may count as
    // unacknowledged: the one pulled from the source while the stop arrived, never sent (the
    // tracker counts it emitted); it is sent on resume, once.
    assert.ok((checkpoint.position.unacknowledged ?? 0) <= 1, `unacknowledged ${checkpoint.position.unacknowledged}`);
    assert.equal(checkpoint.position.done, afterStop.size, 'the checkpoint covers exactly what the stream holds');

    await runToCompletion(base, store, sourceId);
    const stored = await readStream(env.direct, 'graceful');
    const report = deliveryReport(
      Array.from({ length: rows }, (_, i) => `${sourceId}#${i + 1}`),
      countBy(stored, (r) => quoteKey(r.data)),
    );
    assert.deepEqual(report, { lost: [], duplicates: 0, unexpected: [] });
  });
});
