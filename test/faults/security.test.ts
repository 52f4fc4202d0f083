/**
 * Security basics: output files are never written through a symbolic link, configured paths are
 * resolved, and credentials never reach logs or files. The local servers (edge, mode API,
 * dashboard, live feed) are covered by local-control-plane.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { lstat, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { resolveConfig } from '../../lib/config.ts';
import { OutputError } from '../../lib/errors.ts';
import { appendBatch, MID_PRICES_FILE, prepareOutputDir } from '../../lib/output/log-files.ts';
import { useTempDir } from '../support/temp-dir.ts';
import { embeddedChildEnv } from '../support/aws-env.ts';

describe('security basics', () => {
  const tmp = useTempDir();

  it('refuses to write output through a symbolic link planted in the output directory', async () => {
    const out = tmp.join('out-link');
    await prepareOutputDir(out, { truncate: true });
    const outside = tmp.join('outside.txt');
    await writeFile(outside, 'precious\n');
    const mid = path.join(out, MID_PRICES_FILE);
    await rm(mid);
    await symlink(outside, mid);

    await assert.rejects(prepareOutputDir(out, { truncate: true }), (e: unknown) => e instanceof OutputError && /is a symbolic link/.test(e.message));
    await assert.rejects(
      appendBatch(out, { midLines: ['2025-01-01 00:00:00.000, 1'], errorLines: [], deadLetterLines: [] }),
      (e: unknown) => e instanceof OutputError && /is a symbolic link/.test(e.message),
    );
    assert.equal(await readFile(outside, 'utf8'), 'precious\n', 'the link target was neither truncated nor appended to');
    assert.ok((await lstat(mid)).isSymbolicLink());
  });

  it('resolves OUTPUT_DIR and STATE_DIR to absolute, normalised paths', () => {
    const config = resolveConfig({ OUTPUT_DIR: 'a/../b/./out', STATE_DIR: '../state' }, {}, '/work/project');
    assert.equal(config.outputDir, '/work/project/b/out');
    assert.equal(config.stateDir, '/work/state');
  });

  it('never writes credentials to logs or files (canary in the AWS credential variables, DEBUG logs)', async () => {
    const canary = `CANARY${Date.now().toString(36)}SECRET`;
    const file = tmp.join('canary.csv');
    await writeFile(file, 'timestamp,ticker,bid,ask,latency\n2025-01-01 00:00:00.001,AAA,0.1,0.2,5\n2025-01-01 00:00:00.002,BBB,1,2,50\n');
    const out = tmp.join('out-canary');
    const state = tmp.join('state-canary');
    const child = spawn(process.execPath, ['bin/tick-replay.js', 'run', '--historical', file, '--out', out, '--state-dir', state, '--edge-port', '0', '--log-level', 'DEBUG'], {
      env: embeddedChildEnv({ AWS_ACCESS_KEY_ID: `AKIA${canary}`, AWS_SECRET_ACCESS_KEY: canary, AWS_SESSION_TOKEN: `token-${canary}` }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let captured = '';
    child.stdout.on('data', (d: Buffer) => (captured += d.toString()));
    child.stderr.on('data', (d: Buffer) => (captured += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    assert.equal(code, 0, captured.slice(-2000));
    assert.ok(captured.includes('"level":"DEBUG"'), 'DEBUG logs were on');
    assert.equal(await readFile(path.join(out, MID_PRICES_FILE), 'utf8'), '2025-01-01 00:00:00.001, 0.15\n', 'the run worked');
    assert.ok(!captured.includes(canary), 'no credential in stdout/stderr');
    const files = [...(await walk(out)), ...(await walk(state))];
    assert.ok(files.length > 3, 'output and state files were written');
    for (const f of files) assert.ok(!(await readFile(f)).includes(canary), `no credential in ${f}`);
  });
});

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full)));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}
