/**
 * What the osls plugin `osls-local-plugin.js` (listed in serverless.yml) does:
 *
 * - Stage `local`: AWS_ENDPOINT_URL defaults to LocalStack (http://localhost:4566), and with no
 *   credentials in the environment the dummy pair emulators take is used, so `npx osls deploy
 *   --stage local` deploys to LocalStack, and `AWS_ENDPOINT_URL=<url> npx osls deploy --stage
 *   local` to any AWS-compatible endpoint (moto, …). osls 4 honours AWS_ENDPOINT_URL by itself.
 * - With an endpoint set (any stage): S3 is addressed by path (emulators do not serve buckets as
 *   host names), and `info` prints the emulator's invoke URLs.
 * - Every deploying command: MODE_RESERVED_CONCURRENCY must be `on` or `off` (serverless.yml
 *   looks it up in a table, where a typo would silently mean "off").
 * - `osls offline start`: every HTTP server the process creates from then on — serverless-offline's
 *   API (`/mode`) and its Lambda invoke endpoint — is put behind the local request guard
 *   (lib/http/local-request-guard.ts). serverless-offline answers every `Origin` with
 *   `Access-Control-Allow-Origin: <that origin>` and `-Credentials: true` and accepts any `Host`,
 *   and its hapi servers are out of a plugin's reach, so the guard goes in where they are made.
 * - `invoke local`: a relative OUTPUT_DIR or STATE_DIR (`-e OUTPUT_DIR=output`) means relative to
 *   where the user ran the command, not to serverless-esbuild's build folder, which becomes the
 *   working directory before the handler runs; and a function variable whose value is a
 *   CloudFormation expression (midPrice's OUTPUT_URI names the stack's bucket) is left out: osls
 *   cannot resolve it without a deployment, and locally the files are the output.
 */
import http from 'node:http';
import path from 'node:path';
import { hasCredentialsInEnv } from '../lib/aws/clients.ts';
import { emulatorInvokeUrl, parseEndpointUrl } from '../lib/aws/endpoints.ts';
import { PATH_VARIABLES } from '../lib/config.ts';
import { ConfigError } from '../lib/errors.ts';
import { parseAllowedHosts } from '../lib/http/allowed-hosts.ts';
import { guardServer } from '../lib/http/local-request-guard.ts';

/** The stage that deploys to an emulator. */
export const LOCAL_STAGE = 'local';
/** Where LocalStack listens when AWS_ENDPOINT_URL does not say otherwise. */
export const LOCALSTACK_ENDPOINT = 'http://localhost:4566';

type Env = Record<string, string | undefined>;

/** What of osls's AWS provider this plugin touches. */
export interface AwsProviderLike {
  getAwsSdkV3Config(options?: Record<string, unknown>): Promise<Record<string, unknown>>;
}

/**
 * Points osls at the emulator for the `local` stage (AWS_ENDPOINT_URL, credentials) and, with any
 * endpoint, makes its S3 clients use paths. Returns what it set, for the log and the tests.
 */
export function prepareAwsTarget(stage: string | undefined, env: Env, provider?: AwsProviderLike): Record<string, string> {
  checkDeployVariables(env);
  const set: Record<string, string> = {};
  if (stage === LOCAL_STAGE) {
    if ((env.AWS_ENDPOINT_URL ?? '').trim() === '') set.AWS_ENDPOINT_URL = LOCALSTACK_ENDPOINT;
    // An emulator takes any credentials; real ones must not go there by accident.
    if (!hasCredentialsInEnv(env)) Object.assign(set, { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });
  }
  Object.assign(env, set);
  const endpoint = (env.AWS_ENDPOINT_URL ?? '').trim();
  if (endpoint !== '') {
    parseEndpointUrl('AWS_ENDPOINT_URL', endpoint);
    if (provider !== undefined) {
      const config = provider.getAwsSdkV3Config.bind(provider);
      // Other clients ignore the option; S3 clients (deployment bucket) need it on emulators.
      provider.getAwsSdkV3Config = async (options) => ({ ...(await config(options)), forcePathStyle: true });
    }
  }
  return set;
}

/** serverless.yml's lookups that would turn a typo into a silent default. */
export function checkDeployVariables(env: Env): void {
  const reserved = (env.MODE_RESERVED_CONCURRENCY ?? '').trim();
  if (reserved !== '' && reserved !== 'on' && reserved !== 'off') {
    throw new ConfigError(`MODE_RESERVED_CONCURRENCY must be "on" or "off", got "${reserved}"`, { name: 'MODE_RESERVED_CONCURRENCY' });
  }
}

interface InfoPlugin {
  constructor: { name: string };
  gatheredData?: { info?: { endpoints?: string[] } };
}

/** serverless.yml's functions, as far as their `http` events go. */
type Functions = Record<string, { events?: Array<{ http?: string | { method: string; path: string } }> }>;

/** `METHOD /path` of every `http` event, as `info` lists them. */
export function httpRoutes(functions: Functions): string[] {
  const routes: string[] = [];
  for (const fn of Object.values(functions)) {
    for (const { http: event } of fn.events ?? []) {
      if (event === undefined) continue;
      const [method = '', route = ''] = typeof event === 'string' ? event.split(/\s+/) : [event.method, event.path];
      const trimmed = route.split('/').filter((part) => part !== '').join('/');
      routes.push(`${method.toUpperCase()} ${trimmed === '' ? '' : `/${trimmed}`}`);
    }
  }
  return routes;
}

/**
 * `info`'s endpoints as the emulator serves them, when AWS_ENDPOINT_URL names one: osls lists the
 * routes under an `https://` base only, so they are listed here (`POST - <emulator URL>/mode`).
 */
export function emulatorInfoEndpoints(plugins: readonly unknown[], functions: Functions, env: Env): void {
  const endpoint = (env.AWS_ENDPOINT_URL ?? '').trim();
  if (endpoint === '') return;
  const info = (plugins as InfoPlugin[]).find((plugin) => plugin.constructor.name === 'AwsInfo')?.gatheredData?.info;
  if (info?.endpoints === undefined) return;
  info.endpoints = info.endpoints.flatMap((url) => {
    const local = emulatorInvokeUrl(url, endpoint);
    if (local === url) return [url];
    return httpRoutes(functions).map((route) => {
      const [method, path] = route.split(' ');
      return `${method as string} - ${local}${path ?? ''}`;
    });
  });
}

let guarding = false;

/** From now on, `http.createServer` makes guarded servers (ALLOWED_HOSTS adds host names). Idempotent. */
export function guardHttpServers(env: Env): void {
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

/** Functions as far as their `environment` goes. */
type FunctionEnvironments = Record<string, { environment?: Record<string, unknown> }>;

/** Removes the function variables whose value is a CloudFormation expression; returns `function.NAME` of each. */
export function dropDeployedOnlyVariables(functions: FunctionEnvironments): string[] {
  const dropped: string[] = [];
  for (const [name, fn] of Object.entries(functions)) {
    for (const [variable, value] of Object.entries(fn.environment ?? {})) {
      if (typeof value !== 'object' || value === null) continue;
      delete fn.environment?.[variable];
      dropped.push(`${name}.${variable}`);
    }
  }
  return dropped;
}

/** Resolves the relative path variables in `env` against `cwd`; returns the names it changed. */
export function resolveRelativePaths(env: Env, cwd: string): string[] {
  const changed: string[] = [];
  for (const name of PATH_VARIABLES) {
    const value = env[name];
    if (value === undefined || value.trim() === '' || path.isAbsolute(value)) continue;
    env[name] = path.resolve(cwd, value);
    changed.push(name);
  }
  return changed;
}
