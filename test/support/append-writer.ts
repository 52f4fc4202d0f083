/**
 * A separate writer process for the append-lock tests:
 *
 *   node --import tsx test/support/append-writer.ts <dir> <writer> <batches> <lines>
 *     appends <batches> batches of <lines> mid lines (and one error line each) with appendBatch
 *   node --import tsx test/support/append-writer.ts <dir> <writer> die|die-journaled
 *     takes the lock, appends half a batch ending mid-line (die-journaled: after writing the
 *     batch's own journal), then SIGKILLs itself
 */
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { AppendLock } from '../../lib/output/append-lock.ts';
import { appendBatch, ERRORS_FILE, MID_PRICES_FILE, OUTPUT_FILES } from '../../lib/output/log-files.ts';

const [dir = '', writer = '', batchesArg = '', linesArg = '0'] = process.argv.slice(2);

/** A line that says who wrote it and where it belongs, long enough that a torn one is visible. */
export const lineFor = (w: string, batch: number, line: number): string => `${w} b${batch} l${line} ${'x'.repeat(40)} end`;

if (batchesArg === 'die' || batchesArg === 'die-journaled') {
  const files = OUTPUT_FILES.map((name) => path.join(dir, name));
  const file = path.join(dir, MID_PRICES_FILE);
  await new AppendLock(dir).withLock(files, async ({ sizes, commit }) => {
    const batch = `${lineFor(writer, 0, 0)}\n${lineFor(writer, 0, 1)}\n`;
    if (batchesArg === 'die-journaled') await commit(new Map([[file, (sizes.get(file) ?? 0) + Buffer.byteLength(batch)]]));
    await appendFile(file, batch.slice(0, batch.length - 20));
    process.kill(process.pid, 'SIGKILL');
  });
} else {
  for (let b = 0; b < Number(batchesArg); b++) {
    await appendBatch(dir, {
      midLines: Array.from({ length: Number(linesArg) }, (_, l) => lineFor(writer, b, l)),
      errorLines: [`${writer} error ${b}`],
      deadLetterLines: [],
    });
  }
  process.stdout.write(`${ERRORS_FILE} done\n`);
}
