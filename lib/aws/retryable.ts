/**
 * One place decides which AWS failures are worth retrying (smithy-style classification):
 * throttling, service-side 5xx and network failures are transient; everything else (missing
 * stream, validation, access denied) is fatal and must surface at once.
 */
import { errorCode, errorName, TickReplayError } from '../errors.ts';

const RETRYABLE_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'LimitExceededException',
  'KMSThrottlingException',
  'RequestLimitExceeded',
  'InternalFailure',
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ECONNABORTED',
]);

interface ErrorShape {
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

/** True for failures of a whole request that may succeed if sent again. */
export function isRetryableError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  // A project error says for itself (an AwsCallError took its AWS cause's classification).
  if (error instanceof TickReplayError) return error.retryable;
  if (RETRYABLE_NAMES.has(errorName(error))) return true;
  if (RETRYABLE_NETWORK_CODES.has(errorCode(error) ?? '')) return true;
  const e = error as ErrorShape;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  return e.cause !== undefined && e.cause !== error && isRetryableError(e.cause);
}

/** True for a PutRecords entry's ErrorCode that may succeed when the entry is sent again. */
export function isRetryableRecordError(errorCode: string): boolean {
  return errorCode === 'ProvisionedThroughputExceededException' || errorCode === 'InternalFailure' || errorCode === 'KMSThrottlingException';
}

/**
 * A conditional DynamoDB write that lost (ConditionalCheckFailedException): not a failure to
 * retry but an answer — someone else owns the item, or it moved on. By name as well as class, so
 * that an error that crossed a module boundary (another SDK copy) is recognised too.
 */
export function isConditionalCheckFailure(error: unknown): boolean {
  return errorName(error) === 'ConditionalCheckFailedException';
}
