/**
 * `requestContext.identity` of an API Gateway (REST, v1) proxy event: who called, as API Gateway
 * tells the Lambda handler. Shared by the embedded API Gateway (infra/apigateway/) and the sample
 * events (functions/events/generate.ts), which the Lambda-bundle rules keep out of infra/.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';

/** The account id LocalStack and moto use. */
export const LOCAL_ACCOUNT_ID = '000000000000';

/** An anonymous caller, or an IAM one (test-invoke-method, `aws_iam` routes: API Gateway fills these). */
export function proxyIdentity(sourceIp: string, userAgent: string | null, caller?: { accessKey: string }): APIGatewayProxyEvent['requestContext']['identity'] {
  return {
    accessKey: caller?.accessKey ?? null,
    accountId: caller === undefined ? null : LOCAL_ACCOUNT_ID,
    apiKey: null,
    apiKeyId: null,
    caller: caller?.accessKey ?? null,
    clientCert: null,
    cognitoAuthenticationProvider: null,
    cognitoAuthenticationType: null,
    cognitoIdentityId: null,
    cognitoIdentityPoolId: null,
    principalOrgId: null,
    sourceIp,
    user: caller?.accessKey ?? null,
    userAgent,
    userArn: caller === undefined ? null : `arn:aws:iam::${LOCAL_ACCOUNT_ID}:root`,
  };
}
