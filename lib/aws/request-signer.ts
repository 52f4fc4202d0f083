/**
 * AWS Signature Version 4 for plain HTTP requests (the mode API behind API Gateway's `aws_iam`
 * authorizer, service `execute-api`), with the SDK's own signer, hash and default credential
 * chain: the same signature the SDK clients compute, from the same credentials they would use.
 */
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider, HttpRequest } from '@smithy/types';

export interface SignableRequest {
  method: string;
  url: string;
  /** Lower-case names; `host` is added from the URL. */
  headers: Record<string, string>;
  body?: string;
}

export interface SigningOptions {
  region: string;
  /** Default `execute-api` (API Gateway invoke URLs). */
  service?: string;
  /** Default: the SDK's default chain (env, profile, SSO, web identity, container, instance). */
  credentials?: AwsCredentialIdentityProvider;
  /** The signing time (default now); tests fix it to compare with another implementation. */
  now?: () => Date;
}

/**
 * The headers to send with `request`, signature included (`authorization`, `x-amz-date`, and
 * `x-amz-security-token` for temporary credentials). `host` is signed but left out of the result:
 * fetch sets it from the URL, to the same value.
 */
export async function signRequest(request: SignableRequest, options: SigningOptions): Promise<Record<string, string>> {
  const url = new URL(request.url);
  const signer = new SignatureV4({
    service: options.service ?? 'execute-api',
    region: options.region,
    credentials: options.credentials ?? defaultProvider(),
    sha256: Sha256,
  });
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(key);
    query[key] = values.length === 1 ? (values[0] as string) : values;
  }
  const unsigned: HttpRequest = {
    method: request.method,
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port !== '' ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query,
    headers: { ...request.headers, host: url.host },
    ...(request.body !== undefined ? { body: request.body } : {}),
  };
  const signed = await signer.sign(unsigned, options.now === undefined ? {} : { signingDate: options.now() });
  const { host: _host, ...headers } = signed.headers;
  return headers;
}
