/**
 * API Gateway on the embedded edge: the control plane (control-plane.ts) for the REST API built
 * from serverless.yml, and its invoke URLs, the two forms LocalStack serves:
 *
 *   http://127.0.0.1:4566/restapis/<id>/local/_user_request_/mode
 *   http://<id>.execute-api.localhost.localstack.cloud:4566/local/mode
 *
 * Both, and test-invoke-method, run the real handler (functions/mode.ts) through the Lambda
 * proxy integration (proxy-event.ts) in this process (lambda-runner.ts).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../lib/logging/logger.ts';
import { sigV4AccessKey } from '../../lib/http/state-change.ts';
import { awsError, handleControlRequest, type ControlAnswer, type TestInvocation } from './control-plane.ts';
import { LambdaRunner } from './lambda-runner.ts';
import { BAD_GATEWAY, buildProxyEvent, proxyResponse, type ProxyRequest, type ProxyResponse } from './proxy-event.ts';
import { buildRestApi, functionName, LOCAL_STAGE, matchResource, routeFor, type RestApi, type RestApiResource } from './rest-api.ts';
import { readServerlessHttpApi } from './serverless-http-api.ts';

/** API Gateway's own payload limit. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;
const TEST_INVOKE_STAGE = 'test-invoke-stage';
const EXECUTE_API_HOST = /^([a-z0-9]+)\.execute-api\.localhost\.localstack\.cloud(?::\d+)?$/i;
const USER_REQUEST_PATH = /^\/restapis\/([^/]+)\/([^/]+)\/_user_request_(\/.*)?$/;

export interface InvokeTarget {
  apiId: string;
  stage: string;
  /** Below the stage, with its query string. */
  path: string;
}

/** The invoke URL a request is for, if it is one (by its `Host`, or by the `_user_request_` path). */
export function invokeTarget(host: string | undefined, url: string): InvokeTarget | undefined {
  const byHost = EXECUTE_API_HOST.exec(host ?? '');
  if (byHost !== null) {
    const match = /^\/([^/?]+)(\/[^?]*)?(\?.*)?$/.exec(url);
    if (match === null) return { apiId: (byHost[1] as string).toLowerCase(), stage: '', path: '/' };
    return { apiId: (byHost[1] as string).toLowerCase(), stage: match[1] as string, path: (match[2] ?? '/') + (match[3] ?? '') };
  }
  const [pathname, query] = splitQuery(url);
  const byPath = USER_REQUEST_PATH.exec(pathname);
  if (byPath === null) return undefined;
  return { apiId: byPath[1] as string, stage: byPath[2] as string, path: (byPath[3] ?? '/') + (query === '' ? '' : `?${query}`) };
}

function splitQuery(url: string): [string, string] {
  const q = url.indexOf('?');
  return q === -1 ? [url, ''] : [url.slice(0, q), url.slice(q + 1)];
}

function headerPairs(raw: readonly string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([raw[i] as string, raw[i + 1] as string]);
  return pairs;
}

/** The whole body, or undefined past the limit (read to the end anyway, so the answer can be sent). */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  return size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks);
}

function send(res: ServerResponse, response: ProxyResponse, requestId: string): void {
  const headers: Record<string, string | string[]> = {};
  for (const [name, values] of Object.entries(response.headers)) {
    // Framing is ours to set; the rest is the handler's.
    if (name === 'content-length' || name === 'transfer-encoding' || name === 'connection') continue;
    headers[name] = values.length === 1 ? (values[0] as string) : values;
  }
  headers['x-amzn-requestid'] = requestId;
  headers['content-length'] = String(response.body.length);
  res.writeHead(response.status, headers);
  res.end(response.body);
}

function sendJson(res: ServerResponse, answer: ControlAnswer, requestId: string): void {
  const type = answer.body.__type;
  const headers: Record<string, string[]> = { 'content-type': ['application/json'] };
  if (typeof type === 'string') headers['x-amzn-errortype'] = [type];
  send(res, { status: answer.status, headers, body: Buffer.from(JSON.stringify(answer.body)) }, requestId);
}

function message(status: number, text: string): ProxyResponse {
  return { status, headers: { 'content-type': ['application/json'] }, body: Buffer.from(JSON.stringify({ message: text })) };
}

export class ApiGatewayService {
  constructor(
    private readonly api: RestApi,
    private readonly runner: LambdaRunner,
    private readonly logger: Logger,
  ) {}

  /** Runs the handler of `resource`'s `method` with `request`: API Gateway's answer. */
  private async run(resource: RestApiResource, request: ProxyRequest): Promise<ProxyResponse> {
    const route = routeFor(resource, request.method);
    if (route === undefined) {
      const allow = [...resource.methods.keys()].join(', ');
      return { ...message(405, `method ${request.method} is not defined on ${resource.path} (it has ${allow})`), headers: { 'content-type': ['application/json'], allow: [allow] } };
    }
    const name = functionName(this.api, route);
    const started = performance.now();
    try {
      const result = await this.runner.invoke(route, name, buildProxyEvent(this.api, resource, request));
      const response = proxyResponse(result);
      if (response === undefined) {
        this.logger.error('malformed Lambda proxy response', { functionName: name });
        return BAD_GATEWAY;
      }
      this.logger.info('api gateway invoke', { functionName: name, method: request.method, path: request.path, stage: request.stage, status: response.status, ms: Math.round(performance.now() - started) });
      return response;
    } catch (error) {
      this.logger.error('Lambda invocation failed', { functionName: name, error });
      return BAD_GATEWAY;
    }
  }

  private async testInvoke(invocation: TestInvocation, accessKey: string | undefined, requestId: string): Promise<ControlAnswer> {
    const started = performance.now();
    const [path, query] = splitQuery(invocation.pathWithQueryString);
    const match = matchResource(this.api, path);
    const response = await this.run(invocation.resource, {
      method: invocation.method,
      path,
      query: new URLSearchParams(query),
      headers: invocation.headers,
      body: invocation.body,
      pathParameters: match?.resource.id === invocation.resource.id ? match.pathParameters : {},
      sourceIp: 'test-invoke-source-ip',
      stage: TEST_INVOKE_STAGE,
      requestId,
      requestTimeEpochMs: Date.now(),
      caller: accessKey === undefined ? undefined : { accessKey },
    });
    const latency = Math.round(performance.now() - started);
    const headers = Object.fromEntries(Object.entries(response.headers).map(([name, values]) => [name, values.at(-1) ?? '']));
    const log = [
      `Execution log for request ${requestId}`,
      `HTTP Method: ${invocation.method}, Resource Path: ${invocation.resource.path}`,
      `Method request path: ${invocation.pathWithQueryString}`,
      `Method completed with status: ${response.status}`,
      '',
    ].join('\n');
    return { status: 200, body: { status: response.status, body: response.body.toString('utf8'), headers, multiValueHeaders: response.headers, log, latency } };
  }

  /** A control-plane request (`/restapis…`, SigV4 service `apigateway`). */
  async handleControl(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const body = await readBody(req);
    if (body === undefined) return sendJson(res, awsError(413, 'BadRequestException', `request body is larger than ${MAX_BODY_BYTES} bytes`), requestId);
    const [path, query] = splitQuery(req.url ?? '/');
    const accessKey = sigV4AccessKey(req.headers.authorization);
    const answer = await handleControlRequest(
      this.api,
      { method: req.method ?? 'GET', path, query: new URLSearchParams(query), body: body.toString('utf8') },
      (invocation) => this.testInvoke(invocation, accessKey, requestId),
    );
    this.logger.debug('api gateway control plane', { method: req.method, path, status: answer.status });
    sendJson(res, answer, requestId);
  }

  /**
   * A request on a server of the stage alone (`up`'s mode API): the path is the resource's, as
   * serverless-offline serves it (`/mode`), with no `/restapis/…` prefix.
   */
  handleStage(req: IncomingMessage, res: ServerResponse): Promise<void> {
    return this.handleInvoke(req, res, { apiId: this.api.id, stage: this.api.stage, path: req.url ?? '/' });
  }

  /** A request to an invoke URL. */
  async handleInvoke(req: IncomingMessage, res: ServerResponse, target: InvokeTarget): Promise<void> {
    const requestId = randomUUID();
    const reply = (response: ProxyResponse): void => send(res, response, requestId);
    if (target.apiId !== this.api.id) {
      req.resume();
      return reply(message(404, `no REST API ${target.apiId} here; the embedded stack serves ${this.api.name} (${this.api.id})`));
    }
    if (target.stage !== this.api.stage) {
      req.resume();
      return reply(message(404, `no stage "${target.stage}" in ${this.api.name}; its stage is "${this.api.stage}"`));
    }
    const [path, query] = splitQuery(target.path);
    const match = matchResource(this.api, path);
    if (match === undefined) {
      req.resume();
      return reply(message(404, `no resource matches ${path} in ${this.api.name} (it has ${this.api.resources.map((r) => r.path).join(', ')})`));
    }
    const body = await readBody(req);
    if (body === undefined) return reply(message(413, 'Request Too Long'));
    const response = await this.run(match.resource, {
      method: req.method ?? 'GET',
      path,
      query: new URLSearchParams(query),
      headers: headerPairs(req.rawHeaders),
      body: body.length === 0 ? undefined : body.toString('utf8'),
      pathParameters: match.pathParameters,
      sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      stage: target.stage,
      requestId,
      requestTimeEpochMs: Date.now(),
    });
    reply(response);
  }
}

export interface ApiGatewayOptions {
  /** The serverless.yml whose REST API is served. */
  serviceFile: string;
  /** The functions' TABLE_NAME, STREAM_NAME and AWS_REGION. */
  functions: { tableName: string; streamName: string; region: string };
  /** The stack's own edge: the functions' AWS_ENDPOINT_URL. */
  endpointUrl: string;
  logLevel: string;
  logger: Logger;
}

/** serverless.yml's REST API (stage `local`) with its functions run by `runner`. */
export async function serveRestApi(serviceFile: string, region: string, runner: LambdaRunner, logger: Logger): Promise<ApiGatewayService> {
  const definition = await readServerlessHttpApi(serviceFile);
  const api = buildRestApi(definition, { stage: LOCAL_STAGE, region, createdDate: Math.floor(Date.now() / 1000) });
  logger.info('api gateway ready', { restApiId: api.id, name: api.name, stage: api.stage, resources: api.resources.map((r) => r.path) });
  return new ApiGatewayService(api, runner, logger);
}

/** API Gateway for serverless.yml's REST API (stage `local`); its functions use the stack through the edge. */
export async function startApiGateway(options: ApiGatewayOptions): Promise<ApiGatewayService> {
  const { serviceFile, functions } = options;
  const runner = new LambdaRunner({
    region: functions.region,
    environment: {
      AWS_ENDPOINT_URL: options.endpointUrl,
      AWS_REGION: functions.region,
      AWS_DEFAULT_REGION: functions.region,
      // What LocalStack expects; the emulators accept any signature.
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      TABLE_NAME: functions.tableName,
      STREAM_NAME: functions.streamName,
      LOG_LEVEL: options.logLevel,
    },
  });
  return serveRestApi(serviceFile, functions.region, runner, options.logger);
}
