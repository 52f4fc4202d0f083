/**
 * Which `Host` header values a local server answers (pure functions, no I/O).
 *
 * A server bound to loopback answers only loopback names at its own port: `127.0.0.1`,
 * `localhost` and `[::1]`. That is what defeats DNS rebinding: a page on `evil.example` whose
 * name now resolves to 127.0.0.1 still sends `Host: evil.example:3000`. A server deliberately bound
 * elsewhere (a compose service reached as `feed:8765`) also answers the names it is told through
 * `ALLOWED_HOSTS` (`name` for any port, `name:port` for that port only).
 */
import { ConfigError } from '../errors.ts';

export interface HostName {
  /** Lower case; an IPv6 address keeps its brackets (`[::1]`). */
  name: string;
  /** Undefined when the header has none (the scheme's default port). */
  port: number | undefined;
}

export interface AllowedHost {
  name: string;
  /** Undefined: any port. */
  port: number | undefined;
}

export interface HostPolicy {
  /** Extra names (from ALLOWED_HOSTS). */
  allowedHosts?: readonly AllowedHost[];
  /** Name suffixes accepted at the server's own port, e.g. `.localhost.localstack.cloud`. */
  allowedSuffixes?: readonly string[];
}

export const LOOPBACK_NAMES: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** RFC 1123 labels, or an IPv4 address; IPv6 in brackets is checked separately. */
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
const IPV6_IN_BRACKETS = /^\[[0-9a-f:.]+\]$/;
const HTTP_DEFAULT_PORT = 80;

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65_535 ? port : undefined;
}

/** `name[:port]` or `[v6][:port]`; undefined when it is neither. */
export function parseHostName(value: string): HostName | undefined {
  const text = value.trim().toLowerCase();
  const bracketEnd = text.startsWith('[') ? text.indexOf(']') : -1;
  const colon = bracketEnd >= 0 ? text.indexOf(':', bracketEnd) : text.lastIndexOf(':');
  const name = colon === -1 ? text : text.slice(0, colon);
  if (!(DNS_NAME.test(name) || IPV6_IN_BRACKETS.test(name))) return undefined;
  if (colon === -1) return { name, port: undefined };
  const port = parsePort(text.slice(colon + 1));
  return port === undefined ? undefined : { name, port };
}

/**
 * `ALLOWED_HOSTS`: names separated by commas or spaces, each `name` or `name:port`. A bad entry
 * fails the start naming it (a typo must not silently leave a service unreachable).
 */
export function parseAllowedHosts(raw: string | undefined, variable = 'ALLOWED_HOSTS'): AllowedHost[] {
  const entries = (raw ?? '').split(/[\s,]+/).filter((entry) => entry !== '');
  return entries.map((entry) => {
    const host = parseHostName(entry);
    if (host === undefined) {
      throw new ConfigError(`${variable} must list host names such as "feed" or "feed:8765", separated by commas; "${entry}" is not one`, {
        name: variable,
      });
    }
    return host;
  });
}

/** Whether a request's `Host` header is one this server answers. `localPort` is the port it came in on. */
export function isAllowedHost(header: string | undefined, localPort: number, policy: HostPolicy = {}): boolean {
  if (header === undefined) return false;
  const host = parseHostName(header);
  if (host === undefined) return false;
  const port = host.port ?? HTTP_DEFAULT_PORT;
  if (port === localPort) {
    if (LOOPBACK_NAMES.has(host.name)) return true;
    if ((policy.allowedSuffixes ?? []).some((suffix) => host.name.endsWith(suffix) || host.name === suffix.slice(1))) return true;
  }
  return (policy.allowedHosts ?? []).some((allowed) => allowed.name === host.name && (allowed.port === undefined || allowed.port === port));
}

/** Whether `origin` (an `Origin` header) is the origin of a request made to `host` (its `Host` header). */
export function isSameOrigin(origin: string, host: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // `null` (sandboxed frames, file:) and garbage are nobody's own origin
  }
  if (url.protocol !== 'http:' || url.origin !== origin.toLowerCase()) return false;
  const expected = parseHostName(host);
  const actual = parseHostName(url.host);
  if (expected === undefined || actual === undefined) return false;
  return expected.name === actual.name && (expected.port ?? HTTP_DEFAULT_PORT) === (actual.port ?? HTTP_DEFAULT_PORT);
}

/** The `ALLOWED_HOSTS` text for `hosts` (to hand them to a child process). */
export function formatAllowedHosts(hosts: readonly AllowedHost[]): string {
  return hosts.map((host) => (host.port === undefined ? host.name : `${host.name}:${host.port}`)).join(',');
}
