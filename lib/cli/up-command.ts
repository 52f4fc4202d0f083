/**
 * `tick-replay up`: the whole long-running stack on one machine — embedded AWS (unless endpoints
 * are given), the live feed simulator, the mode API (serverless.yml's routes and handler, served
 * in this process: in-process-mode-api.ts), the
 * replayer (historical first) and the consumer (the mid-price handler behind the local event
 * source mapping). Ctrl-C stops it in reverse order, checkpointed and flushed. With the `aws`
 * target it runs the replayer alone (up-replayer-alone.ts).
 */
import { describeExit, type ChildExit } from '../../infra/child-exit.ts';
import { EmbeddedStackError } from '../../infra/embedded-stack.ts';
import type { Config } from '../config.ts';
import type { LiveFormat } from '../live/venues/venue.ts';
import type { Logger } from '../logging/logger.ts';
import type { Speed } from '../replay/pacer.ts';
import type { KinesisProducer } from '../aws/producer.ts';
import type { QuoteEntry } from '../replay/replayer.ts';
import type { ServiceEndpoints } from '../aws/endpoints.ts';
import { openAwsEnvironment, type AwsEnvironment } from './aws-environment.ts';
import { createUpEngine, startUpFeed, stopInReverse, type StopList } from './up-parts.ts';
import { runReplayerAlone } from './up-replayer-alone.ts';
import { waitForCheckpoints } from '../consumer/checkpoint-wait.ts';
import { DEFAULT_APP, startConsumerApplication } from './consumer-application.ts';
import { consumerLeases } from './local-consumer.ts';
import { startInProcessModeApi, type InProcessModeApi } from './in-process-mode-api.ts';
import { startDashboardServer } from '../dashboard/dashboard-server.ts';
import { StackMetrics, type DashboardSnapshot } from '../dashboard/stack-metrics.ts';
import type { EventSourceMapping } from '../consumer/event-source-mapping.ts';
import type { ReplayEngine } from '../replay/engine.ts';
import { openNamedInput } from '../replay/historical-source.ts';
import type { Selection } from '../replay/selection.ts';
import { prepareOutput } from './output-target.ts';
import type { InputContext } from '../input/input.ts';
import type { PacedQuote } from '../replay/replay-source.ts';

export interface UpOptions {
  config: Config;
  /** The historical input(s), globs already expanded. */
  historicalFile: string | readonly string[];
  /** How s3:// inputs are reached (input-context.ts); default: local files only. */
  inputs?: InputContext;
  selection?: Selection;
  liveFile?: string;
  liveUrl?: string;
  /** `--live-format` (default json) and `--live-subscribe`. */
  liveFormat?: LiveFormat;
  liveSubscribe?: string;
  livePort: number;
  apiPort: number;
  /** Port of the dashboard (0: any free port). */
  dashboardPort: number;
  /** Interface of the live feed simulator, mode API and dashboard (default 127.0.0.1). */
  host?: string;
  speed: Speed;
  /** Pace of the live feed simulator of `liveFile` (default 1: real time, whatever the historical speed). */
  liveSpeed?: Speed;
  logger: Logger;
  signal: AbortSignal;
  stackLogFile?: string;
  /** Pack quotes into KPL aggregated records (the aws-kinesis-agg format); default false. */
  aggregate?: boolean;
  /** Consumer workers: 1 (default) runs in this process; N > 1 forks N worker processes. */
  workers?: number;
  /** Told where everything is once it is up. */
  onReady?: (info: UpReadyInfo) => void;
  onProgress?: (done: number, total: number) => void;
  /** After each quote handed to the producer (the benchmark's delivery latency). */
  onQuoteSent?: (quote: PacedQuote) => void;
}

export interface UpReadyInfo {
  /** The local mode API and dashboard; undefined with the `aws` target (the deployed API is the mode API). */
  apiUrl: string | undefined;
  dashboardUrl: string | undefined;
  /** Where each service's calls go. */
  endpoints: ServiceEndpoints;
  liveUrl: string | undefined;
  /** The metrics snapshot (the terminal status line samples it). */
  snapshot: () => DashboardSnapshot;
}

/** How long a stopping stack waits for the consumer to drain what was sent. */
const DRAIN_MS = 10_000;

export async function runUp(options: UpOptions): Promise<void> {
  const { config, logger, signal } = options;
  // Fail on a missing or unusable input before starting anything (the replayer reads it only later).
  for (const file of typeof options.historicalFile === 'string' ? [options.historicalFile] : options.historicalFile) await openNamedInput(file, options.inputs);
  if (config.target === 'aws') return runReplayerAlone(options);
  await prepareOutput(config, { truncate: false });
  const stops: StopList = [];
  // A dead embedded stack would leave everything retrying forever: stop with its cause.
  const fatal = new AbortController();
  let closing = false;
  const watch = (what: string, exited: Promise<ChildExit> | undefined): void => {
    void exited?.then((exit) => {
      if (!closing) fatal.abort(new EmbeddedStackError(`${what} stopped unexpectedly (${describeExit(exit)})`, { ...exit }));
    });
  };
  let apiStarting: Promise<InProcessModeApi> | undefined;
  const stopAll = async (): Promise<void> => {
    closing = true;
    // A mode API still starting is on the stop list only once it is up: wait for it to get there.
    await apiStarting?.catch(() => undefined);
    await stopInReverse(stops, logger);
  };

  try {
    const aws: AwsEnvironment = await openAwsEnvironment(config, logger, { stackLogFile: options.stackLogFile });
    stops.push({ what: 'AWS environment', stop: () => aws.close() });
    watch('the embedded AWS stack', aws.stack?.exited);

    const liveUrl = await startUpFeed(options, stops);

    const parts: { engine?: ReplayEngine; producer?: KinesisProducer<QuoteEntry>; mapping?: EventSourceMapping } = {};
    // The mode API starts while the replayer opens its input (hashing and scanning it), takes its
    // lease and writes its first checkpoint; the first quote waits for the API (the gate below),
    // so that `up` being ready still means nothing was sent before the user could switch modes.
    apiStarting = startInProcessModeApi({
      aws,
      config,
      host: options.host,
      port: options.apiPort,
      logger: logger.child('mode-api'),
      // The replayer reads the item the handler just wrote now, not at its next poll.
      onModeWritten: () => parts.engine?.controlWritten(),
    }).then((api) => {
      stops.push({ what: 'mode API', stop: () => api.stop() });
      return api;
    });
    // A failed start is reported where it is awaited; never an unhandled rejection meanwhile.
    apiStarting.catch((error: unknown) => fatal.abort(error));
    if (signal.aborted || fatal.signal.aborted) return;

    // The consumer application of the long-running stack: from the start of the stream the first
    // time, after its checkpoints later; records of one-shot `run`s are theirs, not ours.
    const leases = consumerLeases(aws, config, DEFAULT_APP);
    const metrics = new StackMetrics({
      now: () => performance.now(),
      sources: {
        status: () => parts.engine?.status(),
        producer: () => parts.producer?.stats,
        consumer: () => parts.mapping,
      },
    });
    const consumer = await startConsumerApplication({
      aws,
      config,
      logger,
      app: DEFAULT_APP,
      workers: options.workers ?? 1,
      from: 'trim-horizon',
      // The replayer's producer wakes the in-process worker (onRecordsLanded below).
      wokenOnPut: true,
      // Worker processes keep their consumer metrics (the dashboard shows the replayer's).
      onBatch: (result, timing) => metrics.onBatch(result, timing),
    });
    consumer.failed.addEventListener('abort', () => fatal.abort(consumer.failed.reason), { once: true });
    parts.mapping = consumer.local?.mapping;
    // Registered at once: whatever fails next, the consumer is stopped.
    const drainTargets: { producer?: KinesisProducer<QuoteEntry> } = {};
    stops.push({
      what: 'consumer',
      stop: async () => {
        const targets = drainTargets.producer?.acknowledgedPositions();
        consumer.checkpointPromptly();
        if (targets !== undefined && !fatal.signal.aborted) await waitForCheckpoints(leases, targets, { signal: AbortSignal.timeout(DRAIN_MS) });
        await consumer.stop();
      },
    });

    // Released once `onReady` was told; a failed start ends the session instead (`fatal`).
    let ready = false;
    let releaseFirstQuote = (): void => undefined;
    const firstQuote = new Promise<void>((resolve) => (releaseFirstQuote = resolve));
    const { producer, engine } = await createUpEngine(options, aws, liveUrl, {
      onAck: (acked) => metrics.onAck(acked),
      // Only the first quote of the first session can come before `up` is ready.
      historicalGate: (sent) => (sent === 0 && !ready ? firstQuote : undefined),
      // The in-process consumer reads what just landed now instead of at its next idle poll
      // (with --workers N the consumers are other processes: they poll).
      onRecordsLanded: (shardIds) => parts.mapping?.recordsPut(shardIds),
    });
    drainTargets.producer = producer;
    parts.engine = engine;
    parts.producer = producer;
    const running = engine.run(AbortSignal.any([signal, fatal.signal]));
    // Handled below, once the API is up; an engine failing before that is not an unhandled rejection.
    running.catch(() => undefined);
    try {
      const api = await apiStarting;
      const dashboard = await startDashboardServer({
        host: options.host,
        port: options.dashboardPort,
        allowedHosts: config.allowedHosts,
        modeApiUrl: api.url,
        metrics,
        logger: logger.child('dashboard'),
      });
      stops.push({ what: 'dashboard', stop: () => dashboard.close() });
      options.onReady?.({ apiUrl: api.url, dashboardUrl: dashboard.url, endpoints: aws.endpoints, liveUrl, snapshot: () => metrics.sample() });
      ready = true;
      releaseFirstQuote();
    } catch (error) {
      // The engine stops on `fatal` and is waited for (it flushes and checkpoints) before the rest.
      fatal.abort(error);
      await running.catch(() => undefined);
      throw error;
    }
    try {
      await running;
    } catch (error) {
      // What failed after a component died failed because it died: report the cause.
      if (fatal.signal.aborted) throw fatal.signal.reason;
      throw error;
    }
    if (fatal.signal.aborted) throw fatal.signal.reason;
  } finally {
    await stopAll();
  }
}
