/**
 * `tick-replay up --aws`: the replayer alone, against a deployed stack. The deployed API Gateway +
 * Lambda are the mode API and the consumer, so nothing of that is started here: the replayer
 * produces into the deployed stream and follows the mode control in the deployed table (flipped
 * with `tick-replay mode … --aws`, signed). The live feed simulator still starts with
 * `--live-file` (it feeds this replayer). This is what the Fargate task runs.
 */
import type { KinesisProducer } from '../aws/producer.ts';
import type { ReplayEngine } from '../replay/engine.ts';
import type { QuoteEntry } from '../replay/replayer.ts';
import { StackMetrics } from '../dashboard/stack-metrics.ts';
import { openAwsEnvironment } from './aws-environment.ts';
import { createUpEngine, startUpFeed, stopInReverse, type StopList } from './up-parts.ts';
import type { UpOptions } from './up-command.ts';

export async function runReplayerAlone(options: UpOptions): Promise<void> {
  const { config, logger, signal } = options;
  const stops: StopList = [];
  try {
    const aws = await openAwsEnvironment(config, logger);
    stops.push({ what: 'AWS clients', stop: () => aws.close() });
    const liveUrl = await startUpFeed(options, stops);
    const parts: { engine?: ReplayEngine; producer?: KinesisProducer<QuoteEntry> } = {};
    // The status line's numbers: the replayer's own (the consumer is the deployed Lambda).
    const metrics = new StackMetrics({
      now: () => performance.now(),
      sources: { status: () => parts.engine?.status(), producer: () => parts.producer?.stats, consumer: () => undefined },
    });
    const { producer, engine } = await createUpEngine(options, aws, liveUrl, { onAck: (acked) => metrics.onAck(acked) });
    parts.engine = engine;
    parts.producer = producer;
    logger.info('replayer up against the deployment', { stack: config.stackName, region: config.region, stream: config.streamName, table: config.tableName });
    options.onReady?.({ apiUrl: undefined, dashboardUrl: undefined, endpoints: aws.endpoints, liveUrl, snapshot: () => metrics.sample() });
    await engine.run(signal);
  } finally {
    await stopInReverse(stops, logger);
  }
}
