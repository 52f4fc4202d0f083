/** The lines of an output file (no trailing empty line). */
import { readFile } from 'node:fs/promises';

export async function readLines(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
}
