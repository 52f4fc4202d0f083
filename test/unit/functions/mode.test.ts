/**
 * The mode handler with a real ControlStore on the embedded DynamoDB: what API Gateway would
 * answer for each request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { modeEvent } from '../../support/api-gateway-event.ts';
import { createModeHandler, type ModeHandler } from '../../../functions/mode.ts';
import { bootstrapResources } from '../../../infra/bootstrap.ts';
import { startEmbeddedStack, type EmbeddedStack } from '../../../infra/embedded-stack.ts';
import { createAwsClients, type AwsClients } from '../../../lib/aws/clients.ts';
import { createLocalContext } from '../../../lib/consumer/lambda-context.ts';
import { ControlStore, type ReplayStatus } from '../../../lib/control/control-store.ts';
import { silentLogger } from '../../../lib/logging/logger.ts';
import { makeTempDir, type TempDir } from '../../support/temp-dir.ts';

const quiet = new Logger({ serviceName: 'mode-test', logLevel: 'SILENT' });
const TABLE = 'mode-state';


function parse(result: APIGatewayProxyResult): Record<string, unknown> {
  assert.equal(result.headers?.['content-type'], 'application/json');
  return JSON.parse(result.body) as Record<string, unknown>;
}

describe('mode handler', () => {
  let tmp: TempDir;
  let stack: EmbeddedStack;
  let clients: AwsClients;
  let store: ControlStore;
  let handler: ModeHandler;
  const call = (e: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => handler(e, createLocalContext('mode', 'us-east-1'));

  before(async () => {
    tmp = await makeTempDir();
    stack = await startEmbeddedStack({ stateDir: tmp.join('state'), edgePort: 0, logger: silentLogger, logLevel: 'WARN' });
    clients = createAwsClients({ endpointUrl: stack.endpointUrl, region: 'us-east-1', env: {} });
    await bootstrapResources(clients, { streamName: 'mode-quotes', shardCount: 1, tableName: TABLE }, silentLogger);
    store = new ControlStore(clients.dynamodb, TABLE);
    handler = createModeHandler({ store, logger: quiet });
  });

  after(async () => {
    clients.destroy();
    await stack.stop();
    await tmp.remove();
  });

  it('answers GET /mode with the default mode and no status before any request', async () => {
    const result = await call(modeEvent('GET'));
    assert.equal(result.statusCode, 200);
    assert.deepEqual(parse(result), { mode: 'historical', version: 0, requestedAt: '', status: null });
  });

  it('records a valid POST and increments the version each time', async () => {
    const first = await call(modeEvent('POST', '{"mode":"live"}'));
    assert.equal(first.statusCode, 200);
    const body = parse(first);
    assert.equal(body.mode, 'live');
    assert.equal(body.version, 1);
    assert.equal(body.fromStart, false);
    assert.ok(!Number.isNaN(Date.parse(String(body.requestedAt))));

    const second = parse(await call(modeEvent('POST', '{"mode":"historical","from":"start"}')));
    assert.deepEqual({ mode: second.mode, version: second.version, fromStart: second.fromStart }, { mode: 'historical', version: 2, fromStart: true });

    const third = parse(await call(modeEvent('POST', Buffer.from('{"mode":"live"}').toString('base64'), true)));
    assert.equal(third.version, 3);
    assert.equal((await store.getMode()).mode, 'live');
  });

  it('rejects invalid bodies with 400/413 JSON and leaves the mode unchanged', async () => {
    const before = await store.getMode();
    const bad: Array<[string | null, number, string]> = [
      [null, 400, 'missing_body'],
      ['not json', 400, 'invalid_json'],
      ['{"mode":"paper"}', 400, 'invalid_mode'],
      ['{"mode":"live","from":"start"}', 400, 'invalid_from'],
      ['{"mode":"live","__proto__":{"x":1}}', 400, 'unknown_field'],
      ['[]', 400, 'invalid_body'],
      [`{"mode":"historical","pad":"${'x'.repeat(2048)}"}`, 413, 'payload_too_large'],
    ];
    for (const [body, status, error] of bad) {
      const result = await call(modeEvent('POST', body));
      assert.equal(result.statusCode, status, `status for ${String(body).slice(0, 40)}`);
      const json = parse(result);
      assert.equal(json.error, error);
      assert.equal(typeof json.message, 'string');
      assert.deepEqual(Object.keys(json).sort(), ['error', 'message']);
    }
    assert.deepEqual(await store.getMode(), before);
  });

  it('takes a POST only as JSON, SigV4-signed or from an IAM caller: a web page’s form or text body gets 415', async () => {
    const before = await store.getMode();
    const withHeaders = (headers: Record<string, string>): APIGatewayProxyEvent => ({ ...modeEvent('POST', '{"mode":"live"}'), headers, multiValueHeaders: {} });
    const refusedHeaders: Array<Record<string, string>> = [{}, { 'content-type': 'text/plain' }, { 'Content-Type': 'application/x-www-form-urlencoded' }, { 'content-type': 'multipart/form-data; boundary=x' }, { authorization: 'Bearer x' }];
    for (const headers of refusedHeaders) {
      const result = await call(withHeaders(headers));
      assert.equal(result.statusCode, 415, JSON.stringify(headers));
      assert.equal(parse(result).error, 'unsupported_media_type');
    }
    assert.deepEqual(await store.getMode(), before, 'nothing changed');
    const sigV4 = 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=00';
    assert.equal((await call(withHeaders({ 'Content-Type': 'application/json; charset=utf-8' }))).statusCode, 200, 'JSON, any header case');
    assert.equal((await call(withHeaders({ Authorization: sigV4 }))).statusCode, 200, 'SigV4-signed');
    // test-invoke-method and aws_iam routes: API Gateway authenticated the caller.
    const iam = withHeaders({});
    iam.requestContext = { identity: { accessKey: 'AKIDEXAMPLE' } } as APIGatewayProxyEvent['requestContext'];
    assert.equal((await call(iam)).statusCode, 200, 'IAM caller');
    assert.equal((await store.getMode()).version, before.version + 3);
  });

  it('includes the replayer status in GET /mode', async () => {
    const status: ReplayStatus = {
      mode: 'live',
      appliedVersion: 3,
      historical: { done: 5, total: 9, completed: false },
      live: { url: 'ws://127.0.0.1:9000', connection: 'open', received: 12, rejected: 0, reconnects: 1 },
      updatedAt: new Date().toISOString(),
    };
    await store.putStatus(status);
    const body = parse(await call(modeEvent('GET')));
    const current = await store.getMode();
    assert.deepEqual(body, { mode: current.mode, version: current.version, requestedAt: current.requestedAt, status });
  });

  it('answers any other method with 405 and an Allow header', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const result = await call(modeEvent(method, '{"mode":"live"}'));
      assert.equal(result.statusCode, 405);
      assert.equal(result.headers?.allow, 'GET, POST');
      assert.equal(parse(result).error, 'method_not_allowed');
    }
  });

  it('answers 503 JSON when DynamoDB cannot be reached', async () => {
    const unreachable = createAwsClients({ endpointUrl: 'http://127.0.0.1:9', region: 'us-east-1', env: {} });
    try {
      const down = createModeHandler({ store: new ControlStore(unreachable.dynamodb, TABLE), logger: quiet });
      for (const e of [modeEvent('GET'), modeEvent('POST', '{"mode":"live"}')]) {
        const result = await down(e, createLocalContext('mode', 'us-east-1'));
        assert.equal(result.statusCode, 503);
        assert.equal(parse(result).error, 'service_unavailable');
      }
      // Bad input is still a 400 (validated before DynamoDB is touched).
      assert.equal((await down(modeEvent('POST', '{"mode":1}'), createLocalContext('mode', 'us-east-1'))).statusCode, 400);
    } finally {
      unreachable.destroy();
    }
  });
});
