/** A minimal API Gateway (REST, v1) proxy event for the mode handler, as `/mode` receives it. */
import type { APIGatewayProxyEvent } from 'aws-lambda';

export function modeEvent(httpMethod: string, body: string | null = null, isBase64Encoded = false): APIGatewayProxyEvent {
  return {
    httpMethod,
    body,
    isBase64Encoded,
    path: '/mode',
    resource: '/mode',
    headers: { 'content-type': 'application/json' },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
  };
}
