/**
 * `tick-replay up --aws`: the replayer alone, against a deployed stack. The deployed API Gateway +
 * Lambda are the mode API and the consumer, so nothing of that is started here: the replayer
 * produces into the deployed stream and follows the mode control in the deployed table (flipped
 * with `tick-replay mode … --aws`, signed). The live feed simulator still starts with
 * `--live-file` (it feeds this replayer). This is what the Fargate task runs.
 */
import { startFeedServer, type FeedServer } from '../live/feed-server.ts';
import type { KinesisProducer } from '../aws/producer.ts';
import type { ReplayEngine } from '../replay/engine.ts';
import type { QuoteEntry } from '../replay/replayer.ts';
import { StackMetrics } from '../dashboard/stack-metrics.ts';
import { openAwsEnvironment } from './aws-environment.ts';
import { createReplayEngine } from './replay-engine-setup.ts';
import type { UpOptions } from './up-command.ts';

export async function runReplayerAlone(options: UpOptions): Promise<void> {
  const { config, logger, signal } = options;
  const stops: Array<{ what: string; stop: () => Promise<void> }> = [];
  try {
    const aws = await openAwsEnvironment(config, logger);
    stops.push({ what: 'AWS clients', stop: () => aws.close() });
    let feed: FeedServer | undefined;
    if (options.liveFile !== undefined) {
      feed = await startFeedServer({
        file: options.liveFile,
        host: options.host,
        port: options.livePort,
        speed: options.speed,
        loop: true,
        logger: logger.child('feed'),
        allowedHosts: config.allowedHosts,
      });
      stops.push({ what: 'live feed', stop: () => feed?.close() ?? Promise.resolve() });
    }
    const liveUrl = options.liveUrl ?? feed?.url;
    const parts: { engine?: ReplayEngine; producer?: KinesisProducer<QuoteEntry> } = {};
    // The status line's numbers: the replayer's own (the consumer is the deployed Lambda).
    const metrics = new StackMetrics({
      now: () => performance.now(),
      sources: { status: () => parts.engine?.status(), producer: () => parts.producer?.stats, consumer: () => undefined },
    });
    const { producer, engine } = await createReplayEngine({
      aws,
      config,
      historicalFile: options.historicalFile,
      speed: options.speed,
      liveUrl,
      logger,
      aggregate: options.aggregate,
      onProgress: options.onProgress,
      onAck: (acked) => metrics.onAck(acked),
    });
    parts.engine = engine;
    parts.producer = producer;
    logger.info('replayer up against the deployment', { stack: config.stackName, region: config.region, stream: config.streamName, table: config.tableName });
    options.onReady?.({ apiUrl: undefined, dashboardUrl: undefined, endpoints: aws.endpoints, liveUrl, snapshot: () => metrics.sample() });
    await engine.run(signal);
  } finally {
    for (const { what, stop } of stops.reverse()) {
      await stop().catch((error: unknown) => logger.warn(`stopping ${what} failed`, { error }));
    }
  }
}
