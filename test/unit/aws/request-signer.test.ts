/**
 * SigV4 for the mode API, checked against an implementation nobody here wrote: botocore (the AWS
 * CLI's signer, in the Python environment this machine and CI have) recomputes the signature of
 * the very request we signed, from the same credentials and time. Skipped with the reason when
 * botocore is not installed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signRequest, type SignableRequest } from '../../../lib/aws/request-signer.ts';
import { commandAvailable, exec } from '../../support/commands.ts';

const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token-example' };
const AT = new Date('2026-03-04T05:06:07Z');

/** botocore's signature of the request as we send it (our headers minus the Authorization). */
const BOTOCORE = `
import hashlib, json, sys
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
a = json.load(sys.stdin)
request = AWSRequest(method=a["method"], url=a["url"], data=a.get("body"), headers=a["headers"])
request.context["timestamp"] = a["headers"]["x-amz-date"]
auth = SigV4Auth(Credentials(a["key"], a["secret"], a["token"]), "execute-api", a["region"])
canonical = auth.canonical_request(request)
# botocore signs the x-amz-content-sha256 header's value as the payload hash when it is there:
# check that value against the body itself.
body_hash = hashlib.sha256((a.get("body") or "").encode()).hexdigest()
print(json.dumps({"signature": auth.signature(auth.string_to_sign(request, canonical), request), "signed": auth.signed_headers(auth.headers_to_sign(request)), "bodyHash": body_hash}))
`;

interface BotocoreAnswer {
  signature: string;
  signed: string;
  bodyHash: string;
}

async function botocoreSignature(request: SignableRequest, headers: Record<string, string>, region: string): Promise<BotocoreAnswer> {
  const { authorization: _authorization, ...sent } = headers;
  const input = JSON.stringify({ ...request, headers: sent, region, key: CREDENTIALS.accessKeyId, secret: CREDENTIALS.secretAccessKey, token: CREDENTIALS.sessionToken });
  const child = exec('python3', ['-c', BOTOCORE]);
  child.child.stdin?.end(input);
  const { stdout } = await child;
  return JSON.parse(stdout) as BotocoreAnswer;
}

function authorizationParts(authorization: string | undefined): { credential: string; signed: string; signature: string } {
  const match = /^AWS4-HMAC-SHA256 Credential=([^,]+), SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(authorization ?? '');
  assert.ok(match !== null, `a SigV4 Authorization header, got ${authorization}`);
  return { credential: match[1] as string, signed: match[2] as string, signature: match[3] as string };
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
      if (!(await commandAvailable('python3', ['-c', 'import botocore']))) {
        t.skip('botocore is not installed (it comes with the aws CLI v1: pip install awscli)');
        return;
      }
      const headers = await signRequest(request, { region, credentials: () => Promise.resolve(CREDENTIALS), now: () => AT });
      assert.equal(headers['x-amz-date'], '20260304T050607Z');
      assert.equal(headers['x-amz-security-token'], CREDENTIALS.sessionToken, 'temporary credentials carry their token');
      assert.equal(headers.host, undefined, 'host is signed but left to fetch');
      const ours = authorizationParts(headers.authorization);
      assert.equal(ours.credential, `AKIDEXAMPLE/20260304/${region}/execute-api/aws4_request`);
      const theirs = await botocoreSignature(request, { ...headers, host: new URL(request.url).host }, region);
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
