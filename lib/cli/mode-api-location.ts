/**
 * Where the mode clients (`tick-replay mode|status`) send their requests, and whether to sign them:
 *
 * - `--api URL` or MODE_API_URL: that URL; signed when it is an API Gateway invoke URL
 *   (`*.execute-api.<region>.amazonaws.com`) or the target is `aws`.
 * - `--aws` (TICK_REPLAY_TARGET=aws) without a URL: the deployed stack's `ModeApiUrl` output
 *   (`--stack`, else `tick-replay-<--stage>`), signed. With an API Gateway emulator endpoint
 *   (AWS_ENDPOINT_URL_API_GATEWAY or AWS_ENDPOINT_URL: LocalStack) its invoke URL there instead.
 * - otherwise the local `tick-replay up` at http://127.0.0.1:3000, unsigned.
 */
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { cloudFormationClient, readStackOutputs, requiredOutput, resolveRegion, STACK_OUTPUTS } from '../aws/deployment.ts';
import { emulatorInvokeUrl, executeApiRegion } from '../aws/endpoints.ts';
import { resolveConfig } from '../config.ts';
import { TickReplayError } from '../errors.ts';

/** The mode API answered with an error, answered nonsense, or could not be reached. */
export class ModeApiError extends TickReplayError {}

export const DEFAULT_MODE_API_URL = 'http://127.0.0.1:3000';

export interface ModeApiLocation {
  /** No trailing slash, no `/mode`. */
  base: string;
  /** Present when requests are signed (SigV4, service execute-api). */
  signing?: { region: string };
}

/** What the clients read besides the environment (tests pass their own). */
export interface ModeApiSources {
  credentials?: AwsCredentialIdentityProvider;
  cloudformation?: Pick<CloudFormationClient, 'send'>;
  loadRegion?: () => Promise<string | undefined>;
  now?: () => Date;
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

export async function locateModeApi(
  flags: { api?: string; aws?: boolean; stack?: string; stage?: string },
  env: Record<string, string | undefined>,
  sources: ModeApiSources = {},
): Promise<ModeApiLocation> {
  const config = resolveConfig(env, { aws: flags.aws, stack: flags.stack, stage: flags.stage });
  let given = (flags.api ?? env.MODE_API_URL ?? '').trim() || undefined;
  // The API's own region (from its URL) signs, before an emulator's URL replaces it.
  let urlRegion = given === undefined ? undefined : executeApiRegion(modeApiBaseUrl(given, {}));
  if (given === undefined && config.target === 'aws') {
    const region = await resolveRegion(config, sources);
    const owned = sources.cloudformation === undefined ? cloudFormationClient({ region, endpoints: config.endpoints }) : undefined;
    try {
      const outputs = await readStackOutputs(sources.cloudformation ?? (owned as CloudFormationClient), config.stackName, region);
      given = requiredOutput(outputs, STACK_OUTPUTS.modeApiUrl, config.stackName, 'MODE_API_URL (or give --api)');
      urlRegion = executeApiRegion(modeApiBaseUrl(given, {}));
    } finally {
      owned?.destroy();
    }
    const emulator = config.endpoints.apigateway;
    if (emulator !== undefined) given = emulatorInvokeUrl(given, emulator);
  }
  const base = modeApiBaseUrl(given, {});
  if (config.target !== 'aws' && urlRegion === undefined) return { base };
  return { base, signing: { region: urlRegion ?? (await resolveRegion(config, sources)) } };
}
