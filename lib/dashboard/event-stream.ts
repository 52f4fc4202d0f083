/**
 * GET /events: server-sent events, one snapshot every `intervalMs` to every connected page, with
 * backpressure. `res.write` returning false means the client's socket has not taken what it was
 * given; writing on would queue every later snapshot in this process's memory for as long as the
 * client (a stalled or suspended browser tab) does not read. So a blocked client gets no new event
 * until its socket drains (it skips snapshots: each one replaces the last, nothing is lost that a
 * later one does not carry), and one still blocked after `stallLimitMs` is dropped and counted;
 * a browser's EventSource reconnects by itself once it reads again. Memory per client is thus
 * bounded by one snapshot beyond the socket's buffers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logging/logger.ts';
import type { MetricsRegistry } from '../metrics/registry.ts';

export const SSE_METRIC = {
  clients: 'dashboard_sse_clients',
  dropped: 'dashboard_sse_clients_dropped_total',
  skipped: 'dashboard_sse_events_skipped_total',
} as const;

export interface EventStreamOptions {
  /** What each event carries (serialised as JSON). */
  next: () => unknown;
  intervalMs: number;
  /** A client whose socket has taken nothing for this long is dropped (default 10 s). */
  stallLimitMs?: number;
  registry: MetricsRegistry;
  logger: Logger;
}

interface Client {
  res: ServerResponse;
  /** The last write returned false and 'drain' has not come yet. */
  blocked: boolean;
  /** Ticks in a row the client was blocked. */
  stalledTicks: number;
}

export class EventStream {
  private readonly clients = new Set<Client>();
  private readonly timer: NodeJS.Timeout;
  private readonly maxStalledTicks: number;

  constructor(private readonly options: EventStreamOptions) {
    const { registry } = options;
    registry.describe(SSE_METRIC.clients, 'Dashboard pages connected to GET /events.');
    registry.describe(SSE_METRIC.dropped, 'Dashboard event-stream clients dropped because their connection stopped taking events.');
    registry.describe(SSE_METRIC.skipped, 'Snapshots not sent to a client whose connection had not taken the previous one yet.');
    registry.set(SSE_METRIC.clients, 0);
    registry.inc(SSE_METRIC.dropped, undefined, 0);
    registry.inc(SSE_METRIC.skipped, undefined, 0);
    this.maxStalledTicks = Math.max(1, Math.ceil((options.stallLimitMs ?? 10_000) / options.intervalMs));
    this.timer = setInterval(() => this.tick(), options.intervalMs);
    this.timer.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Answers an /events request and keeps the connection as a client. */
  add(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    const client: Client = { res, blocked: false, stalledTicks: 0 };
    this.clients.add(client);
    this.options.registry.set(SSE_METRIC.clients, this.clients.size);
    res.on('drain', () => {
      client.blocked = false;
      client.stalledTicks = 0;
    });
    req.on('close', () => this.remove(client));
    this.send(client, `retry: 1000\ndata: ${JSON.stringify(this.options.next())}\n\n`);
  }

  /** Ends every stream and stops the timer. */
  close(): void {
    clearInterval(this.timer);
    for (const client of this.clients) client.res.end();
    this.clients.clear();
    this.options.registry.set(SSE_METRIC.clients, 0);
  }

  private tick(): void {
    if (this.clients.size === 0) return;
    let data: string | undefined;
    for (const client of [...this.clients]) {
      if (client.blocked) {
        this.options.registry.inc(SSE_METRIC.skipped);
        if (++client.stalledTicks >= this.maxStalledTicks) this.drop(client);
        continue;
      }
      data ??= `data: ${JSON.stringify(this.options.next())}\n\n`;
      this.send(client, data);
    }
  }

  private send(client: Client, data: string): void {
    if (!client.res.write(data)) client.blocked = true;
  }

  private drop(client: Client): void {
    this.remove(client);
    this.options.registry.inc(SSE_METRIC.dropped);
    this.options.logger.warn('dropped a dashboard event-stream client whose connection stopped taking events', {
      stalledMs: client.stalledTicks * this.options.intervalMs,
      buffered: client.res.writableLength,
      remote: client.res.socket?.remoteAddress,
    });
    // destroy, not end: end would wait behind the unread data, holding it in memory.
    client.res.destroy();
  }

  private remove(client: Client): void {
    if (this.clients.delete(client)) this.options.registry.set(SSE_METRIC.clients, this.clients.size);
  }
}
