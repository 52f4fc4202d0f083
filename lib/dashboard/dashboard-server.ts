/**
 * The local dashboard's HTTP server (started by `up`, 127.0.0.1 by default):
 *
 *   GET  /                the dashboard page (lib/dashboard/public/)
 *   GET  /dashboard.js, /dashboard.css, /vendor/uPlot.*   static assets (uPlot from node_modules)
 *   GET  /metrics         the metrics in the Prometheus text exposition format (0.0.4)
 *   GET  /api/snapshot    the current snapshot as JSON (what the page renders)
 *   GET  /events          server-sent events: a snapshot every `intervalMs`, with backpressure
 *   GET|POST /api/mode    proxied to the mode API (up's, in-process-mode-api.ts), so the page has one origin
 *
 * Like every local server it answers loopback `Host`s only and refuses other origins
 * (lib/http/local-request-guard.ts). A mode change (`POST /api/mode`) must also come from the
 * page itself: its own `Origin`, JSON, and the {@link DASHBOARD_CLIENT_HEADER} header, which a page
 * elsewhere cannot send without a preflight. No page may frame the dashboard (clickjacking).
 */
import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { AllowedHost } from '../http/allowed-hosts.ts';
import { listenLocal } from '../http/listen.ts';
import { admitLocalRequest, sendRefusal } from '../http/local-request-guard.ts';
import { urlHost } from '../http/local-url.ts';
import type { Logger } from '../logging/logger.ts';
import { EXPOSITION_CONTENT_TYPE } from '../metrics/prometheus.ts';
import { EventStream } from './event-stream.ts';
import type { StackMetrics } from './stack-metrics.ts';

export interface DashboardServerOptions {
  port: number;
  host?: string;
  /** The mode API base URL (…/mode is appended). */
  modeApiUrl: string;
  /** The snapshot (page, events), the exposition (/metrics), and the registry the server counts in. */
  metrics: Pick<StackMetrics, 'sample' | 'exposition' | 'registry'>;
  logger: Logger;
  intervalMs?: number;
  /** An event-stream client whose connection takes nothing for this long is dropped (default 10 s). */
  sseStallLimitMs?: number;
  /** `Host` names answered besides loopback ones (ALLOWED_HOSTS), for a dashboard bound beyond loopback. */
  allowedHosts?: readonly AllowedHost[];
}

export interface DashboardServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Sent by the dashboard's page with every mode request (lib/dashboard/public/dashboard.js). */
export const DASHBOARD_CLIENT_HEADER = 'x-tick-replay-client';

/** On every answer: no page may frame the dashboard and click its buttons for the user. */
const FRAMING_HEADERS = { 'content-security-policy': "frame-ancestors 'none'", 'x-frame-options': 'DENY' } as const;

/** Mode requests are tiny; the mode API itself answers 413 over 1 KiB. */
const MAX_BODY = 4 * 1024;

const publicDir = path.join(import.meta.dirname, 'public');
const uplotDir = path.dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));

/** Every file served, by URL path: nothing else on disk is reachable. */
const ASSETS: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: path.join(publicDir, 'index.html'), type: 'text/html; charset=utf-8' },
  '/dashboard.js': { file: path.join(publicDir, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { file: path.join(publicDir, 'dashboard.css'), type: 'text/css; charset=utf-8' },
  '/vendor/uPlot.iife.min.js': { file: path.join(uplotDir, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/vendor/uPlot.min.css': { file: path.join(uplotDir, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const { logger, metrics } = options;
  const events = new EventStream({
    next: () => metrics.sample(),
    intervalMs: options.intervalMs ?? 1_000,
    stallLimitMs: options.sseStallLimitMs,
    registry: metrics.registry,
    logger,
  });

  const proxyMode = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // The guard has refused other origins; a mode change must also show it comes from the page.
    if (req.method === 'POST' && (req.headers.origin === undefined || req.headers[DASHBOARD_CLIENT_HEADER] !== 'dashboard')) {
      sendRefusal(req, res, {
        status: 403,
        error: 'cross_origin_refused',
        message: `mode changes through the dashboard come from its own page only (Origin and ${DASHBOARD_CLIENT_HEADER} headers)`,
      });
      return;
    }
    const body = req.method === 'POST' ? await readBody(req) : undefined;
    if (req.method === 'POST' && body === undefined) {
      sendJson(res, 413, { error: 'payload_too_large', message: `a mode request is at most ${MAX_BODY} bytes` });
      return;
    }
    try {
      const upstream = await fetch(`${options.modeApiUrl}/mode`, {
        method: req.method,
        body,
        headers: body === undefined ? undefined : { 'content-type': 'application/json' },
        signal: AbortSignal.timeout(10_000),
      });
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json', 'cache-control': 'no-store' });
      res.end(await upstream.text());
    } catch (error) {
      logger.warn('mode API not reachable from the dashboard', { error });
      sendJson(res, 502, { error: 'mode_api_unreachable', message: `the mode API at ${options.modeApiUrl} is not reachable` });
    }
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (pathname === '/api/mode' && (req.method === 'GET' || req.method === 'POST')) return proxyMode(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'method_not_allowed' });
    if (pathname === '/metrics') {
      res.writeHead(200, { 'content-type': EXPOSITION_CONTENT_TYPE, 'cache-control': 'no-store' });
      return void res.end(metrics.exposition());
    }
    if (pathname === '/api/snapshot') return sendJson(res, 200, metrics.sample());
    if (pathname === '/events') return events.add(req, res);
    const asset = ASSETS[pathname];
    if (asset === undefined) return sendJson(res, 404, { error: 'not_found' });
    res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache' });
    createReadStream(asset.file)
      .on('error', (error) => {
        logger.error('cannot read a dashboard asset', { file: asset.file, error });
        res.destroy();
      })
      .pipe(res);
  };

  const policy = { allowedHosts: options.allowedHosts };
  const server = createServer((req, res) => {
    for (const [name, value] of Object.entries(FRAMING_HEADERS)) res.setHeader(name, value);
    if (!admitLocalRequest(req, res, policy)) return;
    route(req, res).catch((error: unknown) => {
      logger.error('dashboard request failed', { url: req.url, error });
      if (!res.headersSent) sendJson(res, 500, { error: 'internal' });
      else res.destroy();
    });
  });
  const host = options.host ?? '127.0.0.1';
  let address: AddressInfo;
  try {
    address = await listenLocal(server, { host, port: options.port, what: 'dashboard', portFlag: '--dashboard-port' });
  } catch (error) {
    events.close();
    throw error;
  }
  const url = `http://${urlHost(address.address)}:${address.port}`;
  logger.info('dashboard listening', { url });
  return {
    url,
    port: address.port,
    close: async () => {
      events.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
