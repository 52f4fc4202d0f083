/**
 * Which CSV format a file is in, decided by its header (never by its name): a tardis.dev quotes
 * or book_ticker export, a Databento MBP-1 / BBO / TBBO export, or the generic quotes CSV with
 * header aliases (columns.ts). Each format turns one record into a RowResult; adding a format is
 * one more `RowFormat` and one more line in `resolveFormat` (CONTRIBUTING.md).
 */
import { resolveColumns } from './columns.ts';
import { databentoFormat, isDatabentoHeader } from './databento-format.ts';
import type { RowResult } from './row.ts';
import { csvRowParser } from './row.ts';
import { isTardisHeader, tardisFormat } from './tardis-format.ts';

export type FormatName = 'csv' | 'tardis' | 'databento';

export interface RowFormat {
  readonly name: FormatName;
  /** Validates one data record; `line` is the file line where it starts. Never throws. */
  parse(record: string[], line: number): RowResult;
}

/** Header cells as looked up: trimmed, lower case, a leading BOM dropped. */
export function normaliseHeader(header: readonly string[]): string[] {
  return header.map((cell, i) => {
    let name = (cell ?? '').trim();
    if (i === 0 && name.charCodeAt(0) === 0xfeff) name = name.slice(1).trim();
    return name.toLowerCase();
  });
}

/**
 * The format of a file with this header. Throws CsvColumnsError naming the file when a format is
 * recognised but lacks a column it needs, or when no format's required columns are there.
 */
export function resolveFormat(header: string[], file: string): RowFormat {
  const names = normaliseHeader(header);
  if (isTardisHeader(names)) return tardisFormat(names, file);
  if (isDatabentoHeader(names)) return databentoFormat(names, file);
  const columns = resolveColumns(header, file);
  return { name: 'csv', parse: csvRowParser(columns) };
}
