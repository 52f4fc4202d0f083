/**
 * Crashes with KPL aggregation (one Kinesis record holds hundreds of quotes), as a user meets them:
 *
 * - the whole `up --aggregate` process group (replayer, in-process consumer, embedded stack, mode
 *   API) killed with SIGKILL three times during the replay of an unseen file, each time started
 *   again on the same state and output;
 * - then, started a last time with `--workers 2`, one of its consumer worker processes killed with
 *   SIGKILL mid-run (the other takes its shards over).
 *
 * Nothing may be missing; duplicates stay within the bounds the restarts log: the replayer's
 * `possibleDuplicates` on resume, and each takeover's first batch (an aggregate counts its quotes).
 *
 * Size: CRASH_ROWS (default 20,000) rows at CRASH_SPEED (default 2, i.e. 2,000 rows/s), leases of
 * 2 s (LEASE_DURATION_MS) so that restarts do not wait long; the acceptance run is
 * `CRASH_ROWS=200000 node --import tsx --test test/faults/crash-aggregate.test.ts`.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { ERRORS_FILE, MID_PRICES_FILE } from '../../lib/output/log-files.ts';
import { isAlive, waitUntil } from '../support/processes.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';
import { startUpProcess, upLogs, type UpProcess } from '../support/up-process.ts';
import { checkDelivery, outputLineCount, writeQuoteFile, type QuoteFile } from './support/quote-file.ts';

const ROWS = Number(process.env.CRASH_ROWS ?? 20_000);
const SPEED = process.env.CRASH_SPEED ?? '2';

type LogLine = ReturnType<typeof upLogs>[number];


async function progress(apiUrl: string): Promise<{ done: number; completed: boolean }> {
  const body = (await (await fetch(`${apiUrl}/mode`)).json()) as { status: { historical: { done: number; completed: boolean } } | null };
  return { done: body.status?.historical.done ?? 0, completed: body.status?.historical.completed ?? false };
}

/** The duplicate bounds every log line of these runs announced. */
function loggedBound(logs: readonly LogLine[]): { replayer: number; consumer: number } {
  const sum = (message: string): number => logs.filter((l) => l.message.startsWith(message)).reduce((total, l) => total + Number(l.possibleDuplicates ?? 0), 0);
  return { replayer: sum('resuming historical replay from its checkpoint'), consumer: sum('first batch after taking over an expired lease') };
}

describe('crashes with aggregation', () => {
  let tmp: TempDir;
  const ups: UpProcess[] = [];

  before(async () => {
    tmp = await makeTempDir('tick-replay-crash-agg-');
  });

  after(async () => {
    for (const up of ups) {
      up.kill();
      await up.exited;
    }
    await tmp.remove();
  });

  async function finish(up: UpProcess, apiUrl: string, out: string, rows: number): Promise<void> {
    await waitUntil('the replay completed and every row written', async () => {
      assert.ok(up.child.exitCode === null, `up exited:\n${up.stderr().slice(-2000)}`);
      return (await progress(apiUrl).catch(() => ({ completed: false }))).completed && (await outputLineCount(out)) >= rows;
    }, 600_000);
    up.child.kill('SIGINT');
    assert.equal(await up.exited, 0, up.stderr().slice(-2000));
  }

  async function verify(input: QuoteFile, out: string, logs: readonly LogLine[]): Promise<{ duplicates: number; bound: number }> {
    const report = checkDelivery(input, await readFile(`${out}/${MID_PRICES_FILE}`, 'utf8'), await readFile(`${out}/${ERRORS_FILE}`, 'utf8'));
    const { replayer, consumer } = loggedBound(logs);
    assert.deepEqual(report.foreign.slice(0, 10), [], 'whole lines of the file only');
    assert.deepEqual(report.missing.slice(0, 10), [], 'nothing missing');
    assert.deepEqual(report.outOfOrder.slice(0, 10), [], 'per-ticker arrival order (first copies)');
    assert.ok(report.duplicates <= replayer + consumer, `${report.duplicates} duplicates, logged bounds ${replayer} (replayer) + ${consumer} (consumer)`);
    return { duplicates: report.duplicates, bound: replayer + consumer };
  }

  it(`loses nothing when up --aggregate is killed -9 three times, then one of its workers (${ROWS} rows)`, { timeout: 1_800_000 }, async (t) => {
    const input = await writeQuoteFile(tmp.join('unseen.csv'), ROWS);
    const out = tmp.join('out');
    const start = (extraArgs: string[] = []): UpProcess => {
      const up = startUpProcess({
        outDir: out,
        stateDir: tmp.join('state'),
        speed: SPEED,
        historical: tmp.join('unseen.csv'),
        liveFile: null,
        extraArgs: ['--aggregate', ...extraArgs],
        env: { LEASE_DURATION_MS: '2000' },
      });
      ups.push(up);
      return up;
    };
    const logs: LogLine[] = [];
    const crashes: number[] = [];
    for (const share of [0.2, 0.4, 0.6]) {
      const up = start();
      const { apiUrl } = await up.ready;
      await waitUntil(`${share * 100}% replayed`, async () => (await progress(apiUrl).catch(() => ({ done: 0 }))).done >= ROWS * share, 1_200_000);
      crashes.push((await progress(apiUrl)).done);
      up.kill();
      await up.exited;
      logs.push(...upLogs(up));
    }
    // The last start consumes with two worker processes; one of them is killed -9 on the way.
    const last = start(['--workers', '2']);
    const { apiUrl } = await last.ready;
    await waitUntil('80% replayed', async () => (await progress(apiUrl).catch(() => ({ done: 0 }))).done >= ROWS * 0.8, 1_200_000);
    const victim = (upLogs(last).find((l) => l.message === 'consumer workers started')?.pids as number[] | undefined)?.[0];
    assert.ok(victim !== undefined && isAlive(victim), 'a worker to kill');
    process.kill(victim, 'SIGKILL');
    await finish(last, apiUrl, out, ROWS);
    logs.push(...upLogs(last));
    assert.ok(logs.some((l) => l.message.startsWith('consumer worker died')), 'the worker death was reported');
    assert.equal(logs.filter((l) => l.message === 'resuming historical replay from its checkpoint').length, 3, 'each restart resumed');
    assert.ok(crashes.every((done) => done < ROWS), `every crash hit mid-file (${crashes.join(', ')})`);
    const { duplicates, bound } = await verify(input, out, logs);
    t.diagnostic(`kill -9 of the group at ${crashes.join(', ')} of ${ROWS} quotes, then of worker ${victim}; ${duplicates} duplicate lines (logged bound ${bound})`);
  });
});
