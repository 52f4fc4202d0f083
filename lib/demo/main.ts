/**
 * `npm run demo` (writes sample-output/): see run-demo.ts.
 *
 *   node --import tsx lib/demo/main.ts [--out DIR] [--switch-after N]
 */
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { TickReplayError } from '../errors.ts';
import { createLogger, isLogLevel } from '../logging/logger.ts';
import { runDemo } from './run-demo.ts';

// Node 20 on purpose (README "Limitations"), as bin/tick-replay.js: no SDK reminder about Node 22.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

function countOption(value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError(`must be a positive integer, got "${value}"`);
  return Number(value);
}

const program = new Command('demo')
  .description('historical -> live -> historical on the sample files through the real mode API; writes the output files and a summary')
  .option('--historical <file>', 'historical CSV', 'data/historical_sample.csv')
  .option('--live-file <file>', 'live CSV streamed once by the feed simulator', 'data/live_sample.csv')
  .option('--out <dir>', 'output directory (its files are replaced)', 'sample-output')
  .option('--switch-after <n>', 'historical quotes before the switch to live', countOption, 2000)
  .action(async (flags: { historical: string; liveFile: string; out: string; switchAfter: number }) => {
    // The demo's default is WARN, so resolveConfig's INFO default does not apply; its order does.
    const level = (process.env.POWERTOOLS_LOG_LEVEL?.trim() || process.env.LOG_LEVEL?.trim() || 'WARN').toUpperCase();
    const logger = createLogger({ service: 'demo', level: isLogLevel(level) ? level : 'WARN' });
    const summary = await runDemo({
      historicalFile: flags.historical,
      liveFile: flags.liveFile,
      outputDir: path.resolve(flags.out),
      switchAfter: flags.switchAfter,
      logger,
      onStep: (line) => process.stdout.write(`demo: ${line}\n`),
    });
    const out = path.relative(process.cwd(), path.resolve(flags.out)) || '.';
    process.stdout.write(
      [
        `tick-replay demo: ${flags.historical} + ${flags.liveFile} -> ${out}/`,
        `  historical        ${summary.historicalBefore} quotes, then POST /mode live`,
        `  live              ${summary.live} quotes from the feed, then POST /mode historical`,
        `  historical        ${summary.historicalAfter} more quotes, resumed from the checkpoint (${summary.historicalTotal} in the file)`,
        `  mid_prices.log    ${summary.midLines} lines`,
        `  errors.log        ${summary.errorLines} lines`,
        `  dead_letters.log  ${summary.deadLetters} lines`,
        `  time              ${summary.seconds.toFixed(1)} s`,
        '',
      ].join('\n'),
    );
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`tick-replay demo: error: ${error instanceof TickReplayError ? error.message : ((error as Error).stack ?? String(error))}\n`);
  process.exitCode = error instanceof TickReplayError ? 2 : 1;
}
