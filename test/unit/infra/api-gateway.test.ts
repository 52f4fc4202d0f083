/**
 * The embedded API Gateway's pure parts: the REST API derived from serverless.yml (the project's
 * own file, not a copy), its control-plane answers, and the Lambda proxy integration.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { handleControlRequest, type ControlAnswer, type TestInvocation, type TestInvoke } from '../../../infra/apigateway/control-plane.ts';
import { invokeTarget } from '../../../infra/apigateway/api-gateway-service.ts';
import { HANDLER_MODULES } from '../../../infra/apigateway/handler-modules.ts';
import { LambdaInvokeError, LambdaRunner } from '../../../infra/apigateway/lambda-runner.ts';
import { buildProxyEvent, proxyResponse } from '../../../infra/apigateway/proxy-event.ts';
import { buildRestApi, matchResource, routeFor, type RestApi } from '../../../infra/apigateway/rest-api.ts';
import { httpApiFromServerlessConfig, readServerlessHttpApi, ServerlessConfigError } from '../../../infra/apigateway/serverless-http-api.ts';

const SERVERLESS_YML = fileURLToPath(new URL('../../../serverless.yml', import.meta.url));
const options = { stage: 'local', region: 'us-east-1', createdDate: 1_700_000_000 };

async function projectApi(): Promise<RestApi> {
  return buildRestApi(await readServerlessHttpApi(SERVERLESS_YML), options);
}

const noInvoke: TestInvoke = () => Promise.reject(new Error('not expected'));

describe('REST API from serverless.yml', () => {
  it('is the project’s API as `osls deploy --stage local` names it: local-tick-replay with / and /mode (GET, POST)', async () => {
    const api = await projectApi();
    assert.equal(api.name, 'local-tick-replay');
    assert.equal(api.stage, 'local');
    assert.deepEqual(api.resources.map((r) => [r.path, [...r.methods.keys()].sort()]), [['/', []], ['/mode', ['GET', 'POST']]]);
    const mode = api.resources[1];
    assert.equal(mode?.parentId, api.resources[0]?.id);
    assert.equal(mode?.pathPart, 'mode');
    const post = mode?.methods.get('POST');
    assert.equal(post?.handler, 'functions/mode.handler');
    assert.equal(post?.timeoutSeconds, 10, 'provider.timeout');
  });

  it('can run every http function serverless.yml declares (its module is in handler-modules.ts, its export a function)', async () => {
    const api = await projectApi();
    const handlers = new Set(api.resources.flatMap((r) => [...r.methods.values()].map((route) => route.handler)));
    assert.ok(handlers.size > 0);
    for (const handler of handlers) {
      const dot = handler.lastIndexOf('.');
      const load = HANDLER_MODULES[handler.slice(0, dot)];
      assert.ok(load !== undefined, `${handler}: add its module to infra/apigateway/handler-modules.ts`);
      assert.equal(typeof (await load())[handler.slice(dot + 1)], 'function', handler);
    }
  });

  it('names the handler modules it can run when serverless.yml names another', async () => {
    const runner = new LambdaRunner({ environment: {}, region: 'us-east-1', modules: { 'functions/mode': () => Promise.resolve({}) } });
    const route = { functionKey: 'x', handler: 'functions/other.handler', method: 'GET', path: '/x', authorizationType: 'NONE' as const, timeoutSeconds: 1 };
    await assert.rejects(runner.invoke(route, 'x', {}), (e: unknown) => e instanceof LambdaInvokeError && /functions\/other is not one .* has functions\/mode/.test(e.message));
    await assert.rejects(runner.invoke({ ...route, handler: 'functions/mode.handler' }, 'x', {}), /functions\/mode has no exported function "handler"/);
  });

  it('leaves process.env alone when given no environment (handlers configured by their caller, as `up` does)', async () => {
    const profileBefore = process.env.AWS_PROFILE;
    process.env.AWS_PROFILE = 'the-callers-profile';
    try {
      const runner = new LambdaRunner({ region: 'us-east-1', modules: { 'functions/mode': () => Promise.resolve({ handler: () => Promise.resolve(process.env.AWS_PROFILE) }) } });
      const route = { functionKey: 'mode', handler: 'functions/mode.handler', method: 'GET', path: '/mode', authorizationType: 'NONE' as const, timeoutSeconds: 1 };
      assert.equal(await runner.invoke(route, 'mode', {}), 'the-callers-profile');
    } finally {
      if (profileBefore === undefined) delete process.env.AWS_PROFILE;
      else process.env.AWS_PROFILE = profileBefore;
    }
  });

  it('has ids like API Gateway’s, the same on every start', async () => {
    const [a, b] = [await projectApi(), buildRestApi(await readServerlessHttpApi(SERVERLESS_YML), { ...options, createdDate: 1 })];
    assert.match(a.id, /^[a-z0-9]{10}$/);
    assert.equal(a.id, b.id);
    assert.deepEqual(a.resources.map((r) => r.id), b.resources.map((r) => r.id));
    assert.equal(new Set([a.id, a.deploymentId, ...a.resources.map((r) => r.id)]).size, 4, 'all distinct');
  });

  it('reads both event forms, nested paths, any, IAM authorizers and the naming options', () => {
    const api = buildRestApi(
      httpApiFromServerlessConfig({
        service: { name: 'shop' },
        provider: { timeout: 3, apiGateway: { shouldStartNameWithService: true } },
        functions: {
          items: { handler: 'src/items.handler', timeout: 20, events: [{ http: 'GET items/{id}' }, { http: { path: '/items', method: 'any', authorizer: 'aws_iam' } }] },
          files: { handler: 'src/files.handler', events: [{ http: { path: 'files/{path+}', method: 'get' } }, { schedule: 'rate(1 hour)' }] },
        },
      }),
      options,
    );
    assert.equal(api.name, 'shop-local');
    assert.deepEqual(api.resources.map((r) => r.path), ['/', '/files', '/files/{path+}', '/items', '/items/{id}']);
    const items = api.resources.find((r) => r.path === '/items');
    assert.equal(items?.methods.get('ANY')?.authorizationType, 'AWS_IAM');
    assert.equal(routeFor(items, 'DELETE')?.functionKey, 'items', 'ANY takes every method');
    assert.equal(api.resources.find((r) => r.path === '/items/{id}')?.methods.get('GET')?.timeoutSeconds, 20);
    assert.deepEqual(matchResource(api, '/items/42')?.pathParameters, { id: '42' });
    assert.equal(matchResource(api, '/items')?.resource.path, '/items');
    assert.deepEqual(matchResource(api, '/files/a/b%20c')?.pathParameters, { path: 'a/b c' });
    assert.equal(matchResource(api, '/files')?.resource.methods.size, 0, 'a greedy parameter needs a segment: /files is the bare parent');
    assert.equal(matchResource(api, '/items/42/x'), undefined);
    assert.equal(matchResource(api, '/')?.resource.path, '/');
  });

  it('refuses what it cannot read, naming the field', () => {
    assert.throws(() => httpApiFromServerlessConfig({ service: 'x', functions: { f: { handler: 'f.h', events: [{ http: { path: '${self:custom.p}', method: 'get' } }] } } }), (e: unknown) => e instanceof ServerlessConfigError && /functions\.f\.events\[0\]\.http\.path uses a variable/.test(e.message));
    assert.throws(() => httpApiFromServerlessConfig({ service: 'x', functions: { f: { handler: 'f.h', events: [{ http: 'FETCH x' }] } } }), /unknown method "FETCH"/);
    assert.throws(() => httpApiFromServerlessConfig({ functions: {} }), /service must be a non-empty string/);
    assert.throws(() => httpApiFromServerlessConfig('nope'), /not a YAML mapping/);
  });
});

describe('API Gateway control plane', () => {
  const control = async (api: RestApi, method: string, path: string, body = '', invoke: TestInvoke = noInvoke): Promise<ControlAnswer> =>
    handleControlRequest(api, { method, path: path.split('?')[0] as string, query: new URLSearchParams(path.split('?')[1] ?? ''), body }, invoke);

  it('lists the API, its resources and its stage in the shapes botocore reads', async () => {
    const api = await projectApi();
    const apis = await control(api, 'GET', '/restapis');
    assert.equal(apis.status, 200);
    assert.deepEqual((apis.body.item as Array<{ name: string }>).map((a) => a.name), ['local-tick-replay']);
    const resources = (await control(api, 'GET', `/restapis/${api.id}/resources`)).body.item as Array<Record<string, unknown>>;
    assert.deepEqual(resources.map((r) => r.path), ['/', '/mode']);
    assert.deepEqual(resources[1]?.resourceMethods, { POST: {}, GET: {} });
    const embedded = (await control(api, 'GET', `/restapis/${api.id}/resources?embed=methods`)).body.item as Array<{ resourceMethods?: Record<string, { methodIntegration: { type: string; uri: string } }> }>;
    assert.equal(embedded[1]?.resourceMethods?.POST?.methodIntegration.type, 'AWS_PROXY');
    assert.match(embedded[1]?.resourceMethods?.POST?.methodIntegration.uri ?? '', /function:tick-replay-local-mode\/invocations$/);
    assert.deepEqual(((await control(api, 'GET', `/restapis/${api.id}/stages`)).body.item as Array<{ stageName: string }>).map((s) => s.stageName), ['local']);
    assert.equal((await control(api, 'GET', `/restapis/${api.id}/stages/local`)).body.deploymentId, api.deploymentId);
    assert.equal((await control(api, 'GET', `/restapis/${api.id}`)).body.rootResourceId, api.resources[0]?.id);
  });

  it('answers unknown ids with NotFoundException and other operations with NotImplementedException', async () => {
    const api = await projectApi();
    const mode = api.resources[1]?.id ?? '';
    assert.deepEqual(await control(api, 'GET', '/restapis/nope/resources'), { status: 404, body: { __type: 'NotFoundException', message: 'Invalid API identifier specified 000000000000:nope' } });
    assert.equal((await control(api, 'GET', `/restapis/${api.id}/resources/nope`)).body.__type, 'NotFoundException');
    assert.equal((await control(api, 'GET', `/restapis/${api.id}/stages/prod`)).body.__type, 'NotFoundException');
    assert.equal((await control(api, 'GET', `/restapis/${api.id}/resources/${mode}/methods/PUT`)).body.__type, 'NotFoundException');
    for (const [method, path] of [['POST', '/restapis'], ['DELETE', `/restapis/${api.id}`], ['POST', `/restapis/${api.id}/deployments`], ['PATCH', `/restapis/${api.id}/stages/local`], ['GET', '/apikeys']]) {
      const answer = await control(api, method as string, path as string);
      assert.equal(answer.status, 501, `${method} ${path}`);
      assert.equal(answer.body.__type, 'NotImplementedException');
      assert.match(String(answer.body.message), /not supported by the embedded stack.*LocalStack/);
    }
  });

  it('validates test-invoke-method and hands it over', async () => {
    const api = await projectApi();
    const mode = api.resources[1]?.id ?? '';
    const seen: TestInvocation[] = [];
    const invoke = (invocation: TestInvocation): Promise<ControlAnswer> => {
      seen.push(invocation);
      return Promise.resolve({ status: 200, body: { status: 200 } });
    };
    const path = `/restapis/${api.id}/resources/${mode}/methods/post`;
    assert.equal((await control(api, 'POST', path, '{"body":"{}","headers":{"X-A":"1"},"multiValueHeaders":{"X-B":["2","3"]}}', invoke)).status, 200);
    assert.deepEqual(seen.map((s) => [s.method, s.pathWithQueryString, s.body, s.headers]), [['POST', '/mode', '{}', [['X-A', '1'], ['X-B', '2'], ['X-B', '3']]]]);
    assert.equal((await control(api, 'POST', path, 'not json', invoke)).body.__type, 'BadRequestException');
    assert.equal((await control(api, 'POST', path, '{"body":1}', invoke)).body.__type, 'BadRequestException');
    assert.equal((await control(api, 'POST', path, '{"headers":{"a":1}}', invoke)).body.__type, 'BadRequestException');
    assert.equal(seen.length, 1);
  });
});

describe('Lambda proxy integration', () => {
  it('finds invoke URLs by path and by execute-api host', () => {
    assert.deepEqual(invokeTarget('127.0.0.1:4566', '/restapis/abc/local/_user_request_/mode?x=1'), { apiId: 'abc', stage: 'local', path: '/mode?x=1' });
    assert.deepEqual(invokeTarget('abc.execute-api.localhost.localstack.cloud:4566', '/local/mode'), { apiId: 'abc', stage: 'local', path: '/mode' });
    assert.equal(invokeTarget('127.0.0.1:4566', '/restapis/abc/resources'), undefined);
    assert.equal(invokeTarget('127.0.0.1:4566', '/'), undefined);
  });

  it('builds the REST v1 event API Gateway sends', async () => {
    const api = await projectApi();
    const resource = api.resources[1]!;
    const event = buildProxyEvent(api, resource, {
      method: 'POST',
      path: '/mode',
      query: new URLSearchParams('a=1&a=2'),
      headers: [['Content-Type', 'application/json'], ['X-Many', 'a'], ['X-Many', 'b']],
      body: '{"mode":"live"}',
      pathParameters: {},
      sourceIp: '127.0.0.1',
      stage: 'local',
      requestId: 'r1',
      requestTimeEpochMs: 5,
    });
    assert.equal(event.httpMethod, 'POST');
    assert.equal(event.resource, '/mode');
    assert.deepEqual(event.headers, { 'Content-Type': 'application/json', 'X-Many': 'b' });
    assert.deepEqual(event.multiValueHeaders['X-Many'], ['a', 'b']);
    assert.deepEqual(event.multiValueQueryStringParameters, { a: ['1', '2'] });
    assert.equal(event.pathParameters, null);
    assert.equal(event.requestContext.path, '/local/mode');
    assert.equal(event.requestContext.apiId, api.id);
    assert.equal(event.requestContext.identity.accessKey, null, 'not an IAM caller');
    assert.equal(event.body, '{"mode":"live"}');
  });

  it('turns a proxy result into the HTTP answer, and garbage into nothing (API Gateway answers 502)', () => {
    const answer = proxyResponse({ statusCode: 201, headers: { 'Content-Type': 'application/json', 'X-N': 1 }, multiValueHeaders: { 'Set-Cookie': ['a', 'b'] }, body: '{}' });
    assert.deepEqual(answer?.headers, { 'content-type': ['application/json'], 'x-n': ['1'], 'set-cookie': ['a', 'b'] });
    assert.equal(answer?.status, 201);
    assert.equal(proxyResponse({ statusCode: 200, body: Buffer.from('hi').toString('base64'), isBase64Encoded: true })?.body.toString(), 'hi');
    for (const bad of [undefined, null, 'x', {}, { statusCode: '200' }, { statusCode: 99 }, { statusCode: 200, body: {} }, { statusCode: 200, headers: { a: {} } }, { statusCode: 200, multiValueHeaders: { a: 'x' } }]) {
      assert.equal(proxyResponse(bad), undefined, JSON.stringify(bad));
    }
  });
});
