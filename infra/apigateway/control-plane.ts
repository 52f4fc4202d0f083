/**
 * The API Gateway (REST, v1) control plane for the one API the embedded edge serves: the reads
 * the README's commands make and `test-invoke-method`. Every other operation answers a clear
 * AWS-style error (`__type`, `message`: what the AWS CLI prints), never a silent success.
 *
 * Pure routing: the test invocation itself is a callback (api-gateway-service.ts runs the handler).
 */
import { LOCAL_ACCOUNT_ID } from '../../lib/http/proxy-identity.ts';
import { methodJson, resourceJson, restApiJson, routeFor, stageJson, type RestApi, type RestApiResource } from './rest-api.ts';

export interface ControlRequest {
  method: string;
  /** Decoded path segments after `/restapis` are matched; the raw path for messages. */
  path: string;
  query: URLSearchParams;
  /** The request body as text (JSON for test-invoke-method). */
  body: string;
}

export interface ControlAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** What test-invoke-method asks for, validated. */
export interface TestInvocation {
  resource: RestApiResource;
  method: string;
  pathWithQueryString: string;
  body: string | undefined;
  headers: Array<[string, string]>;
}

export type TestInvoke = (invocation: TestInvocation) => Promise<ControlAnswer>;

const SUPPORTED =
  'get-rest-apis, get-rest-api, get-resources, get-resource, get-method, get-stages, get-stage and test-invoke-method';

export function awsError(status: number, type: string, message: string): ControlAnswer {
  return { status, body: { __type: type, message } };
}

const notFound = (what: string, id: string): ControlAnswer => awsError(404, 'NotFoundException', `Invalid ${what} identifier specified ${LOCAL_ACCOUNT_ID}:${id}`);

function notSupported(request: ControlRequest): ControlAnswer {
  return awsError(
    501,
    'NotImplementedException',
    `API Gateway ${request.method} ${request.path.slice(0, 200)} is not supported by the embedded stack: it serves the API ` +
      `defined in serverless.yml, read-only (${SUPPORTED}); deploy to LocalStack (docker compose up localstack; ` +
      'npx osls deploy --stage local) for everything else',
  );
}

function isStringMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The test-invoke-method request body, or the BadRequestException it deserves. */
function parseTestInvoke(resource: RestApiResource, method: string, text: string): TestInvocation | ControlAnswer {
  let input: unknown = {};
  if (text.trim() !== '') {
    try {
      input = JSON.parse(text);
    } catch {
      return awsError(400, 'BadRequestException', 'test-invoke-method: the request body is not JSON');
    }
  }
  if (!isStringMap(input)) return awsError(400, 'BadRequestException', 'test-invoke-method: the request body must be a JSON object');
  const { pathWithQueryString, body, headers, multiValueHeaders } = input;
  if (pathWithQueryString !== undefined && typeof pathWithQueryString !== 'string') return awsError(400, 'BadRequestException', 'pathWithQueryString must be a string');
  if (body !== undefined && typeof body !== 'string') return awsError(400, 'BadRequestException', 'body must be a string');
  const pairs: Array<[string, string]> = [];
  if (headers !== undefined) {
    if (!isStringMap(headers)) return awsError(400, 'BadRequestException', 'headers must be a map of strings');
    for (const [name, value] of Object.entries(headers)) {
      if (typeof value !== 'string') return awsError(400, 'BadRequestException', `header ${name} must be a string`);
      pairs.push([name, value]);
    }
  }
  if (multiValueHeaders !== undefined) {
    if (!isStringMap(multiValueHeaders)) return awsError(400, 'BadRequestException', 'multiValueHeaders must be a map of string lists');
    for (const [name, values] of Object.entries(multiValueHeaders)) {
      if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) return awsError(400, 'BadRequestException', `multiValueHeaders.${name} must be a list of strings`);
      for (const value of values as string[]) pairs.push([name, value]);
    }
  }
  return { resource, method, pathWithQueryString: pathWithQueryString ?? resource.path, body, headers: pairs };
}

/** Answers one control-plane request for `api`. */
export async function handleControlRequest(api: RestApi, request: ControlRequest, testInvoke: TestInvoke): Promise<ControlAnswer> {
  const segments = request.path.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  if (segments[0] !== 'restapis') return notSupported(request);
  const [, apiId, collection, itemId, sub, methodName, ...rest] = segments;
  const embedMethods = request.query.getAll('embed').some((value) => value.split(',').includes('methods'));
  const get = request.method === 'GET';

  if (apiId === undefined) return get ? { status: 200, body: { item: [restApiJson(api)] } } : notSupported(request);
  if (apiId !== api.id) return get || request.method === 'POST' ? notFound('API', apiId) : notSupported(request);
  if (collection === undefined) return get ? { status: 200, body: restApiJson(api) } : notSupported(request);

  if (collection === 'resources') {
    if (itemId === undefined) return get ? { status: 200, body: { item: api.resources.map((r) => resourceJson(api, r, embedMethods)) } } : notSupported(request);
    const resource = api.resources.find((r) => r.id === itemId);
    if (sub === undefined) {
      if (!get) return notSupported(request);
      return resource === undefined ? notFound('Resource', itemId) : { status: 200, body: resourceJson(api, resource, embedMethods) };
    }
    if (sub !== 'methods' || methodName === undefined || rest.length > 0) return notSupported(request);
    if (!get && request.method !== 'POST') return notSupported(request);
    if (resource === undefined) return notFound('Resource', itemId);
    const method = methodName.toUpperCase();
    const route = resource.methods.get(method) ?? (request.method === 'POST' ? routeFor(resource, method) : undefined);
    if (route === undefined) return notFound('Method', method);
    if (get) return { status: 200, body: methodJson(api, resource, route) };
    const invocation = parseTestInvoke(resource, method, request.body);
    return 'status' in invocation ? invocation : testInvoke(invocation);
  }

  if (collection === 'stages') {
    if (!get || sub !== undefined) return notSupported(request);
    if (itemId === undefined) return { status: 200, body: { item: [stageJson(api)] } };
    return itemId === api.stage ? { status: 200, body: stageJson(api) } : notFound('Stage', itemId);
  }
  return notSupported(request);
}
