/**
 * The one factory for AWS SDK clients. Same code for the embedded stack, LocalStack, moto and
 * real AWS: only the endpoints and the credentials differ, per service.
 */
import http from 'node:http';
import https from 'node:https';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { AwsService, ServiceEndpoints } from './endpoints.ts';
import { KinesisJsonProtocol } from './kinesis-json-codec.ts';

export interface AwsClients {
  kinesis: KinesisClient;
  dynamodb: DynamoDBClient;
  /** Created on first use (only the S3 input and output need it). */
  readonly s3: S3Client;
  /** Closes the clients' keep-alive sockets; the clients are unusable afterwards. */
  destroy(): void;
}

export interface AwsClientsOptions {
  /** One AWS-compatible endpoint for every service (an embedded stack a test or the bench started). */
  endpointUrl?: string;
  /** Per service (Config.endpoints); a service without one is called at AWS's regional endpoint. */
  endpoints?: ServiceEndpoints;
  /**
   * `aws`: the SDK's default credential chain for every client, even one with an endpoint.
   * `local` (default): a client with an endpoint gets the dummy pair emulators expect unless the
   * environment has credentials, so real ones never go to an emulator by accident.
   */
  target?: 'local' | 'aws';
  region: string;
  /** Concurrent sockets per client (default 50). */
  maxSockets?: number;
  /** Overrides {@link KINESIS_MAX_ATTEMPTS}. */
  kinesisMaxAttempts?: number;
  /** A call not answered within this fails with TimeoutError (default 30 s; tests shorten it). */
  requestTimeoutMs?: number;
  /** Where to look for credentials settings (default `process.env`). */
  env?: Record<string, string | undefined>;
}

/**
 * Attempts per Kinesis call, first one included. The producer retries PutRecords itself (the SDK
 * never retries the per-record failures of a 200 answer, and a whole-call failure must go
 * through the producer's backoff and backpressure too), so the SDK only gets one quick extra
 * attempt for transient transport errors (a reset keep-alive socket); a larger value would
 * multiply with the producer's retries. DynamoDB keeps the SDK default (3, standard mode).
 */
export const KINESIS_MAX_ATTEMPTS = 2;
const DEFAULT_MAX_SOCKETS = 50;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** Credentials the default chain would find in the environment (not the shared files). */
const CREDENTIAL_ENV = [
  'AWS_ACCESS_KEY_ID',
  'AWS_PROFILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
] as const;

export function hasCredentialsInEnv(env: Record<string, string | undefined>): boolean {
  return CREDENTIAL_ENV.some((name) => (env[name] ?? '').trim() !== '');
}

/**
 * HTTP/1.1 with keep-alive for every client. The Kinesis client's default is the HTTP/2 handler,
 * which fails against plain-http emulators; it is only needed for SubscribeToShard, which we do
 * not use (the consumer polls GetRecords), so real AWS gets the same handler.
 */
function requestHandler(maxSockets: number, requestTimeout: number): NodeHttpHandler {
  return new NodeHttpHandler({
    httpAgent: new http.Agent({ keepAlive: true, maxSockets }),
    httpsAgent: new https.Agent({ keepAlive: true, maxSockets }),
    connectionTimeout: 5_000,
    requestTimeout,
    // Without this, smithy only logs a warning when requestTimeout passes and the call waits for
    // ever: an endpoint that accepts a request and never answers (a black hole, no FIN) would hang
    // the producer and the consumer. As an error (TimeoutError) it is retried with backoff.
    throwOnRequestTimeout: true,
  });
}

export function createAwsClients(options: AwsClientsOptions): AwsClients {
  const env = options.env ?? process.env;
  const maxSockets = options.maxSockets ?? DEFAULT_MAX_SOCKETS;
  const timeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const useDummies = options.target !== 'aws' && !hasCredentialsInEnv(env);
  // The endpoint is given to the SDK explicitly (it would also read AWS_ENDPOINT_URL_* itself, but
  // then `--endpoint` and a started embedded stack could not win over the environment).
  const common = (service: AwsService) => {
    const endpoint = options.endpointUrl ?? options.endpoints?.[service];
    return {
      region: options.region,
      requestHandler: requestHandler(maxSockets, timeout),
      ...(endpoint !== undefined ? { endpoint } : {}),
      // Emulators and LocalStack accept any signature; LocalStack expects test/test. Otherwise
      // the SDK's default chain (env, profile, SSO, container, IMDS, …).
      // A fresh object each time: the SDK marks the credentials it is given (their `$source`).
      ...(endpoint !== undefined && useDummies ? { credentials: { accessKeyId: 'test', secretAccessKey: 'test' } } : {}),
      // Emulators serve buckets under their path (`<endpoint>/<bucket>/<key>`), not as host names.
      ...(service === 's3' && endpoint !== undefined ? { forcePathStyle: true } : {}),
    };
  };

  const kinesis = new KinesisClient({
    ...common('kinesis'),
    maxAttempts: options.kinesisMaxAttempts ?? KINESIS_MAX_ATTEMPTS,
    // Records' data to and from base64 natively (kinesis-json-codec.ts): same bytes, less CPU.
    protocol: KinesisJsonProtocol,
  });
  const dynamodb = new DynamoDBClient(common('dynamodb'));
  let s3: S3Client | undefined;

  return {
    kinesis,
    dynamodb,
    get s3(): S3Client {
      s3 ??= new S3Client(common('s3'));
      return s3;
    },
    destroy() {
      kinesis.destroy();
      dynamodb.destroy();
      s3?.destroy();
    },
  };
}
