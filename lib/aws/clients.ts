/**
 * The one factory for AWS SDK clients. Same code for the embedded stack, LocalStack and real AWS:
 * only the endpoint and the credentials differ.
 */
import http from 'node:http';
import https from 'node:https';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface AwsClients {
  kinesis: KinesisClient;
  dynamodb: DynamoDBClient;
  /** Closes the clients' keep-alive sockets; the clients are unusable afterwards. */
  destroy(): void;
}

export interface AwsClientsOptions {
  /** An AWS-compatible endpoint (embedded stack, LocalStack); absent = real AWS. */
  endpointUrl?: string;
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
  const endpoint = options.endpointUrl;
  // Emulators and LocalStack accept any signature; LocalStack expects test/test. Without an
  // endpoint this is real AWS: the SDK's default chain (env, profile, SSO, IMDS, …).
  const credentials =
    endpoint !== undefined && !hasCredentialsInEnv(env) ? { accessKeyId: 'test', secretAccessKey: 'test' } : undefined;
  const common = {
    region: options.region,
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(credentials !== undefined ? { credentials } : {}),
  };

  const kinesis = new KinesisClient({
    ...common,
    requestHandler: requestHandler(maxSockets, timeout),
    maxAttempts: options.kinesisMaxAttempts ?? KINESIS_MAX_ATTEMPTS,
  });
  const dynamodb = new DynamoDBClient({ ...common, requestHandler: requestHandler(maxSockets, timeout) });

  return {
    kinesis,
    dynamodb,
    destroy() {
      kinesis.destroy();
      dynamodb.destroy();
    },
  };
}
