/**
 * `--historical` arguments to input names: each argument is a file, or a glob pattern (quoted,
 * so the shell leaves it to us) that must match at least one file; an `s3://bucket/key` pattern
 * lists the bucket under the pattern's prefix (s3-listing.ts). Matches are sorted, so a
 * pattern means the same files in the same order on every run (the order breaks ties between
 * files, see docs/formats.md); a file named twice is read once, at its first place.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import { InputError } from '../errors.ts';
import { locationKey, type InputContext } from './input.ts';
import { listS3Pattern } from './s3-listing.ts';
import { isKeyPattern, isS3Url, parseS3Url } from './s3-url.ts';

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

export async function expandInputs(args: readonly string[], cwd = process.cwd(), context: InputContext = {}): Promise<string[]> {
  const names: string[] = [];
  const seen = new Set<string>();
  const add = (name: string): void => {
    const key = locationKey(name, cwd);
    if (seen.has(key)) return;
    seen.add(key);
    names.push(name);
  };
  for (const arg of args) {
    if (isS3Url(arg) && isKeyPattern(parseS3Url(arg).key)) {
      if (context.s3 === undefined) throw new InputError(`cannot list --historical ${arg}: no S3 client was configured for this replay`, { pattern: arg });
      for (const match of await listS3Pattern(arg, context.s3())) add(match);
      continue;
    }
    // A file whose name merely looks like a pattern (`quotes[1].csv`) is that file.
    if (SCHEME.test(arg) || !isDynamicPattern(arg) || existsSync(path.resolve(cwd, arg))) {
      add(arg);
      continue;
    }
    const matches = await glob(arg, { cwd, onlyFiles: true, expandDirectories: false, absolute: path.isAbsolute(arg) });
    if (matches.length === 0) throw new InputError(`no file matches --historical ${JSON.stringify(arg)}`, { pattern: arg });
    for (const match of matches.sort()) add(match);
  }
  return names;
}
