/**
 * The rules every local server applies before it looks at a request (the edge, the mode API, the
 * dashboard, the live feed): the servers are the user's alone, not the web's.
 *
 *   1. `Host` must be a name the server answers (allowed-hosts.ts), else 421 Misdirected Request.
 *      This defeats DNS rebinding: the attacker's page keeps its own name in `Host`.
 *   2. An `Origin` other than the server's own is refused, 403, whatever the method: preflights
 *      included, so no foreign origin ever gets an `Access-Control-Allow-Origin` back.
 *   3. A state-changing method needs a JSON content type or a SigV4 `Authorization` header
 *      (state-change.ts), else 415: a plain HTML form or a `no-cors` fetch cannot carry either.
 *
 * Rule 3 also catches the browsers that send no `Origin` on a form POST; rule 2 catches the
 * cross-origin requests that rule 3 lets through after a preflight.
 */
import type { IncomingHttpHeaders, IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { formatAllowedHosts, isAllowedHost, isSameOrigin, type HostPolicy } from './allowed-hosts.ts';
import { isPreflightedStateChange, isSafeMethod, STATE_CHANGE_RULE } from './state-change.ts';

export type LocalRequestPolicy = HostPolicy;

export interface Refusal {
  status: 421 | 403 | 415;
  error: 'misdirected_request' | 'cross_origin_refused' | 'unsupported_media_type';
  message: string;
}

export interface RequestFacts {
  method: string | undefined;
  headers: IncomingHttpHeaders;
  /** The port the request came in on (the server's own). */
  localPort: number | undefined;
}

/** A header value for an error message: quoted, cut short (it is attacker-controlled). */
function show(value: string): string {
  const text = JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  return text;
}

/** Why the request must be refused, or undefined when it may proceed. */
export function checkLocalRequest(request: RequestFacts, policy: LocalRequestPolicy = {}): Refusal | undefined {
  const { headers, localPort } = request;
  const host = headers.host;
  if (localPort === undefined || !isAllowedHost(host, localPort, policy)) {
    const others = [...(policy.allowedSuffixes ?? []).map((s) => `*${s}`), formatAllowedHosts(policy.allowedHosts ?? [])].filter((s) => s !== '');
    return {
      status: 421,
      error: 'misdirected_request',
      message:
        `this server answers only requests for 127.0.0.1, localhost or [::1] at port ${String(localPort)}` +
        `${others.length > 0 ? ` or ${others.join(', ')}` : ''}, ` +
        `not Host ${host === undefined ? '(none)' : show(host)}; add the name to ALLOWED_HOSTS if it is yours`,
    };
  }
  const origin = headers.origin;
  if (origin !== undefined && !isSameOrigin(origin, host as string)) {
    return { status: 403, error: 'cross_origin_refused', message: `requests from other origins are refused (Origin ${show(origin)})` };
  }
  if (!isSafeMethod(request.method) && !isPreflightedStateChange({ contentType: headers['content-type'], authorization: headers.authorization })) {
    return { status: 415, error: 'unsupported_media_type', message: STATE_CHANGE_RULE };
  }
  return undefined;
}

/** Answers a refusal as JSON `{error, message}`: no CORS headers, nothing echoed back as a header. */
export function sendRefusal(req: IncomingMessage, res: ServerResponse, refusal: Refusal): void {
  req.resume(); // an unread body must not hold the connection
  const body = JSON.stringify({ error: refusal.error, message: refusal.message });
  res.writeHead(refusal.status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Checks and, when needed, refuses: true when the request may proceed. */
export function admitLocalRequest(req: IncomingMessage, res: ServerResponse, policy: LocalRequestPolicy = {}): boolean {
  const refusal = checkLocalRequest({ method: req.method, headers: req.headers, localPort: req.socket.localPort }, policy);
  if (refusal === undefined) return true;
  sendRefusal(req, res, refusal);
  return false;
}

/** `listener` behind the guard. */
export function guardListener(listener: RequestListener, policy: LocalRequestPolicy = {}): RequestListener {
  return (req, res) => {
    if (admitLocalRequest(req, res, policy)) listener(req, res);
  };
}

/**
 * Puts a server we did not write (serverless-offline's hapi servers, the emulators) behind the
 * guard: every `request` and `checkContinue` event is checked before its listeners see it,
 * including listeners added later. `server.listeners('request')` still returns the unguarded
 * listeners, for in-process dispatch by a caller that has already checked the request.
 */
export function guardServer(server: Server, policy: LocalRequestPolicy = {}): void {
  const emit = server.emit.bind(server) as (event: string | symbol, ...args: unknown[]) => boolean;
  server.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
    if (event === 'request' || event === 'checkContinue') {
      const [req, res] = args as [IncomingMessage, ServerResponse];
      if (!admitLocalRequest(req, res, policy)) return true;
    }
    return emit(event, ...args);
  }) as Server['emit'];
}
