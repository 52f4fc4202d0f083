/**
 * A websocket quote feed made from a CSV file: the stand-in for an exchange in demos and tests.
 *
 * Rows are read with readQuoteRows (rejected rows are logged and skipped), paced by their
 * timestamp deltas with the Pacer and broadcast, one JSON text message each (live-message.ts),
 * to every client connected at that moment. Like an exchange, a paced stream runs whether or not
 * anyone listens: a client sees the quotes from the moment it connects, there is no replay. At
 * speed 'max' the stream pauses while no client is subscribed (it would otherwise loop its file
 * to nobody as fast as a core allows) and goes on, re-anchored, when one is.
 *
 * Memory is bounded per client: a client whose unsent bytes exceed `maxBufferedBytes` is a slow
 * consumer and is terminated. Without that bound one stalled reader would make the server buffer
 * the whole feed for it.
 *
 * Like every local server it answers loopback `Host`s only (plus ALLOWED_HOSTS) and refuses
 * upgrades from web pages of other origins (lib/http/local-request-guard.ts): a websocket is not
 * subject to CORS, so without the check any page could read the feed.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { WebSocket, WebSocketServer } from 'ws';
import { errorCode } from '../errors.ts';
import type { AllowedHost } from '../http/allowed-hosts.ts';
import { admitLocalRequest, checkLocalRequest } from '../http/local-request-guard.ts';
import { urlHost } from '../http/local-url.ts';
import type { Logger } from '../logging/logger.ts';
import { openInput, sourceFor } from '../input/input.ts';
import { readQuoteRows } from '../quotes/csv-reader.ts';
import type { RowResult } from '../quotes/row.ts';
import { systemClock, type Clock } from '../time/clock.ts';
import { Pacer, type Speed } from '../replay/pacer.ts';
import { FeedServerError } from './live-errors.ts';
import type { LiveFormat } from './venues/venue.ts';
import { venueMapper } from './venues/venues.ts';
import { readFile } from 'node:fs/promises';
import { InputError } from '../errors.ts';
import type { QuoteFields } from '../quotes/quote.ts';

export interface FeedServerOptions {
  /** CSV file of quotes to stream (or `frames`). */
  file?: string;
  /**
   * A file of recorded frames, one per line, sent verbatim once (to each client subscribed at the
   * time), instead of quotes from `file`: a venue's documented messages, heartbeats and all.
   */
  frames?: string;
  /** The protocol spoken (default json, ours): the venue's message format and subscription. */
  format?: LiveFormat;
  /** Interface to listen on (default 127.0.0.1: a demo feed is not exposed by accident). */
  host?: string;
  /** `Host` names answered besides loopback ones (ALLOWED_HOSTS), e.g. `feed` in docker compose. */
  allowedHosts?: readonly AllowedHost[];
  /** 0 picks a free port; `FeedServer.port` says which. */
  port: number;
  speed: Speed;
  /** At the end of the file, start over (pacing re-anchored) instead of going quiet. */
  loop: boolean;
  logger: Logger;
  clock?: Clock;
  /** A client with more unsent bytes than this is dropped as a slow consumer (default 1 MiB). */
  maxBufferedBytes?: number;
  /**
   * Hold the stream until this many clients are connected (default 0: stream at once). Once
   * started it never waits again. For tests and demos that must see the first quote.
   */
  waitForClients?: number;
}

export interface FeedServer {
  /** `ws://host:port` to connect to. */
  url: string;
  port: number;
  /** Clients connected now. */
  clients(): number;
  /** Quote messages streamed so far (each went to every client connected at the time). */
  sent(): number;
  /** Stops the stream, terminates the clients and closes the listening socket. Idempotent. */
  close(): Promise<void>;
}

export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;

/** Clients have nothing to say to a feed (pings are control frames and not counted here). */
const MAX_CLIENT_MESSAGE_BYTES = 1024;

/**
 * At speed 'max' the stream would otherwise send a whole file chunk's rows (thousands) without
 * letting the event loop run: no new connections, no socket writes, no close(). A turn every so
 * many rows keeps the server responsive at a negligible cost.
 */
const ROWS_PER_TURN = 256;

const LISTEN_ERROR_TEXT: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the port is already in use',
  EADDRNOTAVAIL: 'the address is not available on this machine',
  EACCES: 'permission denied (ports below 1024 need privileges)',
};

function describeListenError(error: Error): string {
  const code = errorCode(error);
  return (code !== undefined ? LISTEN_ERROR_TEXT[code] : undefined) ?? error.message;
}

function peerOf(request: IncomingMessage): string {
  const { remoteAddress, remotePort } = request.socket;
  return `${remoteAddress ?? '?'}:${remotePort ?? '?'}`;
}

/** Plain HTTP requests get a one-line explanation instead of a hanging connection. */
function upgradeRequired(_request: IncomingMessage, response: ServerResponse): void {
  response.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
  response.end('tick-replay live feed: connect with a websocket client\n');
}

/** No rows: the recorded-frames mode reads no CSV. */
function emptyRows(): AsyncGenerator<RowResult> {
  return (async function* () {})();
}

/** What the feed keeps per client: whether it may receive quotes, and its message numbering. */
interface ClientState {
  peer: string;
  subscribed: boolean;
  sequence: number;
}

/** The rows of `first` (already started) and then the rest of its generator. */
async function* resumed(first: IteratorResult<RowResult>, rest: AsyncGenerator<RowResult>): AsyncGenerator<RowResult> {
  if (first.done === true) return;
  yield first.value;
  yield* rest;
}

/**
 * Starts the feed. Throws InputError (from readQuoteRows) when the file cannot be used and
 * FeedServerError when the address cannot be bound, before anything is served.
 */
export async function startFeedServer(options: FeedServerOptions): Promise<FeedServer> {
  const host = options.host ?? '127.0.0.1';
  const clock = options.clock ?? systemClock;
  const maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  const waitForClients = options.waitForClients ?? 0;
  const logger = options.logger.child('live-feed');
  const venue = venueMapper(options.format ?? 'json').feed;
  const source = options.frames ?? options.file;
  if (source === undefined) throw new InputError('the feed needs a CSV file of quotes or a file of recorded frames', {});
  const file = path.relative(process.cwd(), source) || source;
  const stop = new AbortController();
  const signal = stop.signal;

  // Recorded frames: one message per non-empty line, read now (fixtures are small).
  const frames = options.frames === undefined ? undefined : (await readFile(options.frames, 'utf8').catch((error: unknown) => {
    throw new InputError(`cannot read ${options.frames}: ${(error as Error).message}`, { file: options.frames }, { cause: error });
  })).split('\n').filter((line) => line.trim().length > 0);

  // Reading the first row opens the file and maps its header: a missing file or a header without
  // the required columns fails the start, not a stream nobody is watching.
  const input = frames === undefined ? await openInput(sourceFor(source)) : undefined;
  const readRows = (): AsyncGenerator<RowResult> => (input === undefined ? emptyRows() : readQuoteRows(input.bytes, { signal }));
  let rows = readRows();
  const firstRow = await rows.next();

  const policy = { allowedHosts: options.allowedHosts };
  const http = createServer((request, response) => {
    if (admitLocalRequest(request, response, policy)) upgradeRequired(request, response);
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      void rows.return(undefined);
      reject(
        new FeedServerError(`cannot listen on ${host}:${options.port}: ${describeListenError(error)}`, { host, port: options.port, code: errorCode(error) }, { cause: error }),
      );
    };
    http.once('error', onError);
    http.listen(options.port, host, () => {
      http.off('error', onError);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const url = `ws://${urlHost(host)}:${port}`;

  // Made after listen succeeded: ws re-emits the http server's errors, and a listen error must
  // reach the caller as a FeedServerError, not as an unhandled 'error' event.
  const wss = new WebSocketServer({
    server: http,
    maxPayload: MAX_CLIENT_MESSAGE_BYTES,
    verifyClient: ({ req }, accept) => {
      const refusal = checkLocalRequest({ method: req.method, headers: req.headers, localPort: req.socket.localPort }, policy);
      if (refusal === undefined) return accept(true);
      logger.warn('upgrade refused', { peer: peerOf(req), status: refusal.status, reason: refusal.error });
      accept(false, refusal.status, refusal.message);
    },
  });
  wss.on('error', (error) => logger.error('feed server error', { error }));
  const clientsState = new WeakMap<WebSocket, ClientState>();
  let clientsChanged: (() => void) | undefined;

  wss.on('connection', (client, request) => {
    const peer = peerOf(request);
    const state: ClientState = { peer, subscribed: !venue.needsSubscribe, sequence: 0 };
    clientsState.set(client, state);
    const next = (): number => state.sequence++;
    // Venues that need one send nothing before a subscribe message; each is answered.
    client.on('message', (data, isBinary) => {
      if (isBinary) return;
      const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
      const answer = venue.answerSubscribe(text, next);
      if (answer === undefined) return;
      client.send(answer);
      if (!state.subscribed) {
        state.subscribed = true;
        logger.info('client subscribed', { peer });
        clientsChanged?.();
      }
    });
    logger.info('client connected', { peer, clients: wss.clients.size });
    // A client socket error (reset, protocol error) must not take the feed down; 'close' follows.
    client.on('error', (error) => logger.warn('client error', { peer, error }));
    client.on('close', (code) => logger.info('client disconnected', { peer, code, clients: wss.clients.size }));
    clientsChanged?.();
  });

  let sent = 0;
  /** Sends to every subscribed client: a quote in the venue's format, or a recorded frame as it is. */
  const broadcast = (message: { fields: QuoteFields } | { frame: string }): void => {
    sent++;
    for (const client of wss.clients) {
      const state = clientsState.get(client);
      if (client.readyState !== WebSocket.OPEN || state?.subscribed !== true) continue;
      const payload = 'frame' in message ? message.frame : venue.encode(message.fields, () => state.sequence++);
      client.send(payload, { binary: false });
      if (client.bufferedAmount > maxBufferedBytes) {
        logger.warn('slow consumer terminated: too much unsent data', {
          peer: state.peer,
          bufferedBytes: client.bufferedAmount,
          maxBufferedBytes,
        });
        client.terminate();
      }
    }
  };
  const subscribedClients = (): number => [...wss.clients].filter((c) => clientsState.get(c)?.subscribed === true).length;

  const waitForAudience = (min = waitForClients): Promise<void> =>
    new Promise<void>((resolve) => {
      const check = (): void => {
        if (subscribedClients() < min && !signal.aborted) return;
        clientsChanged = undefined;
        signal.removeEventListener('abort', check);
        resolve();
      };
      clientsChanged = check;
      signal.addEventListener('abort', check, { once: true });
      check();
    });

  const stream = async (): Promise<void> => {
    if (waitForClients > 0) {
      logger.info('waiting for clients before streaming', { waitForClients });
      await waitForAudience();
    }
    if (frames !== undefined) {
      logger.info('streaming recorded frames', { file, frames: frames.length });
      for (const frame of frames) {
        if (signal.aborted) return;
        broadcast({ frame });
        await nextTurn();
      }
      logger.info('frames done; still accepting connections, sending nothing', { file, sent });
      return;
    }
    const pacer = new Pacer(options.speed, clock);
    let source = resumed(firstRow, rows);
    let pass = 1;
    let rejected = 0;
    let sinceTurn = 0;
    logger.info('streaming', { file, speed: options.speed, loop: options.loop });
    for (;;) {
      let valid = 0;
      for await (const row of source) {
        if (!row.ok) {
          // Each pass reads the same file: its rejections are reported once, on the first.
          if (pass === 1) {
            rejected++;
            logger.warn('row rejected', { file, line: row.line, field: row.field, reason: row.reason });
          }
          continue;
        }
        valid++;
        if (options.speed === 'max' && subscribedClients() === 0) {
          logger.info('no client subscribed: the stream at speed max pauses until one is', { sent });
          await waitForAudience(1);
          if (signal.aborted) return;
        }
        await pacer.wait(row.timestampUs, signal);
        if (signal.aborted) return;
        broadcast({ fields: row.fields });
        if (options.speed === 'max' && ++sinceTurn >= ROWS_PER_TURN) {
          sinceTurn = 0;
          await nextTurn();
          if (signal.aborted) return;
        }
      }
      if (!options.loop) {
        logger.info('file done; still accepting connections, sending nothing', { file, sent, rejected });
        return;
      }
      if (valid === 0) {
        // Looping over a file without a single quote would spin forever sending nothing.
        logger.warn('file has no valid rows; not looping', { file, rejected });
        return;
      }
      pass++;
      logger.info('file done; looping', { file, pass, sent });
      // After the last row the next pass's first row goes out at once, not after a catch-up gap.
      pacer.reanchor();
      rows = readRows();
      source = rows;
    }
  };

  const streaming = stream().catch((error: unknown) => {
    // close() aborts the read; anything else (the file vanished between passes) ends the stream
    // but not the server: connected clients simply receive nothing more.
    if (!signal.aborted) logger.error('feed stream stopped', { file, error });
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      stop.abort();
      await streaming;
      await rows.return(undefined);
      for (const client of wss.clients) client.terminate();
      wss.close();
      // Sockets that never upgraded (plain HTTP keep-alive, half-done handshakes) would keep
      // http.close() waiting.
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      logger.info('feed closed', { sent });
    })();
    return closing;
  };

  logger.info('live feed listening', { url, file });
  return { url, port, clients: () => wss.clients.size, sent: () => sent, close };
}
