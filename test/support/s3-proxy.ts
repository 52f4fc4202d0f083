/**
 * A recording, fault-injecting HTTP proxy in front of an S3 endpoint (moto): every request is
 * recorded (method, path, Range, If-Match) so a test can prove which reads were made, and the
 * failures moto never produces can be injected for the next matching requests: a body cut after
 * some bytes (the connection destroyed mid-transfer, as a dropped network does) and `503 SlowDown`
 * (S3's throttling answer). Listens on a free loopback port; closed by its handle.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface S3Request {
  method: string;
  /** Path and query, as sent (`/bucket/key`, `/bucket?list-type=2&prefix=…`). */
  path: string;
  range: string | undefined;
  ifMatch: string | undefined;
  /** What the proxy did: forwarded, cut after N body bytes, or throttled. */
  fault: 'pass' | 'cut' | 'throttle';
}

export type S3Fault = { kind: 'cut'; afterBytes: number } | { kind: 'throttle' };

export interface S3Proxy {
  url: string;
  requests: S3Request[];
  /** Applies `fault` to the next `times` requests `matches` accepts. */
  inject(fault: S3Fault, matches: (request: Pick<S3Request, 'method' | 'path' | 'range'>) => boolean, times?: number): void;
  close(): Promise<void>;
}

const SLOW_DOWN = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>';

export async function startS3Proxy(target: string): Promise<S3Proxy> {
  const upstream = new URL(target);
  const requests: S3Request[] = [];
  const injected: Array<{ fault: S3Fault; matches: (request: Pick<S3Request, 'method' | 'path' | 'range'>) => boolean; left: number }> = [];
  const sockets = new Set<Socket>();

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const seen = { method: req.method ?? 'GET', path: req.url ?? '/', range: req.headers.range, ifMatch: req.headers['if-match'] };
    const rule = injected.find((candidate) => candidate.left > 0 && candidate.matches(seen));
    if (rule !== undefined) rule.left--;
    const fault = rule?.fault;
    requests.push({ ...seen, fault: fault?.kind ?? 'pass' });
    if (fault?.kind === 'throttle') {
      req.resume();
      res.writeHead(503, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(SLOW_DOWN) }).end(SLOW_DOWN);
      return;
    }
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (fault?.kind !== 'cut') {
          answer.pipe(res);
          return;
        }
        // Forward the first bytes, then drop the connection as a failing network would.
        let sent = 0;
        answer.on('data', (chunk: Buffer) => {
          if (sent >= fault.afterBytes) return;
          const part = chunk.subarray(0, fault.afterBytes - sent);
          sent += part.length;
          res.write(part, () => {
            if (sent >= fault.afterBytes) res.socket?.destroy();
          });
          if (sent >= fault.afterBytes) answer.destroy();
        });
      },
    );
    forward.on('error', () => res.socket?.destroy());
    req.pipe(forward);
  };

  const server = http.createServer(handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    inject(fault, matches, times = 1) {
      injected.push({ fault, matches, left: times });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
