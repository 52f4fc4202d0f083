/**
 * The REST API that `serverless deploy` would create, read from serverless.yml itself: the
 * service name, the API's name settings and every function's `http` events. The embedded edge
 * serves exactly this (api-gateway-service.ts), so there is no second description to keep in step.
 *
 * Only literal values are understood: a field the API depends on that uses a `${…}` variable
 * fails with the field's name (resolving variables is the Serverless Framework's job).
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { TickReplayError } from '../../lib/errors.ts';

/** serverless.yml cannot be read, or describes an API this reader does not understand. */
export class ServerlessConfigError extends TickReplayError {}

export type AuthorizationType = 'NONE' | 'AWS_IAM' | 'CUSTOM';

export interface HttpRoute {
  /** The function's key under `functions:` (`mode`). */
  functionKey: string;
  /** `functions/mode.handler`: module path, then the export. */
  handler: string;
  /** Upper case; `ANY` for `method: any`. */
  method: string;
  /** Leading slash, no trailing one: `/mode`, `/` for the root. */
  path: string;
  authorizationType: AuthorizationType;
  /** The function's timeout (function, else provider, else the framework's 6 s). */
  timeoutSeconds: number;
}

export interface ServerlessHttpApi {
  service: string;
  /** `provider.apiName`, when set. */
  apiName: string | undefined;
  /** `provider.apiGateway.shouldStartNameWithService`. */
  nameStartsWithService: boolean;
  routes: HttpRoute[];
}

const DEFAULT_TIMEOUT_SECONDS = 6;
const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'ANY']);

type Node = Record<string, unknown>;

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function literal(value: unknown, field: string, file: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ServerlessConfigError(`${file}: ${field} must be a non-empty string`, { file, field });
  if (value.includes('${')) {
    throw new ServerlessConfigError(`${file}: ${field} uses a variable (${value}); the embedded API Gateway reads literal values only`, { file, field });
  }
  return value.trim();
}

function timeoutOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

function authorizationOf(authorizer: unknown): AuthorizationType {
  if (authorizer === undefined || authorizer === null) return 'NONE';
  const type = typeof authorizer === 'string' ? authorizer : isNode(authorizer) ? authorizer.type : undefined;
  return typeof type === 'string' && type.toLowerCase() === 'aws_iam' ? 'AWS_IAM' : 'CUSTOM';
}

function normalisePath(raw: string): string {
  const trimmed = raw.replace(/^\/+|\/+$/g, '');
  return `/${trimmed}`;
}

/** One `http` event: `"POST mode"` or `{path, method, authorizer?}`. */
function routeOf(event: unknown, where: string, file: string): { method: string; path: string; authorizationType: AuthorizationType } {
  if (typeof event === 'string') {
    const [method, path, ...rest] = literal(event, where, file).split(/\s+/);
    if (method === undefined || path === undefined || rest.length > 0) {
      throw new ServerlessConfigError(`${file}: ${where} must be "METHOD path", got "${event}"`, { file, field: where });
    }
    return checked(method, path, 'NONE', where, file);
  }
  if (!isNode(event)) throw new ServerlessConfigError(`${file}: ${where} must be "METHOD path" or an object with path and method`, { file, field: where });
  const method = literal(event.method, `${where}.method`, file);
  const path = event.path === '' || event.path === '/' ? '/' : literal(event.path, `${where}.path`, file);
  return checked(method, path, authorizationOf(event.authorizer), where, file);
}

function checked(method: string, path: string, authorizationType: AuthorizationType, where: string, file: string) {
  const upper = method.toUpperCase();
  if (!METHODS.has(upper)) throw new ServerlessConfigError(`${file}: ${where} has an unknown method "${method}"`, { file, field: where });
  return { method: upper, path: normalisePath(path), authorizationType };
}

/** The API in a parsed serverless.yml (pure). */
export function httpApiFromServerlessConfig(document: unknown, file = 'serverless.yml'): ServerlessHttpApi {
  if (!isNode(document)) throw new ServerlessConfigError(`${file} is not a YAML mapping`, { file });
  const serviceNode = document.service;
  const service = literal(isNode(serviceNode) ? serviceNode.name : serviceNode, 'service', file);
  const provider = isNode(document.provider) ? document.provider : {};
  const apiName = provider.apiName === undefined ? undefined : literal(provider.apiName, 'provider.apiName', file);
  const apiGateway = isNode(provider.apiGateway) ? provider.apiGateway : {};
  const providerTimeout = timeoutOf(provider.timeout);
  const routes: HttpRoute[] = [];
  const functions = isNode(document.functions) ? document.functions : {};
  for (const [functionKey, definition] of Object.entries(functions)) {
    if (!isNode(definition)) continue;
    const events = Array.isArray(definition.events) ? (definition.events as unknown[]) : [];
    events.forEach((event, index) => {
      if (!isNode(event) || event.http === undefined) return;
      const where = `functions.${functionKey}.events[${index}].http`;
      const handler = literal(definition.handler, `functions.${functionKey}.handler`, file);
      routes.push({
        functionKey,
        handler,
        ...routeOf(event.http, where, file),
        timeoutSeconds: timeoutOf(definition.timeout) ?? providerTimeout ?? DEFAULT_TIMEOUT_SECONDS,
      });
    });
  }
  return { service, apiName, nameStartsWithService: apiGateway.shouldStartNameWithService === true, routes };
}

/** Reads and parses `file` (a serverless.yml). */
export async function readServerlessHttpApi(file: string): Promise<ServerlessHttpApi> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ServerlessConfigError(`cannot read ${file}: ${(error as Error).message}`, { file }, { cause: error });
  }
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    throw new ServerlessConfigError(`${file} is not valid YAML: ${(error as Error).message}`, { file }, { cause: error });
  }
  return httpApiFromServerlessConfig(document, file);
}
