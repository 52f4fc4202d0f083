import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isConditionalCheckFailure, isRetryableError, isRetryableRecordError, MAX_CAUSE_DEPTH } from '../../../lib/aws/retryable.ts';
import { AwsCallError, ConfigError } from '../../../lib/errors.ts';

function named(name: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${name} happened`), { name }, extra);
}

function withCode(code: string): Error {
  return Object.assign(new Error(`connect ${code}`), { code });
}

/** `error` wrapped in `depth` plain errors. */
function wrappedIn(depth: number, error: unknown): unknown {
  let outer = error;
  for (let i = 0; i < depth; i++) outer = new Error(`wrapper ${i}`, { cause: outer });
  return outer;
}

describe('isRetryableError', () => {
  it('retries what the SDK calls throttling, by name or by 429', () => {
    for (const name of ['ThrottlingException', 'Throttling', 'ProvisionedThroughputExceededException', 'LimitExceededException', 'RequestLimitExceeded', 'TooManyRequestsException']) {
      assert.equal(isRetryableError(named(name)), true, name);
    }
    assert.equal(isRetryableError(named('Whatever', { $metadata: { httpStatusCode: 429 } })), true);
  });

  it('retries what the SDK calls transient or a server error: timeouts, connection failures, 5xx, the $retryable trait', () => {
    for (const name of ['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']) assert.equal(isRetryableError(named(name)), true, name);
    for (const code of ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']) {
      assert.equal(isRetryableError(withCode(code)), true, code);
    }
    for (const status of [500, 501, 502, 503, 504, 599]) {
      assert.equal(isRetryableError(named('SomeServiceFault', { $metadata: { httpStatusCode: status } })), true, String(status));
    }
    assert.equal(isRetryableError(named('Odd', { $retryable: {} })), true);
  });

  it('adds the names that arrive without a status and ECONNABORTED', () => {
    for (const name of ['KMSThrottlingException', 'InternalFailure', 'InternalServerError', 'ServiceUnavailable', 'ServiceUnavailableException']) {
      assert.equal(isRetryableError(named(name)), true, name);
    }
    assert.equal(isRetryableError(withCode('ECONNABORTED')), true);
  });

  it('does not retry what another try cannot fix', () => {
    for (const name of ['ResourceNotFoundException', 'ValidationException', 'AccessDeniedException', 'ConditionalCheckFailedException', 'InvalidArgumentException']) {
      assert.equal(isRetryableError(named(name, { $metadata: { httpStatusCode: 400 } })), false, name);
    }
    assert.equal(isRetryableError(new Error('plain')), false);
    assert.equal(isRetryableError(withCode('ENOENT')), false);
    assert.equal(isRetryableError('ThrottlingException'), false);
    assert.equal(isRetryableError(undefined), false);
    assert.equal(isRetryableError(null), false);
  });

  it(`follows the cause chain up to ${MAX_CAUSE_DEPTH} levels, and ends on a cycle`, () => {
    assert.equal(isRetryableError(wrappedIn(1, named('ThrottlingException'))), true);
    assert.equal(isRetryableError(wrappedIn(MAX_CAUSE_DEPTH, withCode('ECONNRESET'))), true);
    assert.equal(isRetryableError(wrappedIn(MAX_CAUSE_DEPTH + 1, withCode('ECONNRESET'))), false);
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    Object.assign(a, { cause: b });
    assert.equal(isRetryableError(a), false);
  });

  it('lets a project error on the chain answer for itself, also over a retryable cause of its own', () => {
    const notRetryable = new ConfigError('bad endpoint', {}, { cause: withCode('ECONNREFUSED') });
    assert.equal(isRetryableError(notRetryable), false);
    assert.equal(isRetryableError(wrappedIn(2, notRetryable)), false);
    const throttled = named('ThrottlingException');
    assert.equal(isRetryableError(wrappedIn(1, new AwsCallError('x', {}, { cause: throttled, retryable: isRetryableError(throttled) }))), true);
  });
});

describe('isRetryableRecordError', () => {
  it('resends entries rejected for throughput or an internal failure, not invalid ones', () => {
    assert.equal(isRetryableRecordError('ProvisionedThroughputExceededException'), true);
    assert.equal(isRetryableRecordError('InternalFailure'), true);
    assert.equal(isRetryableRecordError('KMSThrottlingException'), true);
    assert.equal(isRetryableRecordError('KMSAccessDeniedException'), false);
    assert.equal(isRetryableRecordError('ValidationException'), false);
  });
});

describe('isConditionalCheckFailure', () => {
  it('recognises the lost conditional write by name', () => {
    assert.equal(isConditionalCheckFailure(named('ConditionalCheckFailedException')), true);
    assert.equal(isConditionalCheckFailure(named('ThrottlingException')), false);
    assert.equal(isConditionalCheckFailure(undefined), false);
  });
});
