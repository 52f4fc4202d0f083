/**
 * What the osls plugin `osls-local-plugin.js` (listed in serverless.yml) does for local runs:
 *
 * - `osls offline start`: every HTTP server the process creates from then on — serverless-offline's
 *   API (`/mode`) and its Lambda invoke endpoint — is put behind the local request guard
 *   (lib/http/local-request-guard.ts). serverless-offline answers every `Origin` with
 *   `Access-Control-Allow-Origin: <that origin>` and `-Credentials: true` and accepts any `Host`,
 *   and its hapi servers are out of a plugin's reach, so the guard goes in where they are made.
 * - `invoke local`: a relative OUTPUT_DIR or STATE_DIR (`-e OUTPUT_DIR=output`) means relative to
 *   where the user ran the command, not to serverless-esbuild's build folder, which becomes the
 *   working directory before the handler runs.
 */
import http from 'node:http';
import path from 'node:path';
import { PATH_VARIABLES } from '../lib/config.ts';
import { parseAllowedHosts } from '../lib/http/allowed-hosts.ts';
import { guardServer } from '../lib/http/local-request-guard.ts';

let guarding = false;

/** From now on, `http.createServer` makes guarded servers (ALLOWED_HOSTS adds host names). Idempotent. */
export function guardHttpServers(env: Record<string, string | undefined>): void {
  if (guarding) return;
  const policy = { allowedHosts: parseAllowedHosts(env.ALLOWED_HOSTS) };
  const createServer = http.createServer.bind(http) as (...args: unknown[]) => http.Server;
  // hapi calls `Http.createServer()` on the module object, so replacing the property reaches it.
  Object.assign(http, {
    createServer: (...args: unknown[]): http.Server => {
      const server = createServer(...args);
      guardServer(server, policy);
      return server;
    },
  });
  guarding = true;
}

/** Resolves the relative path variables in `env` against `cwd`; returns the names it changed. */
export function resolveRelativePaths(env: Record<string, string | undefined>, cwd: string): string[] {
  const changed: string[] = [];
  for (const name of PATH_VARIABLES) {
    const value = env[name];
    if (value === undefined || value.trim() === '' || path.isAbsolute(value)) continue;
    env[name] = path.resolve(cwd, value);
    changed.push(name);
  }
  return changed;
}
