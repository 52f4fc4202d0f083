import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { resolveConfig } from '../../lib/config.ts';
import { ConfigError } from '../../lib/errors.ts';
import { requireS3Endpoint } from '../../lib/cli/output-target.ts';

describe('resolveConfig', () => {
  it('has defaults that run the embedded stack', () => {
    const config = resolveConfig({}, {}, '/work');
    assert.equal(config.latencyThresholdMs, 20);
    assert.equal(config.target, 'local');
    assert.deepEqual(config.endpoints, {});
    assert.deepEqual(config.pending, []);
    assert.equal(config.outputDir, path.resolve('/work/output'));
    assert.equal(config.stateDir, path.resolve('/work/.tick-replay'));
    assert.equal(config.edgePort, 4566);
    assert.equal(config.shardCount, 4);
  });

  it('lets flags override the environment', () => {
    const config = resolveConfig({ LATENCY_THRESHOLD: '30', OUTPUT_DIR: 'a' }, { latencyThresholdMs: '15.5', outputDir: 'b' }, '/w');
    assert.equal(config.latencyThresholdMs, 15.5);
    assert.equal(config.outputDir, path.resolve('/w/b'));
  });

  it('fails fast naming the variable', () => {
    assert.throws(() => resolveConfig({ LATENCY_THRESHOLD: 'abc' }), (e: unknown) => e instanceof ConfigError && /LATENCY_THRESHOLD/.test(e.message));
    assert.throws(() => resolveConfig({ LATENCY_THRESHOLD: '-1' }), /LATENCY_THRESHOLD/);
    assert.throws(() => resolveConfig({ AWS_ENDPOINT_URL: 'localhost:4566' }), /AWS_ENDPOINT_URL/);
    assert.throws(() => resolveConfig({ SHARD_COUNT: '2.5' }), /SHARD_COUNT/);
    assert.throws(() => resolveConfig({ STREAM_NAME: 'a b' }), /STREAM_NAME/);
    assert.throws(() => resolveConfig({ LOG_LEVEL: 'LOUD' }), /LOG_LEVEL/);
  });

  it('takes the log level from --log-level, else POWERTOOLS_LOG_LEVEL, else LOG_LEVEL, else INFO', () => {
    assert.equal(resolveConfig({}).logLevel, 'INFO');
    assert.equal(resolveConfig({ LOG_LEVEL: 'warn' }).logLevel, 'WARN');
    assert.equal(resolveConfig({ POWERTOOLS_LOG_LEVEL: 'debug', LOG_LEVEL: 'WARN' }).logLevel, 'DEBUG', "Powertools' own order between the two");
    assert.equal(resolveConfig({ POWERTOOLS_LOG_LEVEL: ' ', LOG_LEVEL: 'ERROR' }).logLevel, 'ERROR', 'a blank variable counts as unset');
    assert.equal(resolveConfig({ POWERTOOLS_LOG_LEVEL: 'DEBUG' }, { logLevel: 'SILENT' }).logLevel, 'SILENT', 'the flag wins');
    assert.equal(resolveConfig({ POWERTOOLS_LOG_LEVEL: 'trace' }).logLevel, 'TRACE', "Powertools' level names are valid");
    assert.equal(resolveConfig({ POWERTOOLS_LOG_LEVEL: 'CRITICAL' }).logLevel, 'CRITICAL');
    assert.throws(
      () => resolveConfig({ POWERTOOLS_LOG_LEVEL: 'loud', LOG_LEVEL: 'INFO' }),
      (e: unknown) => e instanceof ConfigError && e.message === 'POWERTOOLS_LOG_LEVEL must be one of TRACE, DEBUG, INFO, WARN, ERROR, CRITICAL, SILENT, got "loud"',
    );
  });

  it('accepts plain decimal numbers', () => {
    assert.equal(resolveConfig({ LATENCY_THRESHOLD: '15.5' }).latencyThresholdMs, 15.5);
    assert.equal(resolveConfig({ LATENCY_THRESHOLD: '0' }).latencyThresholdMs, 0);
    assert.equal(resolveConfig({ LATENCY_THRESHOLD: ' 25 ' }).latencyThresholdMs, 25);
    assert.equal(resolveConfig({ SHARD_COUNT: '8' }).shardCount, 8);
    assert.equal(resolveConfig({}, { latencyThresholdMs: 12.25 }).latencyThresholdMs, 12.25);
  });

  it('rejects numbers not in plain decimal notation, naming the variable', () => {
    const isConfigError = (name: string) => (e: unknown) => e instanceof ConfigError && e.message.startsWith(`${name} must be `);
    for (const raw of ['0x14', '1e1', 'Infinity', '-Infinity', 'NaN', '+20', '.5', '20.', '1_000', '0b101', '0o17', '2 0']) {
      assert.throws(() => resolveConfig({ LATENCY_THRESHOLD: raw }), isConfigError('LATENCY_THRESHOLD'), raw);
    }
    assert.throws(() => resolveConfig({ SHARD_COUNT: '0x4' }), isConfigError('SHARD_COUNT'));
    assert.throws(() => resolveConfig({ EDGE_PORT: '4.566e3' }), isConfigError('EDGE_PORT'));
    assert.throws(() => resolveConfig({ BATCH_SIZE: 'Infinity' }), isConfigError('BATCH_SIZE'));
    // Flags are not trimmed by the environment reader: whitespace there is refused too.
    assert.throws(() => resolveConfig({}, { latencyThresholdMs: ' 20 ' }), isConfigError('LATENCY_THRESHOLD'));
    assert.throws(() => resolveConfig({}, { latencyThresholdMs: '' }), isConfigError('LATENCY_THRESHOLD'));
  });

  it('gives a negative the range error', () => {
    assert.throws(
      () => resolveConfig({ LATENCY_THRESHOLD: '-1.5' }),
      (e: unknown) => e instanceof ConfigError && e.message === 'LATENCY_THRESHOLD must be a number between 0 and 86400000, got "-1.5"',
    );
  });

  it('normalises the endpoint URL', () => {
    assert.equal(resolveConfig({ AWS_ENDPOINT_URL: 'http://localhost:4566/' }).endpoints.kinesis, 'http://localhost:4566');
  });

  it('sends the output to S3 with --out s3://… or OUTPUT_URI; a --out directory beats OUTPUT_URI', () => {
    assert.equal(resolveConfig({}, {}, '/w').outputS3, undefined);
    assert.deepEqual(resolveConfig({ OUTPUT_URI: 's3://bucket-a/out/' }, {}, '/w').outputS3, { bucket: 'bucket-a', prefix: 'out' });
    const flag = resolveConfig({ OUTPUT_URI: 's3://bucket-a/out', OUTPUT_DIR: 'files' }, { outputDir: 's3://bucket-b/p' }, '/w');
    assert.deepEqual(flag.outputS3, { bucket: 'bucket-b', prefix: 'p' });
    assert.equal(flag.outputDir, path.resolve('/w/files'));
    const dir = resolveConfig({ OUTPUT_URI: 's3://bucket-a/out' }, { outputDir: 'mine' }, '/w');
    assert.equal(dir.outputS3, undefined);
    assert.equal(dir.outputDir, path.resolve('/w/mine'));
    assert.throws(() => resolveConfig({ OUTPUT_URI: 's3://B/x' }), /OUTPUT_URI: "B" is not a valid S3 bucket name/);
    assert.throws(() => resolveConfig({ OUTPUT_DIR: 's3://bucket-a/x' }), /OUTPUT_DIR names a directory; for S3 set OUTPUT_URI=s3:\/\/bucket-a\/x/);
  });

  it('asks for an S3 endpoint when the embedded stack (which has no S3) would get an S3 output', () => {
    const local = resolveConfig({}, { outputDir: 's3://bucket-a/p' });
    assert.throws(() => requireS3Endpoint(local), (e: unknown) => e instanceof ConfigError && /^--out s3:\/\/bucket-a\/p needs S3, which the embedded AWS stack does not have: set AWS_ENDPOINT_URL_S3=<url>/.test(e.message));
    requireS3Endpoint(resolveConfig({ AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000' }, { outputDir: 's3://bucket-a/p' }));
    requireS3Endpoint(resolveConfig({}, { outputDir: 's3://bucket-a/p', aws: true }));
    requireS3Endpoint(resolveConfig({}, { outputDir: 'dir' }));
  });
});
