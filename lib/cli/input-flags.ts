/**
 * The flags that choose what a replay reads: `--historical` (repeatable, globs), `--from` /
 * `--to` (a window on arrival time), `--tickers` and `--max-disorder`. Parsed and checked once,
 * here, into input names and a Selection.
 */
import { Option, type Command } from 'commander';
import { ConfigError } from '../errors.ts';
import { expandInputs } from '../input/expand.ts';
import type { InputContext } from '../input/input.ts';
import { parseTimestamp } from '../quotes/timestamp.ts';
import { DEFAULT_MAX_DISORDER_US } from '../replay/disorder-gate.ts';
import { checkSelection, type Selection } from '../replay/selection.ts';

export interface InputFlags {
  historical: string[];
  from?: string;
  to?: string;
  tickers?: string;
  maxDisorder?: string;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function addInputOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--historical <file>', 'CSV file or s3://bucket/key of historical quotes (generic, tardis.dev or Databento; gzip or zstd); repeat it or give a quoted glob to replay several files merged').argParser(collect),
    )
    .option('--from <time>', 'replay only quotes arriving at or after this time (ISO 8601 or epoch)')
    .option('--to <time>', 'replay only quotes arriving before this time (ISO 8601 or epoch)')
    .option('--tickers <list>', 'replay only these tickers (comma-separated, as they appear in the output: tardis tickers are exchange:symbol)')
    .option('--max-disorder <seconds>', `reject rows whose timestamp is further behind the rows before them (default ${DEFAULT_MAX_DISORDER_US / 1e6})`);
}

function timeFlag(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const parsed = parseTimestamp(text);
  if (typeof parsed === 'string') throw new ConfigError(`${name}: ${parsed}`, { name });
  return parsed.micros;
}

/** The selection the flags describe; ConfigError naming the flag when one is wrong. */
export function selectionFrom(flags: InputFlags): Selection {
  let maxDisorderUs = DEFAULT_MAX_DISORDER_US;
  if (flags.maxDisorder !== undefined) {
    const seconds = /^\d+(\.\d{1,6})?$/.test(flags.maxDisorder.trim()) ? Number(flags.maxDisorder) : Number.NaN;
    if (!(seconds >= 0 && seconds <= 86_400)) {
      throw new ConfigError(`--max-disorder must be a number of seconds from 0 to 86400, got "${flags.maxDisorder}"`, { name: '--max-disorder' });
    }
    maxDisorderUs = Math.round(seconds * 1e6);
  }
  const selection: Selection = { maxDisorderUs };
  const fromUs = timeFlag('--from', flags.from);
  const toUs = timeFlag('--to', flags.to);
  if (fromUs !== undefined) selection.fromUs = fromUs;
  if (toUs !== undefined) selection.toUs = toUs;
  if (flags.tickers !== undefined) {
    selection.tickers = new Set(
      flags.tickers
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t.length > 0),
    );
  }
  return checkSelection(selection);
}

/** The input names (globs expanded, duplicates dropped); ConfigError when none is given. */
export async function inputNames(flags: InputFlags, context?: InputContext): Promise<string[]> {
  if (flags.historical === undefined || flags.historical.length === 0) throw new ConfigError("required option '--historical <file>' not specified", { name: '--historical' });
  return expandInputs(flags.historical, process.cwd(), context);
}
