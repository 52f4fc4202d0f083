/**
 * `tick-replay mode <historical|live> [--from-start]` and `tick-replay status`: thin clients of
 * the mode API (`POST /mode`, `GET /mode`) that `tick-replay up` serves locally and API Gateway
 * serves on AWS. They print the API's JSON answer on stdout; an error answer or an unreachable API
 * is one line on stderr (through main's TickReplayError handling) and a non-zero exit.
 *
 * On AWS the routes take signed requests only (`aws_iam`): with `--aws` (or an API Gateway URL)
 * the requests are signed with SigV4 from the SDK's default credential chain, and without `--api`
 * the URL is the deployed stack's `ModeApiUrl` output (mode-api-location.ts).
 */
import { Argument, type Command } from 'commander';
import { signRequest } from '../aws/request-signer.ts';
import { DEFAULT_MODE_API_URL, locateModeApi, ModeApiError, type ModeApiLocation, type ModeApiSources } from './mode-api-location.ts';

export { DEFAULT_MODE_API_URL, ModeApiError, modeApiBaseUrl } from './mode-api-location.ts';

/** Per request; the API answers in milliseconds when it is up. */
const REQUEST_TIMEOUT_MS = 15_000;

interface ApiFlags {
  api?: string;
  aws?: boolean;
  stack?: string;
  stage?: string;
}

function oneLine(text: string, max = 200): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}

/** The headers of one request, signed when the API wants SigV4; a missing credential is a one-line error. */
async function requestHeaders(location: ModeApiLocation, url: string, method: string, body: string | undefined, sources: ModeApiSources): Promise<Record<string, string>> {
  const headers: Record<string, string> = body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' };
  if (location.signing === undefined) return headers;
  try {
    return await signRequest({ method, url, headers, body }, { region: location.signing.region, credentials: sources.credentials, now: sources.now });
  } catch (error) {
    throw new ModeApiError(
      `cannot sign the request to ${url}: ${(error as Error).message} (the SDK default chain: AWS_PROFILE, AWS_ACCESS_KEY_ID, ~/.aws, SSO, a container or instance role)`,
      { url },
      { cause: error },
    );
  }
}

/** Sends one request to `<base>/mode` (signed when `location` says so); returns the parsed JSON of a 2xx answer. */
export async function callModeApi(location: ModeApiLocation, init: { method: 'GET' | 'POST'; body?: unknown }, sources: ModeApiSources = {}): Promise<unknown> {
  const url = `${location.base}/mode`;
  const payload = init.body === undefined ? undefined : JSON.stringify(init.body);
  const headers = await requestHeaders(location, url, init.method, payload, sources);
  let response: Response;
  try {
    response = await fetch(url, { method: init.method, headers, body: payload, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (error) {
    if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
      throw new ModeApiError(`mode API at ${url} did not answer within ${REQUEST_TIMEOUT_MS / 1000} s`, { url }, { cause: error });
    }
    const hint = location.signing === undefined ? 'is "tick-replay up" running?' : 'is the stack deployed?';
    throw new ModeApiError(`mode API not reachable at ${url} (${hint})`, { url }, { cause: error });
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
    // API Gateway's own 403s (unsigned, bad signature, no execute-api:Invoke) say little by themselves.
    const hint =
      response.status === 403 && location.signing !== undefined
        ? ' (signed with the SDK default credentials: may they call execute-api:Invoke on this API?)'
        : response.status === 403 && location.signing === undefined && /amazonaws\.com/.test(url)
          ? ' (the deployed API takes signed requests only: add --aws)'
          : '';
    throw new ModeApiError(`mode API answered ${response.status}: ${oneLine(detail)}${hint}`, { url, status: response.status });
  }
  if (body === undefined) throw new ModeApiError(`mode API answered ${response.status} with a body that is not JSON: ${oneLine(text)}`, { url });
  return body;
}

export interface ModeCommandsIo {
  /** Where results go (default stdout). */
  write?: (text: string) => void;
  /** Where MODE_API_URL, TICK_REPLAY_TARGET… are read (default process.env). */
  env?: Record<string, string | undefined>;
  /** Credentials, the stack's outputs, the clock (default: the SDK's; tests give their own). */
  sources?: ModeApiSources;
}

const API_HELP = `mode API base URL (env MODE_API_URL, default ${DEFAULT_MODE_API_URL}; with --aws: the stack's ModeApiUrl output)`;

function addApiOptions(command: Command): Command {
  return command
    .option('--api <url>', API_HELP)
    .option('--aws', 'the deployed API: sign with SigV4 from the SDK default credentials (env TICK_REPLAY_TARGET=aws)')
    .option('--stage <stage>', 'with --aws: the stack of this serverless stage, tick-replay-<stage> (env TICK_REPLAY_STAGE, default dev)')
    .option('--stack <name>', 'with --aws: the CloudFormation stack whose ModeApiUrl output to use (env TICK_REPLAY_STACK)');
}

export function registerModeCommands(program: Command, io: ModeCommandsIo = {}): void {
  const write = io.write ?? ((text: string) => void process.stdout.write(text));
  const env = io.env ?? process.env;
  const sources = io.sources ?? {};
  const print = (body: unknown): void => write(JSON.stringify(body) + '\n');

  addApiOptions(
    program
      .command('mode')
      .description('switch the running replay between historical and live quotes (POST /mode)')
      .addArgument(new Argument('<mode>', 'the mode to switch to').choices(['historical', 'live']))
      .option('--from-start', 'historical only: replay the file again from its first quote instead of resuming'),
  ).action(async (mode: 'historical' | 'live', flags: ApiFlags & { fromStart?: boolean }) => {
    if (flags.fromStart === true && mode !== 'historical') {
      throw new ModeApiError('--from-start is only allowed with "historical" (live always starts now)');
    }
    const location = await locateModeApi(flags, env, sources);
    print(await callModeApi(location, { method: 'POST', body: flags.fromStart === true ? { mode, from: 'start' } : { mode } }, sources));
  });

  addApiOptions(program.command('status').description('show the requested mode and what the replayer is doing (GET /mode)')).action(async (flags: ApiFlags) => {
    print(await callModeApi(await locateModeApi(flags, env, sources), { method: 'GET' }, sources));
  });
}
