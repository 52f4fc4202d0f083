/**
 * Which endpoint each service is called at: the SDKs' per-service variables over AWS_ENDPOINT_URL,
 * `--endpoint` over both; the target (`--aws`, TICK_REPLAY_TARGET) and what it leaves to the
 * deployment; an API Gateway URL as an emulator serves it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeEndpoints, emulatorInvokeUrl, endpointVariables, executeApiRegion, resolveServiceEndpoints } from '../../../lib/aws/endpoints.ts';
import { resolveConfig } from '../../../lib/config.ts';
import { ConfigError } from '../../../lib/errors.ts';
import { needsEmbeddedStack } from '../../../lib/cli/aws-environment.ts';
import { workerEnvironment } from '../../../lib/cli/consumer-workers.ts';

describe('service endpoints', () => {
  it('take AWS_ENDPOINT_URL_<SERVICE> over AWS_ENDPOINT_URL, per service', () => {
    const endpoints = resolveServiceEndpoints({
      AWS_ENDPOINT_URL: 'http://localstack:4566/',
      AWS_ENDPOINT_URL_KINESIS: 'http://127.0.0.1:5000',
      AWS_ENDPOINT_URL_DYNAMODB: ' http://127.0.0.1:6000 ',
      AWS_ENDPOINT_URL_S3: '',
    });
    assert.deepEqual(endpoints, {
      kinesis: 'http://127.0.0.1:5000',
      dynamodb: 'http://127.0.0.1:6000',
      s3: 'http://localstack:4566',
      cloudformation: 'http://localstack:4566',
      apigateway: 'http://localstack:4566',
    });
  });

  it('leave a service without any variable to its default (embedded stack or AWS)', () => {
    assert.deepEqual(resolveServiceEndpoints({ AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:6000' }), { dynamodb: 'http://127.0.0.1:6000' });
    assert.deepEqual(resolveServiceEndpoints({}), {});
  });

  it('take --endpoint for every service, over every variable', () => {
    const endpoints = resolveServiceEndpoints({ AWS_ENDPOINT_URL_KINESIS: 'http://127.0.0.1:5000' }, 'http://127.0.0.1:7000/');
    assert.deepEqual(new Set(Object.values(endpoints)), new Set(['http://127.0.0.1:7000']));
    assert.equal(Object.keys(endpoints).length, 5);
  });

  it('reject a bad URL naming the variable it came from', () => {
    assert.throws(() => resolveServiceEndpoints({ AWS_ENDPOINT_URL_S3: 'not a url' }), (e: unknown) => e instanceof ConfigError && /^AWS_ENDPOINT_URL_S3 must be a URL/.test(e.message));
    assert.throws(() => resolveServiceEndpoints({ AWS_ENDPOINT_URL_S3: 'localhost:9000' }), /^ConfigError: AWS_ENDPOINT_URL_S3 must use http or https/);
    assert.throws(() => resolveServiceEndpoints({}, 'ftp://x'), /^ConfigError: --endpoint must use http or https/);
  });

  it('travel to a child process as each service\'s own variable', () => {
    assert.deepEqual(endpointVariables({ kinesis: 'http://a:1', dynamodb: 'http://b:2' }), { AWS_ENDPOINT_URL_KINESIS: 'http://a:1', AWS_ENDPOINT_URL_DYNAMODB: 'http://b:2' });
    const env = workerEnvironment({ kinesis: 'http://a:1' }, { target: 'aws', region: 'eu-west-1' }, { AWS_ENDPOINT_URL_KINESIS: 'http://stale:9', PATH: '/bin' });
    assert.equal(env.AWS_ENDPOINT_URL_KINESIS, 'http://a:1', 'what this process resolved wins');
    assert.equal(env.TICK_REPLAY_TARGET, 'aws');
    assert.equal(env.AWS_REGION, 'eu-west-1');
    assert.equal(env.PATH, '/bin');
  });

  it('are described in one line', () => {
    assert.equal(describeEndpoints({ kinesis: 'http://a:1', dynamodb: 'http://a:1' }), 'http://a:1');
    assert.equal(describeEndpoints({ kinesis: 'http://a:1' }), 'kinesis http://a:1, dynamodb AWS');
    assert.equal(describeEndpoints({}), 'AWS (default endpoints)');
  });
});

describe('API Gateway invoke URLs', () => {
  it('become the emulator\'s _user_request_ URL for the same API and stage', () => {
    assert.equal(
      emulatorInvokeUrl('https://a1b2c3.execute-api.us-east-1.amazonaws.com/local/mode', 'http://localhost:4566/'),
      'http://localhost:4566/restapis/a1b2c3/local/_user_request_/mode',
    );
    assert.equal(emulatorInvokeUrl('https://a1b2c3.execute-api.eu-west-1.amazonaws.com/dev', 'http://h:1'), 'http://h:1/restapis/a1b2c3/dev/_user_request_');
    assert.equal(emulatorInvokeUrl('http://127.0.0.1:3000/mode', 'http://h:1'), 'http://127.0.0.1:3000/mode', 'anything else stays');
  });

  it('name their region', () => {
    assert.equal(executeApiRegion('https://a1b2c3.execute-api.eu-central-1.amazonaws.com/dev'), 'eu-central-1');
    assert.equal(executeApiRegion('http://127.0.0.1:3000'), undefined);
    assert.equal(executeApiRegion('https://execute-api.evil.example/amazonaws.com'), undefined);
  });
});

describe('the target', () => {
  it('is local by default: the embedded stack for Kinesis and DynamoDB without an endpoint', () => {
    const config = resolveConfig({});
    assert.equal(config.target, 'local');
    assert.ok(needsEmbeddedStack(config));
    assert.ok(needsEmbeddedStack(resolveConfig({ AWS_ENDPOINT_URL_KINESIS: 'http://127.0.0.1:5000' })), 'DynamoDB still has none');
    assert.ok(!needsEmbeddedStack(resolveConfig({ AWS_ENDPOINT_URL_KINESIS: 'http://a:1', AWS_ENDPOINT_URL_DYNAMODB: 'http://b:2' })));
    assert.ok(!needsEmbeddedStack(resolveConfig({ AWS_ENDPOINT_URL: 'http://a:1' })));
  });

  it('is AWS with --aws or TICK_REPLAY_TARGET=aws: nothing started, names and region left to the deployment', () => {
    for (const config of [resolveConfig({}, { aws: true }), resolveConfig({ TICK_REPLAY_TARGET: 'AWS' })]) {
      assert.equal(config.target, 'aws');
      assert.ok(!needsEmbeddedStack(config));
      assert.deepEqual(config.pending, ['region', 'streamName', 'tableName']);
      assert.equal(config.stackName, 'tick-replay-dev', "osls's default stage");
    }
  });

  it('reads from the deployment only what no flag or variable gives', () => {
    const config = resolveConfig({ TICK_REPLAY_TARGET: 'aws', AWS_DEFAULT_REGION: 'eu-west-1', STREAM_NAME: 'mine' }, { stage: 'prod' });
    assert.deepEqual(config.pending, ['tableName']);
    assert.equal(config.region, 'eu-west-1');
    assert.equal(config.streamName, 'mine');
    assert.equal(config.stackName, 'tick-replay-prod');
    assert.equal(resolveConfig({ TICK_REPLAY_STACK: 'other-stack' }, { aws: true, stage: 'prod' }).stackName, 'other-stack', '--stack over --stage');
    assert.deepEqual(resolveConfig({ STREAM_NAME: 'quotes', TABLE_NAME: 'state', AWS_REGION: 'us-west-2' }, { aws: true }).pending, []);
  });

  it('rejects what it does not know, naming the variable', () => {
    assert.throws(() => resolveConfig({ TICK_REPLAY_TARGET: 'cloud' }), /^ConfigError: TICK_REPLAY_TARGET must be "aws" or "local", got "cloud"/);
    assert.throws(() => resolveConfig({ TICK_REPLAY_STAGE: 'a b' }), /TICK_REPLAY_STAGE/);
    assert.throws(() => resolveConfig({}, { stack: '1stack' }), /TICK_REPLAY_STACK/);
  });
});
