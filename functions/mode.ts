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
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { createAwsClients } from '../lib/aws/clients.ts';
import { resolveConfig } from '../lib/config.ts';
import { ControlDataError, ControlStore } from '../lib/control/control-store.ts';
import { parseModeRequest } from '../lib/control/mode-request.ts';
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

/** JSON, SigV4-signed, or an IAM caller (API Gateway sets `identity.accessKey` only for those). */
function mayChangeState(event: APIGatewayProxyEvent): boolean {
  const accessKey = (event.requestContext as Partial<APIGatewayProxyEvent['requestContext']> | undefined)?.identity?.accessKey;
  if (typeof accessKey === 'string' && accessKey !== '') return true;
  return isPreflightedStateChange({ contentType: header(event, 'content-type'), authorization: header(event, 'authorization') });
}

export function createModeHandler(options: ModeHandlerOptions): ModeHandler {
  const { store } = options;
  const logger = options.logger ?? new Logger({ serviceName: 'mode' });

  const postMode = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    if (!mayChangeState(event)) {
      logger.info('mode request rejected', { status: 415, error: 'unsupported_media_type', contentType: header(event, 'content-type')?.slice(0, 80) });
      return failure(415, 'unsupported_media_type', `POST /mode: ${STATE_CHANGE_RULE}`);
    }
    const request = parseModeRequest(event.body, event.isBase64Encoded === true);
    if (!request.ok) {
      logger.info('mode request rejected', { status: request.status, error: request.error });
      return failure(request.status, request.error, request.message);
    }
    const control = await store.requestMode(request.mode, request.fromStart);
    logger.info('mode requested', { ...control });
    return json(200, {
      mode: control.mode,
      version: control.version,
      fromStart: control.fromStart,
      requestedAt: control.requestedAt,
    });
  };

  const getMode = async (): Promise<APIGatewayProxyResult> => {
    const [control, status] = await Promise.all([store.getMode(), store.getStatus()]);
    return json(200, { mode: control.mode, version: control.version, requestedAt: control.requestedAt, status: status ?? null });
  };

  const route = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    try {
      switch (event.httpMethod) {
        case 'POST':
          return await postMode(event);
        case 'GET':
          return await getMode();
        default:
          return failure(405, 'method_not_allowed', `method ${String(event.httpMethod).slice(0, 16)} is not allowed on /mode; use ${ALLOW}`, {
            allow: ALLOW,
          });
      }
    } catch (error) {
      if (error instanceof AwsCallError) {
        logger.error('control table unavailable', { error });
        return failure(503, 'service_unavailable', 'the control table cannot be reached; try again shortly', { 'retry-after': '1' });
      }
      logger.error('mode request failed', { error: error as Error });
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
      const clients = createAwsClients({ endpointUrl: config.endpointUrl, region: config.region });
      // The resolved level (POWERTOOLS_LOG_LEVEL, else LOG_LEVEL, validated); Lambda's Advanced
      // Logging Controls still override it inside Powertools.
      const logger = new Logger({ serviceName: 'mode', logLevel: config.logLevel });
      configured = createModeHandler({ store: new ControlStore(clients.dynamodb, config.tableName), logger });
    } catch (error) {
      new Logger({ serviceName: 'mode' }).error('cannot configure the mode handler', { error: error as Error });
      return failure(500, 'configuration_error', (error as Error).message);
    }
  }
  return configured(event, context);
};
