/**
 * SigV4 as botocore (the AWS CLI's signer, in the Python environment this machine and CI have)
 * computes it: an implementation nobody here wrote, to check the signatures we send.
 */
import { commandAvailable, exec } from './commands.ts';

export interface SignedRequestSeen {
  method: string;
  url: string;
  /** The headers to sign over, by lower-case name (never `authorization`). */
  headers: Record<string, string>;
  body?: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

export interface BotocoreAnswer {
  signature: string;
  /** SignedHeaders, as botocore lists them. */
  signed: string;
  /** SHA-256 of the body itself (botocore signs the x-amz-content-sha256 header's value instead when there is one). */
  bodyHash: string;
}

const SCRIPT = `
import hashlib, json, sys
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
a = json.load(sys.stdin)
request = AWSRequest(method=a["method"], url=a["url"], data=a.get("body"), headers=a["headers"])
request.context["timestamp"] = a["headers"]["x-amz-date"]
auth = SigV4Auth(Credentials(a["key"], a["secret"], a.get("token")), "execute-api", a["region"])
canonical = auth.canonical_request(request)
body_hash = hashlib.sha256((a.get("body") or "").encode()).hexdigest()
print(json.dumps({"signature": auth.signature(auth.string_to_sign(request, canonical), request), "signed": auth.signed_headers(auth.headers_to_sign(request)), "bodyHash": body_hash}))
`;

/** Why botocore checks skip, or undefined when it is installed. */
export async function botocoreMissing(): Promise<string | undefined> {
  return (await commandAvailable('python3', ['-c', 'import botocore'])) ? undefined : 'botocore is not installed (it comes with the aws CLI v1: pip install awscli)';
}

/** botocore's execute-api signature of `request`, at the time its x-amz-date header says. */
export async function botocoreSignature(request: SignedRequestSeen): Promise<BotocoreAnswer> {
  const { credentials, ...rest } = request;
  const input = JSON.stringify({ ...rest, key: credentials.accessKeyId, secret: credentials.secretAccessKey, token: credentials.sessionToken });
  const child = exec('python3', ['-c', SCRIPT]);
  child.child.stdin?.end(input);
  const { stdout } = await child;
  return JSON.parse(stdout) as BotocoreAnswer;
}

/** The parts of a SigV4 Authorization header, or undefined when it is not one. */
export function authorizationParts(authorization: string | undefined): { credential: string; signed: string; signature: string } | undefined {
  const match = /^AWS4-HMAC-SHA256 Credential=([^,]+), SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(authorization ?? '');
  return match === null ? undefined : { credential: match[1] as string, signed: match[2] as string, signature: match[3] as string };
}
