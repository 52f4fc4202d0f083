/**
 * The project's osls plugin in place of serverless-localstack: the `local` stage's default
 * endpoint and credentials, S3 by path on emulators, `info`'s emulator URLs, and the deploy
 * variables it checks. (test/integration/deploy-moto.test.ts deploys through it for real.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDeployVariables, dropDeployedOnlyVariables, emulatorInfoEndpoints, httpRoutes, LOCALSTACK_ENDPOINT, prepareAwsTarget } from '../../../infra/osls-local-hooks.ts';

/** osls's provider as far as the plugin touches it: the config every AWS client is built from. */
function provider(): { getAwsSdkV3Config(options?: Record<string, unknown>): Promise<Record<string, unknown>> } {
  return { getAwsSdkV3Config: (options = {}) => Promise.resolve({ region: 'us-east-1', ...options }) };
}

describe('the osls plugin for emulators', () => {
  it('points the local stage at LocalStack with dummy credentials when nothing else is set', async () => {
    const env: Record<string, string | undefined> = {};
    const aws = provider();
    assert.deepEqual(prepareAwsTarget('local', env, aws), { AWS_ENDPOINT_URL: LOCALSTACK_ENDPOINT, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });
    assert.equal(env.AWS_ENDPOINT_URL, 'http://localhost:4566');
    assert.deepEqual(await aws.getAwsSdkV3Config({ service: 'S3' }), { region: 'us-east-1', service: 'S3', forcePathStyle: true });
  });

  it('keeps the endpoint and the credentials the user gave', () => {
    const env: Record<string, string | undefined> = { AWS_ENDPOINT_URL: 'http://127.0.0.1:5000', AWS_PROFILE: 'emulator' };
    assert.deepEqual(prepareAwsTarget('local', env, provider()), {});
    assert.equal(env.AWS_ENDPOINT_URL, 'http://127.0.0.1:5000');
    assert.equal(env.AWS_ACCESS_KEY_ID, undefined);
  });

  it('leaves other stages to AWS, or to the endpoint they name (then S3 by path too)', async () => {
    const env: Record<string, string | undefined> = {};
    const aws = provider();
    assert.deepEqual(prepareAwsTarget('dev', env, aws), {});
    assert.deepEqual(env, {});
    assert.deepEqual(await aws.getAwsSdkV3Config(), { region: 'us-east-1' }, 'real AWS: virtual-hosted buckets');
    const emulated = provider();
    prepareAwsTarget('dev', { AWS_ENDPOINT_URL: 'http://127.0.0.1:5000' }, emulated);
    assert.equal((await emulated.getAwsSdkV3Config()).forcePathStyle, true);
  });

  it('refuses a bad endpoint or MODE_RESERVED_CONCURRENCY before anything is deployed', () => {
    assert.throws(() => prepareAwsTarget('local', { AWS_ENDPOINT_URL: 'localhost:4566' }), /^ConfigError: AWS_ENDPOINT_URL must use http or https/);
    assert.throws(() => checkDeployVariables({ MODE_RESERVED_CONCURRENCY: '5' }), /^ConfigError: MODE_RESERVED_CONCURRENCY must be "on" or "off", got "5"/);
    for (const value of [undefined, '', 'on', 'off']) checkDeployVariables({ MODE_RESERVED_CONCURRENCY: value });
  });

  it('lists the routes under the emulator URL in `info`', () => {
    const functions = { mode: { events: [{ http: { method: 'post', path: 'mode' } }, { http: 'GET /mode/' }] }, midPrice: { events: [{}] } };
    assert.deepEqual(httpRoutes(functions), ['POST /mode', 'GET /mode']);
    class AwsInfo {
      gatheredData = { info: { endpoints: ['https://a1b2c3.execute-api.us-east-1.amazonaws.com/local', 'wss://other'] } };
    }
    const info = new AwsInfo();
    emulatorInfoEndpoints([{}, info], functions, { AWS_ENDPOINT_URL: 'http://127.0.0.1:5000' });
    assert.deepEqual(info.gatheredData.info.endpoints, [
      'POST - http://127.0.0.1:5000/restapis/a1b2c3/local/_user_request_/mode',
      'GET - http://127.0.0.1:5000/restapis/a1b2c3/local/_user_request_/mode',
      'wss://other',
    ]);
    const aws = new AwsInfo();
    emulatorInfoEndpoints([aws], functions, {});
    assert.deepEqual(aws.gatheredData.info.endpoints, new AwsInfo().gatheredData.info.endpoints, 'on AWS as osls prints them');
  });

  it('leaves the deployment-only OUTPUT_URI out of invoke local, keeping the rest', () => {
    const functions = { midPrice: { environment: { OUTPUT_URI: { 'Fn::Sub': 's3://${ReplayBucket}/output' }, LOG_LEVEL: 'INFO' } }, mode: {} };
    assert.deepEqual(dropDeployedOnlyVariables(functions), ['midPrice.OUTPUT_URI']);
    assert.deepEqual(functions.midPrice.environment, { LOG_LEVEL: 'INFO' });
  });
});
