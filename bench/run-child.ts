/**
 * Runs a bench script (a file of this directory) in a fresh Node process and resolves to its last
 * stdout line, parsed as JSON: how the benchmark isolates each measurement in its own process.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export function runChild<T>(script: string, args: string[], nodeFlags: string[] = []): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', path.join(HERE, script), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      // Same as bin/tick-replay.js: no SDK "Node 22 soon" notice in the output.
      env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...process.env, LOG_LEVEL: 'WARN' },
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (out += chunk));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) reject(new Error(`${script} exited with ${code ?? signal}`));
      else resolve(JSON.parse(last) as T);
    });
  });
}
