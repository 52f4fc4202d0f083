/**
 * Which endpoint each AWS service is called at (pure: no I/O). The AWS SDKs' own variables, in
 * the SDKs' own order: `AWS_ENDPOINT_URL_<SERVICE>` for one service, else `AWS_ENDPOINT_URL` for
 * all of them; a `--endpoint` flag names one endpoint for all and beats both. A service with no
 * endpoint is called where the target puts it: the embedded stack (Kinesis, DynamoDB) for the
 * local target, AWS's regional endpoint for the `aws` target (and for S3, which the embedded
 * stack does not have).
 */
import { ConfigError } from '../errors.ts';

/**
 * The services tick-replay calls: the data plane, CloudFormation (the deployed stack's outputs)
 * and API Gateway (an emulator's invoke URLs for the mode API).
 */
export type AwsService = 'kinesis' | 'dynamodb' | 's3' | 'cloudformation' | 'apigateway';

export const AWS_SERVICES: readonly AwsService[] = ['kinesis', 'dynamodb', 's3', 'cloudformation', 'apigateway'];

/** The SDKs' per-service variables (service id, upper case, spaces as `_`). */
export const SERVICE_ENDPOINT_VARIABLES: Readonly<Record<AwsService, string>> = Object.freeze({
  kinesis: 'AWS_ENDPOINT_URL_KINESIS',
  dynamodb: 'AWS_ENDPOINT_URL_DYNAMODB',
  s3: 'AWS_ENDPOINT_URL_S3',
  cloudformation: 'AWS_ENDPOINT_URL_CLOUDFORMATION',
  apigateway: 'AWS_ENDPOINT_URL_API_GATEWAY',
});

/** Per service, an AWS-compatible endpoint (no trailing slash), or undefined for the default. */
export type ServiceEndpoints = Readonly<Partial<Record<AwsService, string>>>;

type Env = Record<string, string | undefined>;

/** A validated endpoint URL without its trailing slashes; `name` is what the error names. */
export function parseEndpointUrl(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be a URL such as http://127.0.0.1:4566, got "${raw}"`, { name });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${name} must use http or https, got "${raw}"`, { name });
  }
  return raw.replace(/\/+$/, '');
}

function variable(env: Env, name: string): string | undefined {
  const value = (env[name] ?? '').trim();
  return value === '' ? undefined : parseEndpointUrl(name, value);
}

/** Each service's endpoint from the flag, else its own variable, else AWS_ENDPOINT_URL. */
export function resolveServiceEndpoints(env: Env, flag?: string): ServiceEndpoints {
  if (flag !== undefined && flag.trim() !== '') {
    const all = parseEndpointUrl('--endpoint', flag.trim());
    return Object.freeze(Object.fromEntries(AWS_SERVICES.map((service) => [service, all])));
  }
  const shared = variable(env, 'AWS_ENDPOINT_URL');
  const endpoints: Partial<Record<AwsService, string>> = {};
  for (const service of AWS_SERVICES) {
    const endpoint = variable(env, SERVICE_ENDPOINT_VARIABLES[service]) ?? shared;
    if (endpoint !== undefined) endpoints[service] = endpoint;
  }
  return Object.freeze(endpoints);
}

/**
 * The endpoints as environment variables for a child process (a consumer worker, the local mode
 * API): each service's own variable, so the child resolves exactly what this process did.
 */
export function endpointVariables(endpoints: ServiceEndpoints): Record<string, string> {
  const env: Record<string, string> = {};
  for (const service of AWS_SERVICES) {
    const endpoint = endpoints[service];
    if (endpoint !== undefined) env[SERVICE_ENDPOINT_VARIABLES[service]] = endpoint;
  }
  return env;
}

/** For messages: one URL when every service shares it, else `kinesis <url>, dynamodb <url>…`. */
export function describeEndpoints(endpoints: ServiceEndpoints, services: readonly AwsService[] = ['kinesis', 'dynamodb']): string {
  const urls = services.map((service) => endpoints[service] ?? 'AWS');
  if (urls.every((url) => url === urls[0])) return urls[0] === 'AWS' ? 'AWS (default endpoints)' : (urls[0] as string);
  return services.map((service, i) => `${service} ${urls[i] as string}`).join(', ');
}

const EXECUTE_API_URL = /^https:\/\/([a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?\/([^/]+)(\/.*)?$/;

/**
 * A deployed API's URL as an AWS-compatible emulator serves it (LocalStack, the embedded edge):
 * `https://<id>.execute-api.<region>.amazonaws.com/<stage>/mode` becomes
 * `<endpoint>/restapis/<id>/<stage>/_user_request_/mode`. Anything else is returned as it is.
 */
export function emulatorInvokeUrl(apiUrl: string, endpoint: string): string {
  const match = EXECUTE_API_URL.exec(apiUrl);
  if (match === null) return apiUrl;
  const [, id, stage, rest] = match;
  return `${endpoint.replace(/\/+$/, '')}/restapis/${id as string}/${stage as string}/_user_request_${rest ?? ''}`;
}

/** The region in an API Gateway invoke URL's host (`<id>.execute-api.<region>.amazonaws.com`), if it is one. */
export function executeApiRegion(url: string): string | undefined {
  return /^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(new URL(url).hostname)?.[1];
}

/**
 * Throws when `what` (an s3:// input, an S3 output) cannot be reached: the local target calls the
 * embedded stack, which has no S3, unless an S3 endpoint is configured. Refused rather than sent
 * to AWS's S3 by default, so that data meant for an emulator never lands in an AWS account.
 */
export function requireS3(target: 'local' | 'aws', endpoints: ServiceEndpoints, what: string): void {
  if (target !== 'local' || endpoints.s3 !== undefined) return;
  throw new ConfigError(
    `${what} needs S3, which the embedded AWS stack does not have: set ${SERVICE_ENDPOINT_VARIABLES.s3}=<url> (an S3-compatible endpoint such as MinIO, moto or LocalStack; or AWS_ENDPOINT_URL for every service), or use --aws (TICK_REPLAY_TARGET=aws) to use AWS's S3`,
    { name: SERVICE_ENDPOINT_VARIABLES.s3 },
  );
}
