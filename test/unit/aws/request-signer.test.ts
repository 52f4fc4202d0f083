/**
 * SigV4 for the mode API, checked against an implementation nobody here wrote: botocore (the AWS
 * CLI's signer, in the Python environment this machine and CI have) recomputes the signature of
 * the very request we signed, from the same credentials and time. Skipped with the reason when
 * botocore is not installed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signRequest, type SignableRequest } from '../../../lib/aws/request-signer.ts';
import { authorizationParts, botocoreMissing, botocoreSignature, type BotocoreAnswer } from '../../support/botocore-sigv4.ts';

const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token-example' };
const AT = new Date('2026-03-04T05:06:07Z');

/** botocore's signature of the request as we send it (our headers minus the Authorization). */
function botocoreOf(request: SignableRequest, headers: Record<string, string>, region: string): Promise<BotocoreAnswer> {
  const { authorization: _authorization, ...sent } = headers;
  return botocoreSignature({ ...request, headers: sent, region, credentials: CREDENTIALS });
}

function partsOf(authorization: string | undefined): { credential: string; signed: string; signature: string } {
  const parts = authorizationParts(authorization);
  assert.ok(parts !== undefined, `a SigV4 Authorization header, got ${authorization}`);
  return parts;
}

describe('signRequest (SigV4, execute-api)', () => {
  const requests: Array<[string, SignableRequest, string]> = [
    [
      'a POST with a JSON body',
      { method: 'POST', url: 'https://abc123defg.execute-api.eu-west-1.amazonaws.com/dev/mode', headers: { accept: 'application/json', 'content-type': 'application/json' }, body: '{"mode":"historical","from":"start"}' },
      'eu-west-1',
    ],
    ['a GET', { method: 'GET', url: 'https://abc123defg.execute-api.us-east-1.amazonaws.com/prod/mode', headers: { accept: 'application/json' } }, 'us-east-1'],
    [
      "an emulator's invoke URL with a port and a query",
      { method: 'GET', url: 'http://127.0.0.1:4566/restapis/abc/local/_user_request_/mode?b=2&a=1&a=0', headers: { accept: 'application/json' } },
      'us-east-1',
    ],
  ];

  for (const [what, request, region] of requests) {
    it(`signs ${what} exactly as botocore does`, async (t) => {
      const missing = await botocoreMissing();
      if (missing !== undefined) {
        t.skip(missing);
        return;
      }
      const headers = await signRequest(request, { region, credentials: () => Promise.resolve(CREDENTIALS), now: () => AT });
      assert.equal(headers['x-amz-date'], '20260304T050607Z');
      assert.equal(headers['x-amz-security-token'], CREDENTIALS.sessionToken, 'temporary credentials carry their token');
      assert.equal(headers.host, undefined, 'host is signed but left to fetch');
      const ours = partsOf(headers.authorization);
      assert.equal(ours.credential, `AKIDEXAMPLE/20260304/${region}/execute-api/aws4_request`);
      const theirs = await botocoreOf(request, { ...headers, host: new URL(request.url).host }, region);
      assert.equal(headers['x-amz-content-sha256'], theirs.bodyHash, 'the signed payload hash is the body\'s');
      assert.equal(ours.signed, theirs.signed);
      assert.equal(ours.signature, theirs.signature);
    });
  }

  it('fails with the credential chain\'s error when there are no credentials', async () => {
    const none = (): Promise<never> => Promise.reject(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    await assert.rejects(signRequest(requests[1]?.[1] as SignableRequest, { region: 'us-east-1', credentials: none }), /Could not load credentials/);
  });
});
