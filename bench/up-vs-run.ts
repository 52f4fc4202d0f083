/**
 * `up --speed max` against `run` on the same file, as a user starts them: each is the real CLI
 * (bin/tick-replay.js) in its own process with its own embedded stack (fresh state directory, any
 * free ports), timed from the spawn to the moment its output files hold one line per quote. Both
 * start everything they need (the stack; `up` also the mode API, the live feed simulator and the
 * dashboard), so the time includes that start, as a user's wall clock does. `run` exits by itself
 * once drained; `up` runs until stopped and is sent SIGINT (its own graceful stop) once the last
 * line is in. Alternated, `rounds` times each; the best sample of each side is compared, as the
 * floors are (bench/run.ts), and every sample is kept.
 */
import { spawn } from 'node:child_process';
import { open, mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LinePoller } from './line-poller.ts';
import { round } from './stats.ts';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'tick-replay.js');
/** `up` as `npm start` runs it: with the live feed simulator (idle while no client is connected). */
const LIVE_FILE = path.join(ROOT, 'data', 'live_sample.csv');
/** A side that has not written every line by then is reported as failed, not waited for forever. */
const TIMEOUT_MS = 20 * 60_000;
/** How long a stopped `up` may take to exit (it flushes, drains and checkpoints first). */
const STOP_GRACE_MS = 60_000;
/** After a side exited, how long its output is still looked at before it counts as incomplete. */
const EXIT_SETTLE_MS = 1_000;

export interface UpVsRunOptions {
  csv: string;
  /** Valid rows in `csv`: the output is complete at this many lines. */
  quotes: number;
  work: string;
  rounds: number;
  batchSize: number;
  aggregate: boolean;
  log: (text: string) => void;
}

export interface UpVsRun {
  /** Best (lowest) wall seconds of each side, spawn → last output line. */
  runSeconds: number;
  upSeconds: number;
  /** upSeconds / runSeconds (the target is ≤ 1.1). */
  ratio: number;
  runSamples: number[];
  upSamples: number[];
  flags: string[];
}

type Kind = 'run' | 'up';

/** The flags both sides are given that shape the pipeline (the rest only place it). */
function pipelineFlags(options: UpVsRunOptions): string[] {
  return ['--batch-size', String(options.batchSize), ...(options.aggregate ? ['--aggregate'] : [])];
}

function argsFor(kind: Kind, options: UpVsRunOptions, dir: string): string[] {
  const common = ['--historical', options.csv, '--out', path.join(dir, 'out'), '--state-dir', path.join(dir, 'state'), '--edge-port', '0', '--log-level', 'WARN', ...pipelineFlags(options)];
  if (kind === 'run') return ['run', ...common];
  return ['up', ...common, '--speed', 'max', '--live-file', LIVE_FILE, '--api-port', '0', '--live-port', '0', '--dashboard-port', '0'];
}

/** One timed side: seconds from the spawn to the last line. */
async function timeOne(kind: Kind, options: UpVsRunOptions): Promise<number> {
  const dir = await mkdtemp(path.join(options.work, `${kind}-`));
  const out = path.join(dir, 'out');
  await mkdir(out, { recursive: true });
  const stderr = await open(path.join(dir, 'stderr.log'), 'w');
  const poller = new LinePoller([path.join(out, 'mid_prices.log'), path.join(out, 'errors.log')], 50);
  try {
    const started = performance.now();
    const child = spawn(process.execPath, [BIN, ...argsFor(kind, options, dir)], { stdio: ['ignore', 'ignore', stderr.fd] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    poller.start();
    let exitedAt: number | undefined;
    void exited.then(() => (exitedAt = performance.now()));
    const complete = new Promise<number>((resolve, reject) => {
      const timer = setInterval(() => {
        const last = poller.samples.at(-1);
        const now = performance.now();
        const failure =
          // An exit before the last line: give the watcher a moment to read what was written.
          exitedAt !== undefined && now - exitedAt > EXIT_SETTLE_MS ? `${kind} exited with ${child.exitCode ?? child.signalCode}` : now - started > TIMEOUT_MS ? `${kind} still running` : undefined;
        if (last !== undefined && last.lines >= options.quotes) {
          clearInterval(timer);
          resolve(last.atMs);
        } else if (failure !== undefined) {
          clearInterval(timer);
          reject(new Error(`${failure} with ${poller.lines} of ${options.quotes} lines written (log: ${path.join(dir, 'stderr.log')})`));
        }
      }, 20);
    });
    let doneAt: number;
    try {
      doneAt = await complete;
    } finally {
      if (child.exitCode === null) child.kill(kind === 'up' ? 'SIGINT' : 'SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), STOP_GRACE_MS).unref())]);
      if (!stopped) child.kill('SIGKILL');
    }
    return round((doneAt - started) / 1000, 2);
  } finally {
    await poller.stop();
    await stderr.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function measureUpVsRun(options: UpVsRunOptions): Promise<UpVsRun> {
  const runSamples: number[] = [];
  const upSamples: number[] = [];
  for (let i = 1; i <= options.rounds; i++) {
    options.log(`up vs run, round ${i} of ${options.rounds}: run`);
    runSamples.push(await timeOne('run', options));
    options.log(`up vs run, round ${i}: up --speed max`);
    upSamples.push(await timeOne('up', options));
  }
  const runSeconds = Math.min(...runSamples);
  const upSeconds = Math.min(...upSamples);
  return { runSeconds, upSeconds, ratio: round(upSeconds / runSeconds, 3), runSamples, upSamples, flags: pipelineFlags(options) };
}
