import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { resolveConfig } from '../../lib/config.ts';
import { ConfigError } from '../../lib/errors.ts';

describe('resolveConfig', () => {
  it('has defaults that run the embedded stack', () => {
    const config = resolveConfig({}, {}, '/work');
    assert.equal(config.latencyThresholdMs, 20);
    assert.equal(config.endpointUrl, undefined);
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

  it('normalises the endpoint URL', () => {
    assert.equal(resolveConfig({ AWS_ENDPOINT_URL: 'http://localhost:4566/' }).endpointUrl, 'http://localhost:4566');
  });
});
