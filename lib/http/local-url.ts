/**
 * The host to put in a URL for a server bound to `bindHost`. A server bound to every interface
 * (`0.0.0.0`, `::`) is still reached as 127.0.0.1 from this machine: `0.0.0.0` is not a name the
 * servers answer (allowed-hosts.ts), and a browser may not even connect to it.
 */
export function urlHost(bindHost: string): string {
  const host = bindHost === '0.0.0.0' || bindHost === '::' || bindHost === '' ? '127.0.0.1' : bindHost;
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
