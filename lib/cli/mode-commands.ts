/**
 * `tick-replay mode <historical|live> [--from-start]` and `tick-replay status`: thin clients of
 * the mode API (`POST /mode`, `GET /mode`) that `tick-replay up` serves locally and API Gateway
 * serves on AWS. They print the API's JSON answer on stdout; an error answer or an unreachable API
 * is one line on stderr (through main's TickReplayError handling) and a non-zero exit.
 */
import { Argument, type Command } from 'commander';
import { TickReplayError } from '../errors.ts';

/** The mode API answered with an error, answered nonsense, or could not be reached. */
export class ModeApiError extends TickReplayError {}

export const DEFAULT_MODE_API_URL = 'http://127.0.0.1:3000';
/** Per request; the API answers in milliseconds when it is up. */
const REQUEST_TIMEOUT_MS = 15_000;

interface ApiFlags {
  api?: string;
}

/** The API's base URL (no trailing slash, no `/mode`) from the flag, MODE_API_URL or the default. */
export function modeApiBaseUrl(flag: string | undefined, env: Record<string, string | undefined> = process.env): string {
  const raw = (flag ?? env.MODE_API_URL ?? '').trim() || DEFAULT_MODE_API_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ModeApiError(`--api (or MODE_API_URL) must be a URL such as ${DEFAULT_MODE_API_URL}, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ModeApiError(`--api (or MODE_API_URL) must use http or https, got "${raw}"`);
  }
  // Accept the route itself too (…/mode), as printed by `tick-replay up`.
  return `${url.origin}${url.pathname.replace(/\/+$/, '').replace(/\/mode$/, '')}`;
}

function oneLine(text: string, max = 200): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}

/** Sends one request to `<base>/mode`; returns the parsed JSON of a 2xx answer. */
export async function callModeApi(base: string, init: { method: 'GET' | 'POST'; body?: unknown }): Promise<unknown> {
  const url = `${base}/mode`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: init.method,
      headers: init.body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
      throw new ModeApiError(`mode API at ${url} did not answer within ${REQUEST_TIMEOUT_MS / 1000} s`, { url }, { cause: error });
    }
    throw new ModeApiError(`mode API not reachable at ${url} (is "tick-replay up" running?)`, { url }, { cause: error });
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const detail =
      typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string'
        ? `${'error' in body && typeof body.error === 'string' ? `${body.error}: ` : ''}${body.message}`
        : text.trim() === ''
          ? response.statusText
          : text;
    throw new ModeApiError(`mode API answered ${response.status}: ${oneLine(detail)}`, { url, status: response.status });
  }
  if (body === undefined) throw new ModeApiError(`mode API answered ${response.status} with a body that is not JSON: ${oneLine(text)}`, { url });
  return body;
}

export interface ModeCommandsIo {
  /** Where results go (default stdout). */
  write?: (text: string) => void;
  /** Where MODE_API_URL is read (default process.env). */
  env?: Record<string, string | undefined>;
}

export function registerModeCommands(program: Command, io: ModeCommandsIo = {}): void {
  const write = io.write ?? ((text: string) => void process.stdout.write(text));
  const env = io.env ?? process.env;
  const print = (body: unknown): void => write(JSON.stringify(body) + '\n');

  program
    .command('mode')
    .description('switch the running replay between historical and live quotes (POST /mode)')
    .addArgument(new Argument('<mode>', 'the mode to switch to').choices(['historical', 'live']))
    .option('--from-start', 'historical only: replay the file again from its first quote instead of resuming')
    .option('--api <url>', `mode API base URL (env MODE_API_URL, default ${DEFAULT_MODE_API_URL})`)
    .action(async (mode: 'historical' | 'live', flags: ApiFlags & { fromStart?: boolean }) => {
      if (flags.fromStart === true && mode !== 'historical') {
        throw new ModeApiError('--from-start is only allowed with "historical" (live always starts now)');
      }
      const base = modeApiBaseUrl(flags.api, env);
      print(await callModeApi(base, { method: 'POST', body: flags.fromStart === true ? { mode, from: 'start' } : { mode } }));
    });

  program
    .command('status')
    .description('show the requested mode and what the replayer is doing (GET /mode)')
    .option('--api <url>', `mode API base URL (env MODE_API_URL, default ${DEFAULT_MODE_API_URL})`)
    .action(async (flags: ApiFlags) => {
      print(await callModeApi(modeApiBaseUrl(flags.api, env), { method: 'GET' }));
    });
}
