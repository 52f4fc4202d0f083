/**
 * One place decides which failures are worth retrying. The AWS SDK's own classification decides
 * for AWS and network errors: `@smithy/core`'s retry predicates, the ones the SDK's retry strategy
 * uses (throttling: 429 and ThrottlingException, ProvisionedThroughputExceededException, …;
 * transient: timeouts, ECONNRESET, ECONNREFUSED, EPIPE, EAI_AGAIN, …, 500/502/503/504, the
 * `$retryable` trait; server: any other 5xx). Everything else (missing stream, validation, access
 * denied) is fatal and must surface at once. This module adds only what the SDK cannot know:
 * project errors, names that arrive without an HTTP status, the PutRecords entry codes, and the
 * conditional-check answer.
 */
import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import { errorCode, errorName, TickReplayError } from '../errors.ts';

type SdkErrorLike = Parameters<typeof isThrottlingError>[0];

/**
 * Retryable by name alone. The SDK classifies these by their 5xx status; a fault-injecting proxy,
 * a stubbed client or a cause deep in a chain carries the name without `$metadata`, and
 * KMSThrottlingException (a Kinesis stream encrypted with KMS) is not in the SDK's throttling list.
 */
const RETRYABLE_NAMES = new Set(['KMSThrottlingException', 'InternalFailure', 'InternalServerError', 'ServiceUnavailable', 'ServiceUnavailableException']);

/** A connection the peer aborted: what a restarting emulator or proxy gives; not in the SDK's lists. */
const RETRYABLE_NETWORK_CODES = new Set(['ECONNABORTED']);

/** How deep the `cause` chain is followed (the SDK stops at the same depth); also ends cycles. */
export const MAX_CAUSE_DEPTH = 10;

/** True for failures of a whole request that may succeed if sent again. */
export function isRetryableError(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null) return false;
  // A project error says for itself (an AwsCallError took its AWS cause's classification).
  if (error instanceof TickReplayError) return error.retryable;
  const sdk = error as SdkErrorLike;
  // The depth past the limit keeps isTransientError from walking the cause chain itself: the loop
  // below does, so that a project error on the chain answers with its own `retryable`.
  if (isThrottlingError(sdk) || isTransientError(sdk, MAX_CAUSE_DEPTH + 1) || isServerError(sdk)) return true;
  if (RETRYABLE_NAMES.has(errorName(error)) || RETRYABLE_NETWORK_CODES.has(errorCode(error) ?? '')) return true;
  const cause = (error as { cause?: unknown }).cause;
  return cause !== undefined && depth < MAX_CAUSE_DEPTH && isRetryableError(cause, depth + 1);
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
