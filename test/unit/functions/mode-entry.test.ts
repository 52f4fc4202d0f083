/**
 * The mode Lambda entry point with a broken configuration: the caller gets a JSON 500 that says
 * the API is misconfigured and nothing of the configuration itself (variables, values,
 * endpoints); the details are in the function's log, which only the account can read.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { handler } from '../../../functions/mode.ts';
import { createLocalContext } from '../../../lib/consumer/lambda-context.ts';
import { modeEvent } from '../../support/api-gateway-event.ts';
import { jsonLinesPrinted } from '../../support/stdio-lines.ts';

describe('the mode Lambda entry point', () => {
  it('answers a configuration error without echoing the configuration, and logs it', async () => {
    Object.assign(process.env, { AWS_ENDPOINT_URL_DYNAMODB: 'ftp://10.1.2.3:4566/internal', TABLE_NAME: 'secret-table-prod' });
    const { result, lines } = await jsonLinesPrinted(() => handler(modeEvent('GET'), createLocalContext('mode', 'us-east-1')));
    assert.equal(result.statusCode, 500);
    assert.deepEqual(JSON.parse(result.body), { error: 'configuration_error', message: 'the mode API is misconfigured; its log says how' });
    for (const secret of ['10.1.2.3', 'AWS_ENDPOINT_URL', 'ftp', 'secret-table']) assert.ok(!result.body.includes(secret), `${secret} in ${result.body}`);
    const logged = lines.map((l) => JSON.parse(l) as { level: string; message: string; error?: { message?: string } });
    const error = logged.find((l) => l.message === 'cannot configure the mode handler');
    assert.equal(error?.level, 'ERROR');
    assert.match(error?.error?.message ?? '', /AWS_ENDPOINT_URL_DYNAMODB must use http or https/);
  });
});
