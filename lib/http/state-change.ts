/**
 * What a state-changing request must carry so that a web page cannot send it without a CORS
 * preflight (pure functions, shared by the local servers and functions/mode.ts).
 *
 * A browser sends a cross-origin POST without asking first only when it is a "simple" request:
 * a form or `fetch` with `text/plain`, `application/x-www-form-urlencoded`, `multipart/form-data`
 * or no content type at all, and no non-safelisted header. Requiring a JSON media type or an AWS
 * SigV4 `Authorization` header makes every such request non-simple, so the browser preflights it,
 * and our servers refuse preflights from other origins. curl (`--json`), the AWS SDKs and the CLI
 * clients send one or the other anyway.
 */

/** `application/json`, `application/*+json` and the AWS JSON protocols (`application/x-amz-json-1.1`). */
export function isJsonMediaType(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || /^application\/[\w.+-]+\+json$/.test(type) || /^application\/x-amz-json-1\.[01]$/.test(type);
}

/** An `Authorization` header of AWS Signature Version 4 (`AWS4-HMAC-SHA256 Credential=…`). */
export function hasSigV4Authorization(authorization: string | undefined): boolean {
  return /^AWS4-HMAC-SHA256\s+Credential=/i.test((authorization ?? '').trim());
}

/** The access key id of a SigV4 `Authorization` header (`Credential=AKID/…`), if it is one. */
export function sigV4AccessKey(authorization: string | undefined): string | undefined {
  return /^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)\//i.exec((authorization ?? '').trim())?.[1];
}

/** Methods that never change state (RFC 9110 safe methods). */
export function isSafeMethod(method: string | undefined): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
}

/** The rule itself: a state-changing request carries a JSON content type or a SigV4 signature. */
export function isPreflightedStateChange(headers: { contentType: string | undefined; authorization: string | undefined }): boolean {
  return isJsonMediaType(headers.contentType) || hasSigV4Authorization(headers.authorization);
}

export const STATE_CHANGE_RULE =
  'a state-changing request needs Content-Type: application/json (or an AWS SigV4 Authorization header), ' +
  'so that a web page cannot send it without a CORS preflight';
