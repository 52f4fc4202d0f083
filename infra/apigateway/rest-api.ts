/**
 * The REST API (API Gateway v1) as `serverless deploy --stage local` creates it, built from the
 * routes in serverless.yml (pure: no I/O, no clock). Ids are derived from the API's name and
 * paths, so they are the same on every start: scripts may keep an id, and the README's
 * `get-rest-apis --query …` finds it either way.
 */
import { createHash } from 'node:crypto';
import { LOCAL_ACCOUNT_ID } from '../../lib/http/proxy-identity.ts';
import type { AuthorizationType, HttpRoute, ServerlessHttpApi } from './serverless-http-api.ts';

/** The stage the README's LocalStack commands use (`osls deploy --stage local`). */
export const LOCAL_STAGE = 'local';

export interface RestApiResource {
  id: string;
  /** Undefined for the root resource. */
  parentId: string | undefined;
  /** The last segment (`mode`); undefined for the root. */
  pathPart: string | undefined;
  /** `/`, `/mode`, `/items/{id}`. */
  path: string;
  /** By upper-case method (`GET`, `POST`, `ANY`). */
  methods: ReadonlyMap<string, HttpRoute>;
}

export interface RestApi {
  id: string;
  name: string;
  stage: string;
  region: string;
  deploymentId: string;
  /** Epoch seconds (the AWS JSON timestamp form). */
  createdDate: number;
  service: string;
  /** Root first, then by path. */
  resources: readonly RestApiResource[];
}

export interface RestApiOptions {
  stage: string;
  region: string;
  createdDate: number;
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Ten characters of [a-z0-9], like API Gateway's own ids, from a hash of `seed`. */
export function shortId(seed: string): string {
  const digest = createHash('sha256').update(seed).digest();
  let id = '';
  for (let i = 0; i < 10; i++) id += ID_ALPHABET[(digest[i] as number) % ID_ALPHABET.length];
  return id;
}

/** The name osls gives the REST API (lib/plugins/aws/lib/naming.js `getApiGatewayName`). */
export function restApiName(api: ServerlessHttpApi, stage: string): string {
  if (api.apiName !== undefined) return api.apiName;
  return api.nameStartsWithService ? `${api.service}-${stage}` : `${stage}-${api.service}`;
}

/** The Lambda function name osls deploys (`<service>-<stage>-<key>`). */
export function functionName(api: RestApi, route: HttpRoute): string {
  return `${api.service}-${api.stage}-${route.functionKey}`;
}

export function buildRestApi(definition: ServerlessHttpApi, options: RestApiOptions): RestApi {
  const name = restApiName(definition, options.stage);
  const id = shortId(`restapi:${name}`);
  const resources = new Map<string, RestApiResource & { methods: Map<string, HttpRoute> }>();
  const resourceAt = (path: string): RestApiResource & { methods: Map<string, HttpRoute> } => {
    const existing = resources.get(path);
    if (existing !== undefined) return existing;
    const parent = path === '/' ? undefined : resourceAt(path.slice(0, path.lastIndexOf('/')) || '/');
    const created = {
      id: shortId(`resource:${id}:${path}`),
      parentId: parent?.id,
      pathPart: path === '/' ? undefined : path.slice(path.lastIndexOf('/') + 1),
      path,
      methods: new Map<string, HttpRoute>(),
    };
    resources.set(path, created);
    return created;
  };
  resourceAt('/');
  for (const route of definition.routes) resourceAt(route.path).methods.set(route.method, route);
  const ordered = [...resources.values()].sort((a, b) => (a.path === '/' ? -1 : b.path === '/' ? 1 : a.path.localeCompare(b.path)));
  return {
    id,
    name,
    stage: options.stage,
    region: options.region,
    deploymentId: shortId(`deployment:${id}:${options.stage}`),
    createdDate: options.createdDate,
    service: definition.service,
    resources: ordered,
  };
}

/** How specific a resource path is: static segments count most, a greedy `{x+}` least. */
function specificity(path: string): number {
  return path
    .split('/')
    .filter((s) => s !== '')
    .reduce((score, segment) => score + (segment.endsWith('+}') ? 0 : segment.startsWith('{') ? 1 : 2), 0);
}

/** The resource a request path reaches, with its path parameters (`{id}`, `{proxy+}`). */
export function matchResource(api: RestApi, requestPath: string): { resource: RestApiResource; pathParameters: Record<string, string> } | undefined {
  const segments = requestPath.split('/').filter((s) => s !== '');
  const candidates = [...api.resources].sort((a, b) => specificity(b.path) - specificity(a.path));
  for (const resource of candidates) {
    const pattern = resource.path.split('/').filter((s) => s !== '');
    const parameters: Record<string, string> = {};
    let matched = true;
    for (let i = 0; i < pattern.length && matched; i++) {
      const part = pattern[i] as string;
      const greedy = /^\{(.+)\+\}$/.exec(part);
      if (greedy !== null && i === pattern.length - 1) {
        if (segments.length <= i) matched = false;
        else parameters[greedy[1] as string] = segments.slice(i).map(decodeURIComponent).join('/');
        break;
      }
      const segment = segments[i];
      if (segment === undefined) matched = false;
      else if (/^\{.+\}$/.test(part)) parameters[part.slice(1, -1)] = decodeURIComponent(segment);
      else if (part !== segment) matched = false;
    }
    const greedyLast = /\+\}$/.test(pattern.at(-1) ?? '');
    if (matched && (greedyLast || segments.length === pattern.length)) return { resource, pathParameters: parameters };
  }
  return undefined;
}

/** The route for `method` on a resource (an `ANY` method takes every method). */
export function routeFor(resource: RestApiResource, method: string): HttpRoute | undefined {
  return resource.methods.get(method.toUpperCase()) ?? resource.methods.get('ANY');
}

// ---------------------------------------------------------------------------------------------
// The shapes the API Gateway control plane answers with (botocore's apigateway model, rest-json).

export function restApiJson(api: RestApi): Record<string, unknown> {
  return {
    id: api.id,
    name: api.name,
    createdDate: api.createdDate,
    apiKeySource: 'HEADER',
    endpointConfiguration: { types: ['EDGE'] },
    disableExecuteApiEndpoint: false,
    rootResourceId: api.resources[0]?.id,
  };
}

export function methodJson(api: RestApi, resource: RestApiResource, route: HttpRoute): Record<string, unknown> {
  const lambdaArn = `arn:aws:lambda:${api.region}:${LOCAL_ACCOUNT_ID}:function:${functionName(api, route)}`;
  const authorizationType: AuthorizationType = route.authorizationType;
  return {
    httpMethod: route.method,
    authorizationType,
    apiKeyRequired: false,
    methodIntegration: {
      type: 'AWS_PROXY',
      httpMethod: 'POST',
      uri: `arn:aws:apigateway:${api.region}:lambda:path/2015-03-31/functions/${lambdaArn}/invocations`,
      passthroughBehavior: 'WHEN_NO_MATCH',
      timeoutInMillis: 29_000,
      cacheNamespace: resource.id,
      cacheKeyParameters: [],
    },
  };
}

export function resourceJson(api: RestApi, resource: RestApiResource, embedMethods: boolean): Record<string, unknown> {
  const json: Record<string, unknown> = { id: resource.id, path: resource.path };
  if (resource.parentId !== undefined) json.parentId = resource.parentId;
  if (resource.pathPart !== undefined) json.pathPart = resource.pathPart;
  if (resource.methods.size > 0) {
    // Without `embed=methods` API Gateway lists the methods with empty bodies.
    json.resourceMethods = Object.fromEntries([...resource.methods].map(([method, route]) => [method, embedMethods ? methodJson(api, resource, route) : {}]));
  }
  return json;
}

export function stageJson(api: RestApi): Record<string, unknown> {
  return {
    deploymentId: api.deploymentId,
    stageName: api.stage,
    cacheClusterEnabled: false,
    cacheClusterStatus: 'NOT_AVAILABLE',
    methodSettings: {},
    tracingEnabled: false,
    createdDate: api.createdDate,
    lastUpdatedDate: api.createdDate,
  };
}
