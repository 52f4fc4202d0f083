/**
 * A fault-injecting HTTP proxy in front of the embedded stack's edge endpoint. The emulators
 * never fail a request; this proxy makes them look like a real, misbehaving AWS endpoint:
 *
 * - `delay`: forward after a pause; `refuse`: stop listening (clients get ECONNREFUSED) until
 *   `accept()`; `cut`: read the request, then destroy the socket (ECONNRESET, never forwarded);
 *   `blackhole`: read the request and never answer (no FIN; the client's timeout must act);
 *   `status`: answer an AWS JSON error (5xx, throttling, ExpiredIteratorException) without
 *   forwarding;
 * - `throttle`: for PutRecords, the honest partial failure: only the entries chosen to succeed are
 *   forwarded; the others are answered as `ProvisionedThroughputExceededException` without ever
 *   reaching the emulator, and the two are merged back in request order. An entry reported failed
 *   was therefore never stored, exactly as Kinesis behaves.
 *
 * Every request is recorded (target, parsed JSON body) so tests can assert what was sent.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  | { kind: 'pass' }
  | { kind: 'delay'; ms: number }
  | { kind: 'cut' }
  | { kind: 'blackhole' }
  | { kind: 'status'; status: number; errorType: string }
  /** PutRecords only: `fail(index)` says which entries are answered as throttled. */
  | { kind: 'throttle'; fail: (index: number) => boolean };

export interface ProxiedRequest {
  /** `Kinesis_20131202.PutRecords`, `DynamoDB_20120810.UpdateItem`, … ('' when absent). */
  target: string;
  body: unknown;
  /** What the proxy did with it. */
  fault: Fault['kind'];
}

/** Decides the fault for one request; the default passes everything through. */
export type FaultRule = (request: { target: string; body: unknown }) => Fault;

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: give it to the SDK clients as their endpoint. */
  url: string;
  port: number;
  requests: ProxiedRequest[];
  /** Most requests with this target that were open at the same time. */
  maxConcurrent(target: string): number;
  setRule(rule: FaultRule): void;
  /** Closes the listening socket and every open connection: new connections are refused. */
  refuse(): Promise<void>;
  /** Listens again on the same port. */
  accept(): Promise<void>;
  /** Stops listening and destroys every connection (black-holed ones included). */
  close(): Promise<void>;
}

interface PutRecordsBody {
  StreamName?: string;
  StreamARN?: string;
  Records: unknown[];
}

interface PutRecordsAnswer {
  FailedRecordCount?: number;
  Records: Array<Record<string, unknown>>;
  EncryptionType?: string;
}

export const passAll: FaultRule = () => ({ kind: 'pass' });

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJson(body: Buffer): unknown {
  try {
    return body.length === 0 ? undefined : (JSON.parse(body.toString('utf8')) as unknown);
  } catch {
    return undefined;
  }
}

/** Forwards one request to the upstream edge and resolves with its status, headers and body. */
function forward(upstream: URL, req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers = { ...req.headers, host: upstream.host, 'content-length': String(body.length) };
    const out = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent: false },
      (res) => {
        void readBody(res).then((data) => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: data }), reject);
      },
    );
    out.on('error', reject);
    out.end(body);
  });
}

function answer(res: ServerResponse, status: number, body: Buffer | string, contentType = 'application/x-amz-json-1.1'): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** An AWS JSON-protocol error the SDK classifies by `__type`. */
function answerError(res: ServerResponse, status: number, errorType: string): void {
  answer(res, status, JSON.stringify({ __type: errorType, message: `injected by the fault proxy: ${errorType}` }));
}

async function throttlePutRecords(
  upstream: URL,
  req: IncomingMessage,
  parsed: PutRecordsBody,
  fail: (index: number) => boolean,
  res: ServerResponse,
): Promise<void> {
  const failing = parsed.Records.map((_, i) => fail(i));
  const kept = parsed.Records.filter((_, i) => !failing[i]);
  let stored: PutRecordsAnswer = { Records: [] };
  if (kept.length > 0) {
    const sub = await forward(upstream, req, Buffer.from(JSON.stringify({ ...parsed, Records: kept })));
    if (sub.status !== 200) {
      // The emulator refused the subset (missing stream…): pass its answer on unchanged.
      answer(res, sub.status, sub.body, sub.headers['content-type'] ?? 'application/x-amz-json-1.1');
      return;
    }
    stored = JSON.parse(sub.body.toString('utf8')) as PutRecordsAnswer;
  }
  let next = 0;
  const merged = failing.map((failed) =>
    failed
      ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard (injected by the fault proxy)' }
      : (stored.Records[next++] ?? {}),
  );
  const failedCount = merged.filter((r) => 'ErrorCode' in r).length;
  answer(res, 200, JSON.stringify({ ...stored, FailedRecordCount: failedCount, Records: merged }));
}

export async function startFaultProxy(upstreamUrl: string): Promise<FaultProxy> {
  const upstream = new URL(upstreamUrl);
  let rule: FaultRule = passAll;
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();
  const open = new Map<string, number>();
  const peak = new Map<string, number>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const raw = await readBody(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    const body = parseJson(raw);
    const fault = rule({ target, body });
    requests.push({ target, body, fault: fault.kind });
    switch (fault.kind) {
      case 'cut':
        req.socket.destroy();
        return;
      case 'blackhole':
        // Keep the socket open and never answer; close() destroys it.
        return;
      case 'status':
        answerError(res, fault.status, fault.errorType);
        return;
      case 'throttle':
        if (target.endsWith('.PutRecords') && body !== undefined) {
          await throttlePutRecords(upstream, req, body as PutRecordsBody, fault.fail, res);
          return;
        }
        break;
      case 'delay':
        await new Promise((resolve) => setTimeout(resolve, fault.ms));
        break;
      case 'pass':
        break;
    }
    const out = await forward(upstream, req, raw);
    answer(res, out.status, out.body, out.headers['content-type'] ?? 'application/x-amz-json-1.1');
  };

  const server = http.createServer((req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    open.set(target, (open.get(target) ?? 0) + 1);
    peak.set(target, Math.max(peak.get(target) ?? 0, open.get(target) ?? 0));
    res.once('close', () => open.set(target, (open.get(target) ?? 1) - 1));
    handle(req, res).catch(() => {
      // The upstream went away mid-request: what a client sees from a broken gateway.
      if (!res.headersSent) answerError(res, 502, 'BadGateway');
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      if (!server.listening) resolve();
      else server.close(() => resolve());
    });

  const port = await listen(0);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    maxConcurrent: (target) => peak.get(target) ?? 0,
    setRule(next) {
      rule = next;
    },
    refuse: stop,
    async accept() {
      await listen(port);
    },
    close: stop,
  };
}
