/**
 * Lambda handler behind API Gateway (REST, v1 events) for the replay's mode switch:
 *
 *   POST /mode {"mode": "live"}                          → 200 {mode, version, fromStart, requestedAt}
 *   POST /mode {"mode": "historical", "from": "start"}   → 200 (the replay restarts from the top)
 *   GET  /mode                                           → 200 {mode, version, requestedAt, status}
 *
 * It only records the request in the DynamoDB control item; the replayer watches that item and
 * switches. Every error is JSON `{error, message}`: 400/413 for a bad body (never 500), 405 for
 * another method, 415 for a POST a web page could send without a CORS preflight, 503 when
 * DynamoDB cannot be reached.
 *
 * A POST must say it is JSON (`Content-Type: application/json`), be SigV4-signed, or come from a
 * caller API Gateway authenticated with IAM (test-invoke-method, an `aws_iam` route): a plain
 * HTML form or a `no-cors` fetch from any web page can send none of these, on AWS as locally.
 *
 * On AWS both routes are `aws_iam`: API Gateway lets only signed callers through, and this
 * handler logs who each one was (`requestContext.identity`). Answers never carry configuration:
 * no endpoint, table, file path or feed URL (GET shows the public status, public-status.ts), and
 * an error says what went wrong in the caller's terms while the log keeps the details.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { createAwsClients } from '../lib/aws/clients.ts';
import { resolveConfig } from '../lib/config.ts';
import { ControlDataError, ControlStore } from '../lib/control/control-store.ts';
import { parseModeRequest } from '../lib/control/mode-request.ts';
import { publicStatus } from '../lib/control/public-status.ts';
import { AwsCallError } from '../lib/errors.ts';
import { isPreflightedStateChange, STATE_CHANGE_RULE } from '../lib/http/state-change.ts';

export interface ModeHandlerOptions {
  store: Pick<ControlStore, 'requestMode' | 'getMode' | 'getStatus'>;
  logger?: Logger;
}

export type ModeHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

const ALLOW = 'GET, POST';

function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

function failure(statusCode: number, error: string, message: string, headers?: Record<string, string>): APIGatewayProxyResult {
  return json(statusCode, { error, message }, headers);
}

/** A header of an API Gateway event, whatever the case the client sent it in. */
function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  for (const [key, value] of Object.entries(event.headers ?? {})) if (key.toLowerCase() === name && value !== undefined) return value;
  return undefined;
}

/**
 * Who called, as API Gateway says (for the log): the IAM principal on an `aws_iam` route, else
 * the source address and agent only. Never the access key's secret parts (API Gateway has none).
 */
export function callerOf(event: APIGatewayProxyEvent): Record<string, string> {
  const identity = (event.requestContext as Partial<APIGatewayProxyEvent['requestContext']> | undefined)?.identity;
  const caller: Record<string, string> = {};
  const fields = ['userArn', 'accountId', 'caller', 'accessKey', 'sourceIp', 'userAgent'] as const;
  for (const field of fields) {
    const value = identity?.[field];
    if (typeof value === 'string' && value !== '') caller[field] = value.slice(0, 256);
  }
  return caller;
}

/** JSON, SigV4-signed, or an IAM caller (API Gateway sets `identity.accessKey` only for those). */
function mayChangeState(event: APIGatewayProxyEvent): boolean {
  const accessKey = (event.requestContext as Partial<APIGatewayProxyEvent['requestContext']> | undefined)?.identity?.accessKey;
  if (typeof accessKey === 'string' && accessKey !== '') return true;
  return isPreflightedStateChange({ contentType: header(event, 'content-type'), authorization: header(event, 'authorization') });
}

export function createModeHandler(options: ModeHandlerOptions): ModeHandler {
  const { store } = options;
  const logger = options.logger ?? new Logger({ serviceName: 'mode' });

  const postMode = async (event: APIGatewayProxyEvent, caller: Record<string, string>): Promise<APIGatewayProxyResult> => {
    if (!mayChangeState(event)) {
      logger.info('mode request rejected', { status: 415, error: 'unsupported_media_type', contentType: header(event, 'content-type')?.slice(0, 80), caller });
      return failure(415, 'unsupported_media_type', `POST /mode: ${STATE_CHANGE_RULE}`);
    }
    const request = parseModeRequest(event.body, event.isBase64Encoded === true);
    if (!request.ok) {
      logger.info('mode request rejected', { status: request.status, error: request.error, caller });
      return failure(request.status, request.error, request.message);
    }
    const control = await store.requestMode(request.mode, request.fromStart);
    logger.info('mode requested', { ...control, caller });
    return json(200, {
      mode: control.mode,
      version: control.version,
      fromStart: control.fromStart,
      requestedAt: control.requestedAt,
    });
  };

  const getMode = async (caller: Record<string, string>): Promise<APIGatewayProxyResult> => {
    const [control, status] = await Promise.all([store.getMode(), store.getStatus()]);
    logger.info('mode read', { caller });
    return json(200, { mode: control.mode, version: control.version, requestedAt: control.requestedAt, status: status === undefined ? null : publicStatus(status) });
  };

  const route = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    const caller = callerOf(event);
    try {
      switch (event.httpMethod) {
        case 'POST':
          return await postMode(event, caller);
        case 'GET':
          return await getMode(caller);
        default:
          return failure(405, 'method_not_allowed', `method ${String(event.httpMethod).slice(0, 16)} is not allowed on /mode; use ${ALLOW}`, {
            allow: ALLOW,
          });
      }
    } catch (error) {
      if (error instanceof AwsCallError) {
        logger.error('control table unavailable', { error, caller });
        return failure(503, 'service_unavailable', 'the control table cannot be reached; try again shortly', { 'retry-after': '1' });
      }
      logger.error('mode request failed', { error: error as Error, caller });
      const message = error instanceof ControlDataError ? 'the stored mode control is malformed' : 'internal error';
      return failure(500, 'internal_error', message);
    }
  };

  return middy<APIGatewayProxyEvent, APIGatewayProxyResult>(route).use(injectLambdaContext(logger));
}

let configured: ModeHandler | undefined;

/**
 * The Lambda entry point. Configuration and clients are created on the first invocation, not at
 * import, so that importing this module never fails on the environment; a failure is answered
 * with a JSON 500 and tried again on the next invocation.
 */
export const handler: ModeHandler = async (event, context) => {
  if (configured === undefined) {
    try {
      const config = resolveConfig();
      const clients = createAwsClients({ endpoints: config.endpoints, target: config.target, region: config.region });
      // The resolved level (POWERTOOLS_LOG_LEVEL, else LOG_LEVEL, validated); Lambda's Advanced
      // Logging Controls still override it inside Powertools.
      const logger = new Logger({ serviceName: 'mode', logLevel: config.logLevel });
      configured = createModeHandler({ store: new ControlStore(clients.dynamodb, config.tableName), logger });
    } catch (error) {
      // The message names variables and values of the deployment: the log has it, the caller not.
      new Logger({ serviceName: 'mode' }).error('cannot configure the mode handler', { error: error as Error });
      return failure(500, 'configuration_error', 'the mode API is misconfigured; its log says how');
    }
  }
  return configured(event, context);
};
