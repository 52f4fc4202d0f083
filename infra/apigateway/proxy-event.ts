/**
 * The Lambda proxy integration (REST, v1) in both directions, as API Gateway does it (pure):
 * a request becomes an `APIGatewayProxyEvent`; the handler's result becomes a status, headers and
 * a body — or, when it is not a valid proxy result, the 502 API Gateway answers then.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID, proxyIdentity } from '../../lib/http/proxy-identity.ts';
import type { RestApi, RestApiResource } from './rest-api.ts';

export interface ProxyRequest {
  method: string;
  /** The path below the stage (`/mode`). */
  path: string;
  query: URLSearchParams;
  /** Header pairs as the client sent them (names keep their case). */
  headers: ReadonlyArray<readonly [string, string]>;
  body: string | undefined;
  pathParameters: Record<string, string>;
  sourceIp: string;
  /** `local`, or `test-invoke-stage` for test-invoke-method (what API Gateway uses). */
  stage: string;
  requestId: string;
  requestTimeEpochMs: number;
  /** The IAM caller, for test-invoke-method (API Gateway fills these for IAM-authenticated calls). */
  caller?: { accessKey: string };
}

export interface ProxyResponse {
  status: number;
  /** Lower-case names, every value. */
  headers: Record<string, string[]>;
  body: Buffer;
}

function grouped(pairs: Iterable<readonly [string, string]>): { single: Record<string, string>; multi: Record<string, string[]> } {
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [name, value] of pairs) {
    single[name] = value;
    (multi[name] ??= []).push(value);
  }
  return { single, multi };
}

function orNull<T extends object>(value: T): T | null {
  return Object.keys(value).length === 0 ? null : value;
}

export function buildProxyEvent(api: RestApi, resource: RestApiResource, request: ProxyRequest): APIGatewayProxyEvent {
  const headers = grouped(request.headers);
  const query = grouped(request.query.entries());
  const userAgent = request.headers.find(([name]) => name.toLowerCase() === 'user-agent')?.[1] ?? null;
  return {
    resource: resource.path,
    path: request.path,
    httpMethod: request.method,
    headers: headers.single,
    multiValueHeaders: headers.multi,
    queryStringParameters: orNull(query.single),
    multiValueQueryStringParameters: orNull(query.multi),
    pathParameters: orNull(request.pathParameters),
    stageVariables: null,
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: api.id,
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: request.method,
      identity: proxyIdentity(request.sourceIp, userAgent, request.caller),
      path: `/${request.stage}${request.path}`,
      stage: request.stage,
      requestId: request.requestId,
      requestTimeEpoch: request.requestTimeEpochMs,
      resourceId: resource.id,
      resourcePath: resource.path,
    },
    body: request.body === undefined || request.body === '' ? null : request.body,
    isBase64Encoded: false,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function headerValue(value: unknown): string | undefined {
  return typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
}

/** The HTTP answer for a handler's result; undefined when it is not a valid proxy result. */
export function proxyResponse(result: unknown): ProxyResponse | undefined {
  if (!isRecord(result)) return undefined;
  const status = result.statusCode;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) return undefined;
  const headers: Record<string, string[]> = {};
  if (result.headers !== undefined && result.headers !== null) {
    if (!isRecord(result.headers)) return undefined;
    for (const [name, value] of Object.entries(result.headers)) {
      const text = headerValue(value);
      if (text === undefined) return undefined;
      headers[name.toLowerCase()] = [text];
    }
  }
  if (result.multiValueHeaders !== undefined && result.multiValueHeaders !== null) {
    if (!isRecord(result.multiValueHeaders)) return undefined;
    for (const [name, values] of Object.entries(result.multiValueHeaders)) {
      if (!Array.isArray(values)) return undefined;
      const texts = values.map(headerValue);
      if (texts.some((t) => t === undefined)) return undefined;
      headers[name.toLowerCase()] = [...(headers[name.toLowerCase()] ?? []), ...(texts as string[])];
    }
  }
  const body = result.body ?? '';
  if (typeof body !== 'string') return undefined;
  return { status, headers, body: result.isBase64Encoded === true ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8') };
}

/** API Gateway's answer when the integration failed or answered garbage. */
export const BAD_GATEWAY: ProxyResponse = {
  status: 502,
  headers: { 'content-type': ['application/json'], 'x-amzn-errortype': ['InternalServerErrorException'] },
  body: Buffer.from(JSON.stringify({ message: 'Internal server error' })),
};
