/**
 * Entry point of the embedded AWS stack's CHILD process (started by `embedded-stack.ts`; import
 * only types from this file, importing it runs it).
 *
 *   node --import tsx infra/emulators-process.ts '{"stateDir":"…","edgePort":4566}'
 *
 * Runs kinesalite and dynalite on ephemeral loopback ports, each persisting to LevelDB under
 * `stateDir`, and one EDGE server (like LocalStack's port 4566) that routes each request to the
 * right emulator by its `X-Amz-Target` header, or else by the service in the SigV4 credential
 * scope, and hands it to that emulator's request handler in this process (see `dispatch`).
 * The edge also serves API Gateway for the REST API in serverless.yml (infra/apigateway/): its
 * control plane (SigV4 service `apigateway`, `/restapis…`) and its invoke URLs, which run the
 * real handler here with this stack as its DynamoDB.
 *
 * Every server here answers only loopback `Host`s (and `*.localhost.localstack.cloud` on the
 * edge, LocalStack's invoke-URL names), refuses foreign `Origin`s, and takes a state-changing
 * request only with a JSON content type or a SigV4 signature (lib/http/local-request-guard.ts).
 * Reports `ready`/`error` to the parent over IPC (or prints it on stdout when run by hand).
 *
 * Lifetime: it stops cleanly (servers closed, LevelDB stores closed) on SIGTERM/SIGINT and when
 * the IPC channel disconnects. The OS closes that channel whenever the parent dies, even by
 * `kill -9`, so an emulator never outlives the process that started it.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { createRequire } from 'node:module';
import path from 'node:path';
import dynalite from 'dynalite';
import kinesalite from 'kinesalite';
import { appendFileSync } from 'node:fs';
import { parseAllowedHosts } from '../lib/http/allowed-hosts.ts';
import { urlHost } from '../lib/http/local-url.ts';
import { checkLocalRequest, guardServer, type LocalRequestPolicy, type Refusal } from '../lib/http/local-request-guard.ts';
import { createLogger } from '../lib/logging/logger.ts';
import { ApiGatewayService, invokeTarget, startApiGateway } from './apigateway/api-gateway-service.ts';
import { INITIAL_OPTIONS, parseOptions, StartError, type ResolvedOptions } from './emulators-options.ts';
import { installRememberingHashKeys } from './kinesalite-hash-keys.ts';
import { installFastSequenceCodec, type SequenceCodec } from './kinesalite-sequences.ts';

export type EmulatorsMessage =
  | { type: 'ready'; edgePort: number; kinesisPort: number; dynamodbPort: number }
  | { type: 'error'; code: string; message: string };

type Service = 'kinesis' | 'dynamodb';
type Route = Service | 'apigateway';

/** Lifecycle states in emulator creation and state-transition timings (ms): fast, not instant. */
const TRANSITION_MS = 10;
/** After this, connections still open at shutdown are cut. */
const CLOSE_GRACE_MS = 1_000;
/** Shutdown never takes longer than this; past it the process exits anyway. */
const SHUTDOWN_DEADLINE_MS = 10_000;

const TARGET_PREFIXES: ReadonlyArray<readonly [string, Service]> = [
  ['Kinesis_20131202.', 'kinesis'],
  ['DynamoDB_20120810.', 'dynamodb'],
  ['DynamoDB_20111205.', 'dynamodb'],
];
/** `Credential=AKID/20240101/us-east-1/kinesis/aws4_request` → `kinesis`. */
const CREDENTIAL_SCOPE = /Credential=[^/,\s]+\/\d{8}\/[^/,\s]+\/([^/,\s]+)\/aws4_request/;
const HEALTH_PATHS = new Set(['/_health', '/_localstack/health']);
/** LocalStack's names for itself; its invoke URLs are `<api id>.execute-api.localhost.localstack.cloud`. */
const EDGE_HOST_SUFFIXES = ['.localhost.localstack.cloud'];
const REFUSAL_TYPES: Readonly<Record<Refusal['error'], string>> = {
  misdirected_request: 'MisdirectedRequest',
  cross_origin_refused: 'AccessDeniedException',
  unsupported_media_type: 'UnsupportedMediaTypeException',
};

let options: ResolvedOptions = INITIAL_OPTIONS;
let log = createLogger({ service: 'embedded-stack', context: { pid: process.pid } });
let phase: 'starting' | 'running' | 'stopping' = 'starting';
let edge: Server | undefined;
let kinesisServer: Server | undefined;
let dynamodbServer: Server | undefined;
const ports: Record<Service, number> = { kinesis: 0, dynamodb: 0 };
/** Each emulator's own request listener, unguarded: the edge has checked the request already. */
const emulatorListeners: Partial<Record<Service, (req: IncomingMessage, res: ServerResponse) => void>> = {};
let edgePolicy: LocalRequestPolicy = {};
/** API Gateway, or why it could not be built from serverless.yml. */
let apiGateway: ApiGatewayService | Error | undefined;
/** For the start-up probes, which call each emulator on its own port. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

// ---------------------------------------------------------------------------------------------
// Edge server

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function routeRequest(headers: IncomingMessage['headers'], pathname: string): Route | undefined {
  const target = headers['x-amz-target'];
  if (typeof target === 'string') {
    for (const [prefix, service] of TARGET_PREFIXES) if (target.startsWith(prefix)) return service;
  }
  const authorization = headers.authorization;
  if (typeof authorization === 'string') {
    const scope = CREDENTIAL_SCOPE.exec(authorization)?.[1];
    if (scope === 'kinesis' || scope === 'dynamodb' || scope === 'apigateway') return scope;
  }
  // API Gateway's REST control plane is path-based (GET /restapis, …).
  if (pathname === '/restapis' || pathname.startsWith('/restapis/')) return 'apigateway';
  return undefined;
}

/** Runs an API Gateway request, or says why API Gateway is not available. */
function serveApiGateway(req: IncomingMessage, res: ServerResponse, serve: (service: ApiGatewayService) => Promise<void>): void {
  if (!(apiGateway instanceof ApiGatewayService)) {
    req.resume();
    const why = apiGateway instanceof Error ? apiGateway.message : 'it is not started';
    sendJson(res, 503, { __type: 'ServiceUnavailableException', message: `API Gateway is not available: ${why}` });
    return;
  }
  serve(apiGateway).catch((error: unknown) => {
    log.error('api gateway request failed', { url: req.url, error });
    if (!res.headersSent) sendJson(res, 500, { __type: 'InternalFailure', message: 'internal error in the embedded API Gateway' });
    else res.destroy();
  });
}

/**
 * Bodies up to this size reach the emulator in one chunk; kinesalite refuses anything over 7 MiB,
 * so every valid request fits.
 */
const WHOLE_BODY_BYTES = 8 * 1024 * 1024;

/**
 * Writes `req`'s body into `body` as one chunk. kinesalite and dynalite gather a body with
 * `body = Buffer.concat([body, chunk])` on every chunk, which copies it again per chunk: quadratic,
 * and on a 5 MB PutRecords of aggregated records (≈ 80 chunks) it was 40 % of the emulator
 * process's CPU in a profile of the aggregated put floor. Gathered here once (linear), the
 * emulator's concat never runs. A body over WHOLE_BODY_BYTES streams through as it comes, for the
 * emulator to refuse as it would have.
 */
function handOverWhole(req: IncomingMessage, body: PassThrough): void {
  let chunks: Buffer[] = [];
  let size = 0;
  const gather = (chunk: Buffer): void => {
    chunks.push(chunk);
    size += chunk.length;
    if (size <= WHOLE_BODY_BYTES) return;
    req.off('data', gather);
    req.off('end', finish);
    body.write(Buffer.concat(chunks, size));
    chunks = [];
    req.pipe(body);
  };
  const finish = (): void => {
    if (size === 0) body.end();
    else body.end(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
  };
  req.on('data', gather);
  req.on('end', finish);
}

/**
 * Hands a request to an emulator's own request handler, in this process. It used to be proxied
 * over HTTP to the emulator's port: a second parse, and every body and answer copied through one
 * more loopback socket. GetRecords answers are the biggest payloads (≈ 550 bytes per record), so
 * that hop cost the pipeline more than it cost a PutRecords-only load; in alternating runs of the
 * benchmark's aggregation-off variant (200k quotes) in-process dispatch was faster in 5 of 5 pairs
 * (+2 % to +20 %) and the stack used 3-18 % less CPU for the same work.
 *
 * The body goes through a PassThrough rather than the client's request itself: kinesalite and
 * dynalite both do `req.on('error', (e) => { throw e })`, so a client that disconnects in the
 * middle of a body would throw out of the emulator (into the uncaught-error filter at the end of
 * this file, at best). Here that error ends at the edge, and the emulator simply never sees the
 * end of a body nobody waits for any more.
 */
function dispatch(req: IncomingMessage, res: ServerResponse, service: Service): void {
  const listener = emulatorListeners[service];
  if (listener === undefined) {
    req.resume();
    sendJson(res, 503, { __type: 'ServiceUnavailable', message: `${service} emulator is not started` });
    return;
  }
  const body = new PassThrough();
  req.on('error', () => body.destroy());
  handOverWhole(req, body);
  // The emulators read only these three fields, the body events and removeAllListeners.
  const request = Object.assign(body, { headers: req.headers, method: req.method, url: req.url });
  listener(request as unknown as IncomingMessage, res);
}

function handleEdgeRequest(req: IncomingMessage, res: ServerResponse): void {
  const refusal = checkLocalRequest({ method: req.method, headers: req.headers, localPort: req.socket.localPort }, edgePolicy);
  if (refusal !== undefined) {
    req.resume();
    sendJson(res, refusal.status, { __type: REFUSAL_TYPES[refusal.error], message: refusal.message });
    return;
  }
  const pathname = (req.url ?? '/').split('?')[0] ?? '/';
  if ((req.method === 'GET' || req.method === 'HEAD') && HEALTH_PATHS.has(pathname)) {
    const state = phase === 'running' ? 'running' : phase === 'starting' ? 'initializing' : 'stopping';
    // Top-level keys for our own tools; `services` is the shape LocalStack-aware tools read.
    sendJson(res, phase === 'running' ? 200 : 503, {
      kinesis: state,
      dynamodb: state,
      services: { kinesis: state, dynamodb: state },
    });
    return;
  }
  if (phase !== 'running') {
    sendJson(res, 503, { __type: 'ServiceUnavailable', message: `embedded stack is ${phase}` });
    return;
  }
  const invoke = invokeTarget(req.headers.host, req.url ?? '/');
  if (invoke !== undefined) {
    serveApiGateway(req, res, (service) => service.handleInvoke(req, res, invoke));
    return;
  }
  const route = routeRequest(req.headers, pathname);
  if (route === undefined) {
    req.resume();
    sendJson(res, 400, {
      __type: 'UnknownServiceException',
      message:
        'cannot route request: expected an X-Amz-Target header starting with Kinesis_20131202. or ' +
        'DynamoDB_20120810., an Authorization credential scope for kinesis, dynamodb or apigateway, ' +
        'or an API Gateway path (/restapis…)',
    });
    return;
  }
  if (route === 'apigateway') {
    serveApiGateway(req, res, (service) => service.handleControl(req, res));
    return;
  }
  dispatch(req, res, route);
}

// ---------------------------------------------------------------------------------------------
// Start-up

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      server.on('error', (error) => log.error('server error', { error }));
      resolve((server.address() as AddressInfo).port);
    });
  });
}

interface LevelDownLike {
  open(callback: (error?: Error | null) => void): void;
  close(callback: (error?: Error | null) => void): void;
}
type LevelDownFactory = (location: string) => LevelDownLike;
interface LevelModule {
  Level: new (location: string) => { open(): Promise<void>; close(): Promise<void> };
}

/** `require` as seen from inside an emulator's package, to load the exact LevelDB binding it uses. */
function requireFrom(pkg: string): NodeJS.Require {
  return createRequire(createRequire(import.meta.url).resolve(pkg));
}

function isLockError(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if ((e as { code?: unknown }).code === 'LEVEL_LOCKED') return true;
    if (/lock .*LOCK|already held by process/i.test(e.message)) return true;
  }
  return false;
}

/**
 * Opens and closes each store once with the emulator's own binding. A LOCK held by another
 * process fails here with a clear message; inside the emulators it would surface as an uncaught
 * exception (kinesalite) or a request that crashes with "Iterator is not open" (dynalite).
 */
async function probeStores(kinesisDir: string, dynamodbDir: string): Promise<void> {
  const attempt = async (dir: string, open: () => Promise<void>): Promise<void> => {
    try {
      await open();
    } catch (error) {
      if (isLockError(error)) {
        throw new StartError(
          'STATE_DIR_LOCKED',
          `state dir ${options.stateDir} is in use by another running stack (LevelDB lock on ${dir} is held); ` +
            'stop that stack or use another STATE_DIR',
          { cause: error },
        );
      }
      throw new StartError('STATE_DIR_UNUSABLE', `cannot open ${dir}: ${(error as Error).message}`, { cause: error });
    }
  };
  const leveldown = requireFrom('kinesalite')('leveldown') as LevelDownFactory;
  await attempt(kinesisDir, async () => {
    const db = leveldown(kinesisDir);
    await new Promise<void>((resolve, reject) => db.open((e) => (e ? reject(e) : resolve())));
    await new Promise<void>((resolve, reject) => db.close((e) => (e ? reject(e) : resolve())));
  });
  const { Level } = requireFrom('dynalite')('level') as LevelModule;
  await attempt(dynamodbDir, async () => {
    const db = new Level(dynamodbDir);
    await db.open();
    await db.close();
  });
}

/** One real, cheap call straight to an emulator: proves its store opened and it answers. */
function probeEmulator(service: Service): Promise<void> {
  const target = service === 'kinesis' ? 'Kinesis_20131202.ListStreams' : 'DynamoDB_20120810.ListTables';
  const contentType = service === 'kinesis' ? 'application/x-amz-json-1.1' : 'application/x-amz-json-1.0';
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: options.host,
        port: ports[service],
        method: 'POST',
        path: '/',
        agent,
        headers: {
          'Content-Type': contentType,
          'X-Amz-Target': target,
          'X-Amz-Date': '20240101T000000Z',
          Authorization: `AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=0`,
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve()
            : reject(new StartError('EMULATOR_FAILED', `${service} emulator answered ${res.statusCode}: ${body}`)),
        );
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`${service} emulator did not answer within 10 s`)));
    req.on('error', (error) =>
      reject(new StartError('EMULATOR_FAILED', `${service} emulator failed: ${error.message}`, { cause: error })),
    );
    req.end('{}');
  });
}

async function start(): Promise<EmulatorsMessage> {
  options = parseOptions(process.argv[2]);
  const logFile = options.logFile;
  log = createLogger({
    service: 'embedded-stack',
    level: options.logLevel,
    context: { pid: process.pid },
    sink: logFile === undefined ? undefined : (line) => appendFileSync(logFile, line + '\n'),
  });
  const { stateDir, host } = options;
  edgePolicy = { allowedHosts: parseAllowedHosts(options.allowedHosts), allowedSuffixes: EDGE_HOST_SUFFIXES };

  // The edge first: a taken port is the most likely failure and needs no state.
  edge = http.createServer(handleEdgeRequest);
  edge.keepAliveTimeout = 65_000;
  edge.headersTimeout = 66_000;
  let edgePort: number;
  try {
    edgePort = await listen(edge, options.edgePort, host);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new StartError(
        'EDGE_PORT_IN_USE',
        `port ${options.edgePort} on ${host} is already in use (another tick-replay stack or LocalStack?); ` +
          'set EDGE_PORT or AWS_ENDPOINT_URL',
        { cause: error },
      );
    }
    throw new StartError('EDGE_LISTEN_FAILED', `cannot listen on ${host}:${options.edgePort}: ${(error as Error).message}`, {
      cause: error,
    });
  }

  const kinesisDir = path.join(stateDir, 'kinesis');
  const dynamodbDir = path.join(stateDir, 'dynamodb');
  await fs.mkdir(stateDir, { recursive: true });
  await probeStores(kinesisDir, dynamodbDir);

  // kinesalite's per-record bignumber.js work, made cheap (same results; see each module).
  const kinesaliteDb = requireFrom('kinesalite')('./db') as SequenceCodec & Parameters<typeof installRememberingHashKeys>[0];
  installFastSequenceCodec(kinesaliteDb);
  installRememberingHashKeys(kinesaliteDb);
  kinesisServer = kinesalite({
    path: kinesisDir,
    createStreamMs: TRANSITION_MS,
    deleteStreamMs: TRANSITION_MS,
    updateStreamMs: TRANSITION_MS,
    shardLimit: options.shardLimit,
  });
  dynamodbServer = dynalite({
    path: dynamodbDir,
    createTableMs: TRANSITION_MS,
    deleteTableMs: TRANSITION_MS,
    updateTableMs: TRANSITION_MS,
  });
  for (const [service, server] of [['kinesis', kinesisServer], ['dynamodb', dynamodbServer]] as const) {
    // Direct callers of an emulator's own port (the probes, a user) get the edge's keep-alive.
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    emulatorListeners[service] = server.listeners('request')[0] as (req: IncomingMessage, res: ServerResponse) => void;
    // Its own port answers the same requests as the edge does, no more.
    guardServer(server, { allowedHosts: edgePolicy.allowedHosts });
  }
  ports.kinesis = await listen(kinesisServer, 0, host);
  ports.dynamodb = await listen(dynamodbServer, 0, host);
  await Promise.all([probeEmulator('kinesis'), probeEmulator('dynamodb')]);
  // Kinesis and DynamoDB do not depend on serverless.yml: a bad one disables API Gateway only.
  apiGateway = await startApiGateway({
    serviceFile: options.serviceFile,
    functions: options.functions,
    endpointUrl: `http://${urlHost(host)}:${edgePort}`,
    logLevel: options.logLevel,
    logger: log.child('apigateway'),
  }).catch((error: unknown) => {
    log.error('api gateway disabled: cannot build the REST API from serverless.yml', { serviceFile: options.serviceFile, error });
    return error instanceof Error ? error : new Error(String(error));
  });

  phase = 'running';
  log.info('embedded stack ready', { stateDir, edgePort, kinesisPort: ports.kinesis, dynamodbPort: ports.dynamodb });
  return { type: 'ready', edgePort, kinesisPort: ports.kinesis, dynamodbPort: ports.dynamodb };
}

// ---------------------------------------------------------------------------------------------
// Reporting and shutdown

function report(message: EmulatorsMessage): Promise<void> {
  if (process.send === undefined) {
    // Started by hand: the parent is a human.
    process.stdout.write(JSON.stringify(message) + '\n');
    return Promise.resolve();
  }
  if (!process.connected) return Promise.resolve();
  return new Promise((resolve) => {
    process.send?.(message, undefined, undefined, () => resolve());
  });
}

function closeServer(name: string, server: Server | undefined): Promise<void> {
  if (server === undefined || !server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    // Keep-alive sockets of clients that are still connected would hold close() open.
    const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
    server.close((error) => {
      clearTimeout(cut);
      if (error) log.error(`closing ${name} failed`, { error });
      resolve();
    });
    server.closeIdleConnections();
  });
}

let stopping: Promise<void> | undefined;

function shutdown(reason: string, exitCode: number): Promise<void> {
  stopping ??= (async () => {
    phase = 'stopping';
    log.info('embedded stack stopping', { reason });
    setTimeout(() => {
      log.error('shutdown deadline passed; exiting without a clean close', { deadlineMs: SHUTDOWN_DEADLINE_MS });
      process.exit(exitCode === 0 ? 1 : exitCode);
    }, SHUTDOWN_DEADLINE_MS).unref();
    await closeServer('edge', edge);
    agent.destroy();
    // Each emulator's close() also closes (and so flushes and unlocks) its LevelDB store.
    await Promise.all([closeServer('kinesalite', kinesisServer), closeServer('dynalite', dynamodbServer)]);
    log.info('embedded stack stopped', { reason });
    process.exit(exitCode);
  })();
  return stopping;
}

/** Errors thrown inside the emulators when a client drops a connection mid-request. */
function isConnectionNoise(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    code === 'ECONNRESET' ||
    code === 'EPIPE' ||
    code === 'ERR_STREAM_PREMATURE_CLOSE' ||
    (error instanceof Error && error.message === 'aborted')
  );
}

async function fail(error: unknown): Promise<void> {
  if (phase === 'starting') {
    const code = error instanceof StartError ? error.code : 'START_FAILED';
    const message = error instanceof Error ? error.message : String(error);
    log.error('embedded stack failed to start', { code, error });
    await report({ type: 'error', code, message });
    await shutdown(`start failed: ${code}`, 1);
    return;
  }
  if (isConnectionNoise(error)) {
    // kinesalite rethrows a client's aborted request body (`req.on('error', e => { throw e })`).
    log.warn('client connection dropped mid-request', { error });
    return;
  }
  log.error('embedded stack crashed', { error });
  await shutdown('uncaught error', 1);
}

process.on('uncaughtException', (error) => void fail(error));
process.on('unhandledRejection', (error) => void fail(error));
process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
process.on('SIGINT', () => void shutdown('SIGINT', 0));
// The IPC channel closes when the parent exits or is killed (even with SIGKILL).
process.on('disconnect', () => void shutdown('parent disconnected', 0));

void start().then(
  (ready) => report(ready),
  (error: unknown) => fail(error),
);
