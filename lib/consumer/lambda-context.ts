/**
 * The Lambda `Context` the local event source mapping passes to handlers, shaped like the real
 * one so middleware (Powertools' injectLambdaContext) sees what it would see on AWS.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

export function createLocalContext(functionName: string, region: string, timeoutMs = 60_000): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
