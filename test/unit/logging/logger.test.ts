import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ResourceNotFoundException } from '@aws-sdk/client-kinesis';
import { AwsCallError, TickReplayError } from '../../../lib/errors.ts';
import { CIRCULAR, LIMITS } from '../../../lib/logging/json-line.ts';
import { createLogger, type LogContext } from '../../../lib/logging/logger.ts';

type Json = Record<string, unknown>;

/** Logs one call and returns its raw output: every line the sink received. */
function logOnce(context: LogContext, level: 'error' | 'info' = 'error'): string[] {
  const lines: string[] = [];
  const logger = createLogger({ service: 'test', sink: (line) => lines.push(line), now: () => new Date('2030-01-02T03:04:05.678Z') });
  logger[level]('something failed', context);
  return lines;
}

function oneLine(context: LogContext): Json {
  const lines = logOnce(context);
  assert.equal(lines.length, 1, 'one sink call');
  assert.ok(!(lines[0] as string).includes('\n'), 'one line');
  return JSON.parse(lines[0] as string) as Json;
}

/** A real AWS SDK v3 service exception, as the Kinesis client throws it for an unknown stream. */
function streamNotFound(): ResourceNotFoundException {
  return new ResourceNotFoundException({
    message: 'Stream x under account 000000000000 not found.',
    $metadata: { httpStatusCode: 400, requestId: 'b3a1c0de-1111-2222-3333-444455556666', attempts: 1, totalRetryDelay: 0 },
  });
}

describe('logger: errors keep their story', () => {
  it('logs an AWS error wrapped in a project error as one JSON line with the context, the cause chain and the request id', () => {
    const cause = streamNotFound();
    const error = new AwsCallError('DescribeStreamSummary on x failed', { stream: 'x' }, { cause });
    const line = oneLine({ error, attempt: 3 });

    assert.deepEqual(
      { timestamp: line.timestamp, level: line.level, service: line.service, message: line.message, attempt: line.attempt },
      { timestamp: '2030-01-02T03:04:05.678Z', level: 'ERROR', service: 'test', message: 'something failed', attempt: 3 },
    );
    const logged = line.error as Json;
    assert.equal(logged.name, 'AwsCallError');
    assert.equal(logged.message, 'DescribeStreamSummary on x failed');
    assert.deepEqual(logged.context, { stream: 'x' });
    assert.match(logged.stack as string, /^AwsCallError: DescribeStreamSummary on x failed\n\s+at /);
    assert.match(logged.location as string, /logger\.test\.ts:\d+$/, 'Powertools-style location: file:line of the throw');

    const awsCause = logged.cause as Json;
    assert.equal(awsCause.name, 'ResourceNotFoundException');
    assert.equal(awsCause.message, 'Stream x under account 000000000000 not found.');
    assert.equal(awsCause.$fault, 'client');
    assert.deepEqual(awsCause.$metadata, { httpStatusCode: 400, requestId: 'b3a1c0de-1111-2222-3333-444455556666', attempts: 1, totalRetryDelay: 0 });
    assert.equal(typeof awsCause.stack, 'string');
    assert.ok(!('$response' in awsCause), 'the raw HTTP response is not copied');
  });

  it('follows a cause chain to its depth limit and writes a cycle as [Circular]', () => {
    let deep: Error = new Error('root cause');
    for (let i = 1; i < 20; i++) deep = new TickReplayError(`level ${i}`, { i }, { cause: deep });
    const chain = oneLine({ error: deep }).error as Json;
    const seen: string[] = [];
    let at: unknown = chain;
    while (typeof at === 'object' && at !== null) {
      seen.push((at as Json).message as string);
      at = (at as Json).cause;
    }
    assert.equal(seen.length, LIMITS.causeDepth);
    assert.deepEqual(seen.slice(0, 2), ['level 19', 'level 18']);
    assert.equal(at, `[cause chain cut at ${LIMITS.causeDepth} errors]`);

    const a = new Error('a');
    const b = new Error('b', { cause: a });
    a.cause = b;
    const cyclic = oneLine({ error: a }).error as Json;
    assert.equal((cyclic.cause as Json).message, 'b');
    assert.equal((cyclic.cause as Json).cause, CIRCULAR);
  });

  it("keeps a Node system error's code, errno, syscall and port, and an AggregateError's errors", () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address: '127.0.0.1', port: 1 });
    const aggregate = Object.assign(new AggregateError([refused], ''), { code: 'ECONNREFUSED' });
    const logged = oneLine({ error: aggregate }).error as Json;
    assert.equal(logged.name, 'AggregateError');
    assert.equal(logged.code, 'ECONNREFUSED');
    const inner = (logged.errors as Json[])[0] as Json;
    assert.deepEqual({ message: inner.message, code: inner.code, errno: inner.errno, syscall: inner.syscall, port: inner.port }, {
      message: 'connect ECONNREFUSED 127.0.0.1:1',
      code: 'ECONNREFUSED',
      errno: -111,
      syscall: 'connect',
      port: 1,
    });
  });

  it('writes valid JSON for circular context, BigInt, binary data, NaN, maps and getters that throw, and never throws', () => {
    const circular: Json = { name: 'loop' };
    circular.self = circular;
    const hostile = {
      get boom(): never {
        throw new Error('getter exploded');
      },
    };
    const line = oneLine({
      circular,
      big: 12345678901234567890n,
      bytes: Buffer.alloc(4096),
      ratio: Number.NaN,
      when: new Date('2030-01-01T00:00:00Z'),
      map: new Map([['a', 1]]),
      set: new Set(['x', 'y']),
      hostile,
      fn: () => 1,
    });
    assert.deepEqual(line.circular, { name: 'loop', self: CIRCULAR });
    assert.equal(line.big, '12345678901234567890');
    assert.equal(line.bytes, '[Buffer 4096 bytes]');
    assert.equal(line.ratio, 'NaN');
    assert.equal(line.when, '2030-01-01T00:00:00.000Z');
    assert.deepEqual(line.map, { a: 1 });
    assert.deepEqual(line.set, ['x', 'y']);
    assert.deepEqual(line.hostile, { boom: '[unserialisable: getter exploded]' });
    assert.ok(!('fn' in line));
  });

  it('cuts huge strings, arrays and objects, and a line still too big keeps only its fixed fields', () => {
    const line = oneLine({ text: 'x'.repeat(LIMITS.stringChars + 10), list: Array.from({ length: 1_000 }, (_, i) => i) });
    assert.equal(line.text, `${'x'.repeat(LIMITS.stringChars)}…(+10 chars)`);
    const list = line.list as unknown[];
    assert.equal(list.length, LIMITS.items + 1);
    assert.equal(list.at(-1), `…(+${1_000 - LIMITS.items} items)`);

    const wide = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${i}`, 'y'.repeat(LIMITS.stringChars)]));
    const [raw] = logOnce(wide);
    assert.ok((raw as string).length < 1_000, 'the oversized line was replaced');
    const cut = JSON.parse(raw as string) as Json;
    assert.deepEqual(Object.keys(cut), ['timestamp', 'level', 'service', 'message', 'truncated']);
    assert.match(cut.truncated as string, /^the context made a \d+-character line/);
  });

  it('never lets a context key overwrite a fixed field', () => {
    const line = oneLine({ message: 'from context', level: 'DEBUG' });
    assert.equal(line.message, 'something failed');
    assert.equal(line.level, 'ERROR');
    assert.equal(line['context.message'], 'from context');
    assert.equal(line['context.level'], 'DEBUG');
  });

  it("reads Powertools' level names: TRACE shows debug lines, CRITICAL none of this logger's", () => {
    const seen = (level: 'TRACE' | 'CRITICAL'): string[] => {
      const lines: string[] = [];
      const logger = createLogger({ service: 'test', level, sink: (line) => lines.push(line) });
      logger.debug('d');
      logger.error('e');
      return lines.map((l) => (JSON.parse(l) as Json).message as string);
    };
    assert.deepEqual(seen('TRACE'), ['d', 'e']);
    assert.deepEqual(seen('CRITICAL'), []);
  });
});
