/**
 * `tick-replay up` as a child process in its own process group (so a test can kill the whole of
 * it), on free ports, against a fresh embedded stack; the URLs it prints, parsed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { embeddedChildEnv } from './aws-env.ts';

export interface UpUrls {
  apiUrl: string;
  dashboardUrl: string;
  /** The embedded stack's edge endpoint. */
  endpointUrl: string;
}

export interface UpProcess {
  child: ChildProcess;
  /** Resolves with the printed URLs once up is ready; rejects if it exits first. */
  ready: Promise<UpUrls>;
  stderr: () => string;
  exited: Promise<number | null>;
  /** SIGKILL to the whole process group, if still running. */
  kill(): void;
}

export interface UpProcessOptions {
  outDir: string;
  stateDir: string;
  speed: string;
  /** Default: the sample file. */
  historical?: string;
  /** Default: the live sample; null: no feed simulator (give `--live-url` in extraArgs, or nothing). */
  liveFile?: string | null;
  extraArgs?: string[];
  /** Added to the environment. */
  env?: Record<string, string>;
}

export function startUpProcess(options: UpProcessOptions): UpProcess {
  const liveFile = options.liveFile === undefined ? 'data/live_sample.csv' : options.liveFile;
  const child = spawn(
    process.execPath,
    [
      'bin/tick-replay.js', 'up',
      '--historical', options.historical ?? 'data/historical_sample.csv',
      ...(liveFile === null ? [] : ['--live-file', liveFile]),
      '--speed', options.speed, '--out', options.outDir, '--state-dir', options.stateDir,
      '--edge-port', '0', '--api-port', '0', '--live-port', '0', '--dashboard-port', '0',
      ...(options.extraArgs ?? []),
    ],
    { env: embeddedChildEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const ready = new Promise<UpUrls>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      const api = /mode API\s+(http:\/\/\S+)\/mode/.exec(stdout)?.[1];
      const dashboard = /dashboard\s+(http:\/\/[^\s/]+)\//.exec(stdout)?.[1];
      const endpoint = /AWS endpoint\s+(http:\/\/\S+)/.exec(stdout)?.[1];
      if (api !== undefined && dashboard !== undefined && endpoint !== undefined) resolve({ apiUrl: api, dashboardUrl: dashboard, endpointUrl: endpoint });
    });
    child.on('close', () => reject(new Error(`up exited before it was ready:\n${stderr.slice(-3000)}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    ready,
    stderr: () => stderr,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) process.kill(-(child.pid ?? 0), 'SIGKILL');
    },
  };
}

/** The JSON log lines `up` wrote on stderr so far. */
export function upLogs(up: UpProcess): Array<{ level: string; message: string; [key: string]: unknown }> {
  return up
    .stderr()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: string; message: string });
}
