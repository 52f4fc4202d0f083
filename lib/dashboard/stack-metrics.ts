/**
 * The stack's metrics for the dashboard and the terminal status line: counters fed by the
 * producer's acknowledgements and the handler's batches, gauges sampled from the replayer, the
 * producer and the event source mapping, rates over a sliding window, and bounded buffers of the
 * latest mids (per ticker) and error lines. Pure apart from reading the components' state: the
 * clock is injected and nothing here starts a timer.
 */
import type { ProducerStats } from '../aws/producer.ts';
import type { MappingStats } from '../consumer/mapping-options.ts';
import type { ReplayStatus } from '../control/control-store.ts';
import { formatExposition } from '../metrics/prometheus.ts';
import { MetricsRegistry, type MetricsSnapshot } from '../metrics/registry.ts';
import { etaSeconds, RateWindow } from '../metrics/rate-window.ts';
import { RingBuffer } from '../metrics/ring-buffer.ts';
import type { BatchResult, BatchTiming } from '../midprice/process-batch.ts';
import type { QuoteAck } from '../replay/replayer.ts';
import type { Resolved } from '../options.ts';

/** Metric names (docs/dashboard.md lists them). */
export const METRIC = {
  quotesOut: 'quotes_out_total',
  rejectedRows: 'rejected_rows_total',
  producerRetriedRequests: 'producer_retried_requests_total',
  producerRetriedEntries: 'producer_retried_entries_total',
  producerInFlight: 'producer_in_flight_batches',
  producerUnacked: 'producer_unacked_quotes',
  historicalDone: 'historical_done',
  historicalTotal: 'historical_quotes',
  consumerLag: 'consumer_lag_seconds',
  consumerRecords: 'consumer_records_total',
  consumerFailedInvocations: 'consumer_failed_invocations_total',
  midLines: 'mid_lines_written_total',
  errorLines: 'error_lines_written_total',
  deadLetters: 'dead_letters_total',
  liveConnected: 'live_connected',
  liveReconnects: 'live_reconnects_total',
  liveReceived: 'live_received_total',
  liveSequenceGaps: 'live_sequence_gaps_total',
  liveMissedMessages: 'live_sequence_missed_messages_total',
  batchDuration: 'handler_batch_duration_seconds',
  deliveryLatency: 'delivery_latency_seconds',
} as const;

/** What each metric means: the exposition's `# HELP` lines. */
const HELP: Readonly<Record<(typeof METRIC)[keyof typeof METRIC], string>> = {
  quotes_out_total: 'Quotes acknowledged by Kinesis, by the mode of their source.',
  rejected_rows_total: 'Input rows (historical) or feed messages (live) rejected as invalid.',
  producer_retried_requests_total: 'PutRecords requests the producer sent again.',
  producer_retried_entries_total: 'Records the producer sent again (throttled or failed entries).',
  producer_in_flight_batches: 'PutRecords requests in flight.',
  producer_unacked_quotes: 'Quotes handed to the producer and not yet acknowledged.',
  historical_done: 'Historical quotes of the file acknowledged so far.',
  historical_quotes: 'Historical quotes in the file.',
  consumer_lag_seconds: 'Seconds the consumer is behind the tip of the stream, per held shard (GetRecords MillisBehindLatest / 1000).',
  consumer_records_total: 'Kinesis records handed to the mid-price handler by the local event source mapping.',
  consumer_failed_invocations_total: 'Handler invocations that failed or reported batch item failures (retried).',
  mid_lines_written_total: 'Lines written to mid_prices.log.',
  error_lines_written_total: 'Lines written to errors.log.',
  dead_letters_total: 'Malformed records written to dead_letters.log.',
  live_connected: '1 while the live feed socket is open, else 0.',
  live_reconnects_total: 'Live feed reconnections.',
  live_received_total: 'Live feed messages received.',
  live_sequence_gaps_total: 'Jumps in a venue\'s consecutive message numbers (Coinbase sequence_num): messages missed.',
  live_sequence_missed_messages_total: 'Venue messages those sequence gaps skipped.',
  handler_batch_duration_seconds: 'Seconds from the mid-price handler receiving a batch to its lines being written (written batches only).',
  delivery_latency_seconds: "Seconds from a quote's arrival to its mid line being written. Live quotes: arrival is when the frame came off the feed socket.",
};

/** 1 ms to 10 s: a batch is one append of up to BATCH_SIZE lines. */
const BATCH_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** 5 ms to 60 s: the local pipeline delivers in tens of ms; a stalled consumer in seconds. */
const DELIVERY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface StackSources {
  status(): ReplayStatus | undefined;
  producer(): Pick<ProducerStats, 'retriedRequests' | 'retriedEntries' | 'inFlightRequests' | 'unacked'> | undefined;
  /** Undefined when the consumer runs in other processes (`--workers N`). */
  consumer(): { stats: MappingStats; shardLag(): ReadonlyMap<string, number> } | undefined;
}

/** What GET /api/snapshot answers and GET /events pushes (GET /metrics is the Prometheus text). */
export interface DashboardSnapshot {
  /** ISO time of the snapshot. */
  at: string;
  mode: string | undefined;
  appliedVersion: number | undefined;
  rates: { historical: number; live: number; linesWritten: number };
  historical: { done: number; total: number; completed: boolean; rejected: number; etaSeconds: number | undefined };
  live: { url: string | undefined; connection: string; received: number; rejected: number; reconnects: number };
  producer: { retriedRequests: number; retriedEntries: number; inFlightBatches: number; unacked: number };
  consumer: {
    inProcess: boolean;
    lagMs: Record<string, number>;
    maxLagMs: number | undefined;
    records: number;
    midLines: number;
    errorLines: number;
    deadLetters: number;
    failedInvocations: number;
  };
  /**
   * Per ticker, the latest mids as [seconds since the epoch, mid], sorted by time (they arrive in
   * arrival order, timestamp + latency); the mid as a number: for display only.
   */
  mids: Record<string, Array<[number, number]>>;
  /** The latest lines written to errors.log, oldest first. */
  errors: string[];
  metrics: MetricsSnapshot;
}

export interface StackMetricsOptions {
  sources: StackSources;
  /** Milliseconds, monotonic (rates). */
  now: () => number;
  /** Milliseconds since the epoch (the snapshot's `at`). */
  wallClock?: () => number;
  midPointsPerTicker?: number;
  errorLines?: number;
  rateWindowMs?: number;
}

export class StackMetrics {
  readonly registry = new MetricsRegistry();
  private readonly mids = new Map<string, RingBuffer<[number, number]>>();
  private readonly errors: RingBuffer<string>;
  private readonly rates: { historical: RateWindow; live: RateWindow; lines: RateWindow };
  private readonly options: Resolved<StackMetricsOptions>;

  constructor(options: StackMetricsOptions) {
    this.options = {
      sources: options.sources,
      now: options.now,
      wallClock: options.wallClock ?? Date.now,
      midPointsPerTicker: options.midPointsPerTicker ?? 300,
      errorLines: options.errorLines ?? 20,
      rateWindowMs: options.rateWindowMs ?? 5_000,
    };
    this.errors = new RingBuffer(this.options.errorLines);
    this.rates = { historical: new RateWindow(this.options.rateWindowMs), live: new RateWindow(this.options.rateWindowMs), lines: new RateWindow(this.options.rateWindowMs) };
    for (const [name, help] of Object.entries(HELP)) this.registry.describe(name, help);
    this.registry.defineHistogram(METRIC.batchDuration, HELP.handler_batch_duration_seconds, BATCH_DURATION_BUCKETS);
    this.registry.defineHistogram(METRIC.deliveryLatency, HELP.delivery_latency_seconds, DELIVERY_BUCKETS, [{ mode: 'live' }]);
  }

  /** Producer acknowledgements: quotes out, by the mode of their source. */
  onAck(acked: readonly QuoteAck[]): void {
    let live = 0;
    for (const a of acked) if (a.entry.source.startsWith('live:')) live++;
    if (live > 0) this.registry.inc(METRIC.quotesOut, { mode: 'live' }, live);
    if (acked.length > live) this.registry.inc(METRIC.quotesOut, { mode: 'historical' }, acked.length - live);
  }

  /** A batch the handler wrote, and how long it took when the handler timed it. */
  onBatch(result: Pick<BatchResult, 'mids' | 'errorLines' | 'deadLetters'>, timing?: BatchTiming): void {
    if (timing !== undefined) {
      this.registry.observe(METRIC.batchDuration, timing.handledSeconds);
      for (const seconds of timing.deliverySeconds) this.registry.observe(METRIC.deliveryLatency, seconds, { mode: 'live' });
    }
    this.registry.inc(METRIC.midLines, undefined, result.mids.length);
    this.registry.inc(METRIC.errorLines, undefined, result.errorLines.length);
    this.registry.inc(METRIC.deadLetters, undefined, result.deadLetters);
    for (const point of result.mids) {
      let buffer = this.mids.get(point.ticker);
      if (buffer === undefined) this.mids.set(point.ticker, (buffer = new RingBuffer(this.options.midPointsPerTicker)));
      buffer.push([point.micros / 1e6, Number(point.mid)]);
    }
    for (const line of result.errorLines) this.errors.push(line);
  }

  /** Reads the components into the registry and returns the metrics in the Prometheus text format. */
  exposition(): string {
    this.read();
    return formatExposition(this.registry);
  }

  /** Reads the components, updates gauges and rates, and returns the snapshot. */
  sample(): DashboardSnapshot {
    const r = this.registry;
    const now = this.options.now();
    const { status, producer, consumer, lagMs } = this.read();
    const h = status?.historical;
    const live = status?.live;

    this.rates.historical.record(now, r.counter(METRIC.quotesOut, { mode: 'historical' }));
    this.rates.live.record(now, r.counter(METRIC.quotesOut, { mode: 'live' }));
    this.rates.lines.record(now, r.counter(METRIC.midLines) + r.counter(METRIC.errorLines));
    const historicalRate = this.rates.historical.rate();
    const lags = Object.values(lagMs);

    return {
      at: new Date(this.options.wallClock()).toISOString(),
      mode: status?.mode,
      appliedVersion: status?.appliedVersion,
      rates: { historical: round1(historicalRate), live: round1(this.rates.live.rate()), linesWritten: round1(this.rates.lines.rate()) },
      historical: {
        done: h?.done ?? 0,
        total: h?.total ?? 0,
        completed: h?.completed ?? false,
        rejected: h?.rejected ?? 0,
        etaSeconds: h === undefined || h.total === 0 ? undefined : etaSeconds(h.total - h.done, status?.mode === 'historical' ? historicalRate : 0),
      },
      live: {
        url: live?.url,
        connection: live?.connection ?? 'closed',
        received: live?.received ?? 0,
        rejected: live?.rejected ?? 0,
        reconnects: live?.reconnects ?? 0,
      },
      producer: {
        retriedRequests: producer?.retriedRequests ?? 0,
        retriedEntries: producer?.retriedEntries ?? 0,
        inFlightBatches: producer?.inFlightRequests ?? 0,
        unacked: producer?.unacked ?? 0,
      },
      consumer: {
        inProcess: consumer !== undefined,
        lagMs,
        maxLagMs: lags.length === 0 ? undefined : Math.max(...lags),
        records: consumer?.stats.records ?? 0,
        midLines: r.counter(METRIC.midLines),
        errorLines: r.counter(METRIC.errorLines),
        deadLetters: r.counter(METRIC.deadLetters),
        failedInvocations: consumer?.stats.failedInvocations ?? 0,
      },
      mids: Object.fromEntries([...this.mids].sort(([a], [b]) => a.localeCompare(b)).map(([ticker, buffer]) => [ticker, buffer.toArray().sort((a, b) => a[0] - b[0])])),
      errors: this.errors.toArray(),
      metrics: r.snapshot(),
    };
  }

  /** Reads the components' state into the registry's gauges and totals. */
  private read(): {
    status: ReplayStatus | undefined;
    producer: ReturnType<StackSources['producer']>;
    consumer: ReturnType<StackSources['consumer']>;
    lagMs: Record<string, number>;
  } {
    const r = this.registry;
    const status = this.options.sources.status();
    const producer = this.options.sources.producer();
    const consumer = this.options.sources.consumer();
    const h = status?.historical;
    const live = status?.live;

    if (h !== undefined) {
      r.set(METRIC.historicalDone, h.done);
      r.set(METRIC.historicalTotal, h.total);
      r.observeTotal(METRIC.rejectedRows, h.rejected ?? 0, { mode: 'historical' });
    }
    if (live !== undefined) {
      r.set(METRIC.liveConnected, live.connection === 'open' ? 1 : 0);
      r.observeTotal(METRIC.liveReconnects, live.reconnects);
      r.observeTotal(METRIC.liveReceived, live.received);
      r.observeTotal(METRIC.liveSequenceGaps, live.sequenceGaps ?? 0);
      r.observeTotal(METRIC.liveMissedMessages, live.missedMessages ?? 0);
      r.observeTotal(METRIC.rejectedRows, live.rejected, { mode: 'live' });
    }
    if (producer !== undefined) {
      r.observeTotal(METRIC.producerRetriedRequests, producer.retriedRequests);
      r.observeTotal(METRIC.producerRetriedEntries, producer.retriedEntries);
      r.set(METRIC.producerInFlight, producer.inFlightRequests);
      r.set(METRIC.producerUnacked, producer.unacked);
    }
    const lagMs: Record<string, number> = {};
    if (consumer !== undefined) {
      r.observeTotal(METRIC.consumerRecords, consumer.stats.records);
      r.observeTotal(METRIC.consumerFailedInvocations, consumer.stats.failedInvocations);
      r.clearGauge(METRIC.consumerLag);
      for (const [shard, ms] of consumer.shardLag()) {
        lagMs[shard] = ms;
        r.set(METRIC.consumerLag, ms / 1000, { shard });
      }
    }

    return { status, producer, consumer, lagMs };
  }
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
