/**
 * One pipeline variant on a fresh embedded stack, alone (no floors): for profiling and A/B runs.
 *
 *   node --import tsx bench/variant-alone.ts <csv> [--off] [--batch-size N] [--prof DIR]
 *   (a CSV like the bench's: node --import tsx -e "import('./bench/synthetic.ts').then((m) => m.writeSyntheticCsv('/tmp/q.csv', 200000))")
 *
 * Aggregation on unless --off, one consumer worker in the variant's process (bench/run.ts's
 * "aggregation-on" / "aggregation-off"). With --prof DIR the variant's process and the emulator
 * process each write a V8 CPU profile (.cpuprofile) into DIR. Prints one JSON line: e2e, producer
 * and consumer quotes/s, and the CPU seconds and cores of both processes over the run. On a
 * shared machine alternate the code under test with a baseline (A B A B …), and prefer the CPU
 * figures and the profiles' shares to the rates.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedStack } from '../infra/embedded-stack.ts';
import { createLogger } from '../lib/logging/logger.ts';
import { cpuSeconds } from '../lib/system/process-stats.ts';
import { runChild } from './run-child.ts';
import type { VariantArgs, VariantResult } from './variant.ts';

const argv = process.argv.slice(2);
const csv = argv[0];
if (csv === undefined) throw new Error('usage: variant-alone.ts <csv> [--off] [--batch-size N] [--prof DIR]');
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i < 0 ? undefined : argv[i + 1];
};
const profDir = flag('--prof');
const batchSize = Number(flag('--batch-size') ?? 1000);
const aggregate = !argv.includes('--off');
const profFlags = profDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', path.resolve(profDir)];

const work = await mkdtemp(path.join(os.tmpdir(), 'variant-alone-'));
const logger = createLogger({ service: 'bench', level: 'WARN' });
const stack = await startEmbeddedStack({ stateDir: path.join(work, 'stack'), edgePort: 0, logger, logLevel: 'WARN', nodeFlags: profFlags });
try {
  const emuBefore = await cpuSeconds(stack.pid);
  const args: VariantArgs = { csv, endpointUrl: stack.endpointUrl, workDir: work, aggregate, workers: 1, batchSize };
  const result = await runChild<VariantResult>('variant.ts', [JSON.stringify(args)], profFlags);
  const emuAfter = await cpuSeconds(stack.pid);
  const s = result.summary;
  const emuCores = emuBefore === undefined || emuAfter === undefined ? Number.NaN : (emuAfter - emuBefore) / result.e2eSeconds;
  process.stdout.write(
    JSON.stringify({
      aggregate,
      e2eQuotesPerSec: result.e2eQuotesPerSec,
      producerQuotesPerSec: result.producerQuotesPerSec,
      consumerQuotesPerSec: result.consumerQuotesPerSec,
      e2eSeconds: result.e2eSeconds,
      lines: s.midLines + s.errorLines,
      sent: s.sent,
      deadLetters: s.deadLetters,
      replayerCores: Math.round((result.cpuSeconds / result.e2eSeconds) * 100) / 100,
      emulatorCores: Math.round(emuCores * 100) / 100,
      replayerCpuSeconds: result.cpuSeconds,
      emulatorCpuSeconds: emuBefore === undefined || emuAfter === undefined ? null : Math.round((emuAfter - emuBefore) * 100) / 100,
      peakRssMb: result.peakRssMb,
    }) + '\n',
  );
} finally {
  await stack.stop();
  await rm(work, { recursive: true, force: true });
}
