/**
 * DynamoDB — checkpoints, leases, the mode control — throttled and failing under a running
 * replayer, two consumer workers and mode requests: 30 % of its calls answered with throttling or
 * 5xx, then a 10 s outage (every call 503), then 30 % again. Nothing may be lost, no shard may be
 * processed by two workers at once, and the replayer must pause rather than run ahead of its
 * checkpoints (never more than its send window beyond the last durable one).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Context, KinesisStreamEvent } from 'aws-lambda';
import { mulberry32 } from '../../data/generate.ts';
import { createMidPriceHandler } from '../../functions/mid-price.ts';
import { createModeHandler } from '../../functions/mode.ts';
import type { AwsClients } from '../../lib/aws/clients.ts';
import { KinesisProducer } from '../../lib/aws/producer.ts';
import { loadShardMap } from '../../lib/aws/shard-map.ts';
import { waitForCheckpoints } from '../../lib/consumer/checkpoint-wait.ts';
import { EventSourceMapping } from '../../lib/consumer/event-source-mapping.ts';
import { createLocalContext } from '../../lib/consumer/lambda-context.ts';
import { LeaseTable } from '../../lib/consumer/lease-table.ts';
import { ControlStore } from '../../lib/control/control-store.ts';
import { createLogger } from '../../lib/logging/logger.ts';
import { createPowertoolsLogger } from '../../lib/logging/powertools-sink.ts';
import { ERRORS_FILE, MID_PRICES_FILE, prepareOutputDir } from '../../lib/output/log-files.ts';
import { DynamoCheckpointStore } from '../../lib/replay/checkpoint-store.ts';
import { ReplayEngine } from '../../lib/replay/engine.ts';
import { scanCsv, sourceIdFor } from '../../lib/replay/historical-source.ts';
import type { QuoteEntry } from '../../lib/replay/replayer.ts';
import { modeEvent } from '../support/api-gateway-event.ts';
import { captureLogs, type LogLine } from '../support/capture-logs.ts';
import { waitUntil } from '../support/processes.ts';
import type { Fault } from './support/fault-proxy.ts';
import { checkDelivery, writeQuoteFile } from './support/quote-file.ts';
import { startFaultStack, type FaultStack } from './support/stack.ts';

const TABLE = 'throttled-state';
const STREAM = 'throttled';
const ROWS = 12_000;
const LEASE_MS = 3_000;
const OUTAGE_MS = 10_000;
/** The replayer's send window here: filled within the outage at speed 1 (1,000 quotes/s), so it must hold. */
const WINDOW = 2_000;

const FAILURES: Fault[] = [
  { kind: 'status', status: 400, errorType: 'ProvisionedThroughputExceededException' },
  { kind: 'status', status: 400, errorType: 'ThrottlingException' },
  { kind: 'status', status: 500, errorType: 'InternalServerError' },
  { kind: 'status', status: 503, errorType: 'ServiceUnavailable' },
];

interface Invocation {
  worker: string;
  shard: string;
  start: number;
  end: number;
}

/** An UpdateItem of this source's checkpoint item (lib/replay/checkpoint-store.ts keys it `checkpoint#<sourceId>`). */
function isCheckpointWrite(body: unknown, sourceId: string): boolean {
  const key = (body as { Key?: { pk?: { S?: string } } } | undefined)?.Key?.pk?.S;
  return key === `checkpoint#${sourceId}` && (body as { UpdateExpression?: string }).UpdateExpression?.includes('checkpoint = :cp') === true;
}

describe('DynamoDB throttled and down under the whole pipeline', () => {
  let env: FaultStack;
  let clients: AwsClients;
  const stops: Array<() => Promise<void>> = [];

  before(async () => {
    env = await startFaultStack();
    clients = env.clientsWithTimeout(5_000);
  });

  after(async () => {
    for (const stop of stops.reverse()) await stop();
    env.proxy.setRule(() => ({ kind: 'pass' }));
    clients.destroy();
    await env.stop();
  });

  it('loses nothing, never processes a shard twice at once, and never sends beyond the send window', { timeout: 180_000 }, async (t) => {
    const streamArn = await env.createStream(STREAM, 4, TABLE);
    const file = env.tmp.join('throttled.csv');
    const input = await writeQuoteFile(file, ROWS);
    const sourceId = sourceIdFor((await scanCsv(file)).fingerprint);
    const out = env.tmp.join('out-throttled');
    await prepareOutputDir(out, { truncate: true });

    const random = mulberry32(2026);
    let phase: 'throttled' | 'down' | 'healthy' = 'throttled';
    let checkpointWriteRefused = false;
    env.proxy.setRule(({ target, body }) => {
      if (!target.startsWith('DynamoDB_') || phase === 'healthy') return { kind: 'pass' };
      if (phase === 'down') {
        if (isCheckpointWrite(body, sourceId)) checkpointWriteRefused = true;
        return { kind: 'status', status: 503, errorType: 'ServiceUnavailable' };
      }
      return random() < 0.3 ? (FAILURES[Math.floor(random() * FAILURES.length)] as Fault) : { kind: 'pass' };
    });

    // Two consumer workers of one application, every lease and checkpoint call through the proxy.
    const consumerLogs: LogLine[] = [];
    const invocations: Invocation[] = [];
    const handler = createMidPriceHandler({ outputDir: out, latencyThresholdMs: 20, logger: createPowertoolsLogger('mid-price', 'WARN', () => undefined) });
    const context: Context = createLocalContext('midPrice', 'us-east-1');
    const workers = ['worker-a', 'worker-b'].map((worker) => {
      const log = createLogger({ service: worker, level: 'INFO', sink: (line) => void consumerLogs.push(JSON.parse(line) as LogLine) });
      const mapping = new EventSourceMapping({
        kinesis: clients.kinesis,
        leases: new LeaseTable(clients.dynamodb, TABLE, 'throttled', STREAM),
        workerId: worker,
        leaseDurationMs: LEASE_MS,
        streamName: STREAM,
        streamArn,
        region: 'us-east-1',
        batchSize: 100,
        startingPosition: 'TRIM_HORIZON',
        idlePollMs: 50,
        invoke: async (event: KinesisStreamEvent) => {
          const shard = (event.Records[0]?.eventID ?? '').split(':')[0] ?? '';
          const call = { worker, shard, start: performance.now(), end: Infinity };
          invocations.push(call);
          try {
            return await handler(event, context);
          } finally {
            call.end = performance.now();
          }
        },
        logger: log,
      });
      return mapping;
    });
    for (const w of workers) {
      await w.start();
      stops.push(() => w.stop());
    }

    // The replayer, its checkpoints and the mode control through the proxy too.
    const replayLogs = captureLogs();
    const engineRef: { current?: ReplayEngine } = {};
    const producer = new KinesisProducer<QuoteEntry>({
      client: clients.kinesis,
      streamName: STREAM,
      shardMap: await loadShardMap(env.direct.kinesis, STREAM),
      onAck: (acked) => engineRef.current?.onAck(acked),
    });
    const engine = new ReplayEngine({
      control: new ControlStore(clients.dynamodb, TABLE),
      producer,
      checkpoints: new DynamoCheckpointStore(clients.dynamodb, TABLE, 'replayer-under-test', LEASE_MS),
      historicalFile: file,
      speed: 1,
      sendWindow: WINDOW,
      createLiveSource: () => assert.fail('no live feed in this test'),
      logger: replayLogs.logger,
      pollMs: 100,
    });
    engineRef.current = engine;
    const stopEngine = new AbortController();
    const running = engine.run(stopEngine.signal);
    stops.push(async () => {
      stopEngine.abort();
      await running.catch(() => undefined);
    });

    // What the replayer sent never runs more than the send window ahead of its durable checkpoint.
    const observer = new DynamoCheckpointStore(env.direct.dynamodb, TABLE, 'observer');
    let samples = 0;
    let worstAhead = -Infinity;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const sent = producer.stats.accepted;
        const done = (await observer.load(sourceId))?.position.done ?? 0;
        worstAhead = Math.max(worstAhead, sent - done);
        assert.ok(sent <= done + WINDOW, `sent ${sent} quotes with only ${done} checkpointed`);
        samples++;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();

    // Mode requests (control writes): each retried until answered 200, as a client would.
    const modeHandler = createModeHandler({ store: new ControlStore(clients.dynamodb, TABLE), logger: createPowertoolsLogger('mode', 'SILENT', () => undefined) });
    let accepted = 0;
    let refused = 0;
    const requestMode = async (): Promise<void> => {
      for (;;) {
        const answer = await modeHandler(modeEvent('POST', '{"mode":"historical"}'), context);
        if (answer.statusCode === 200) {
          accepted++;
          return;
        }
        assert.equal(answer.statusCode, 503, answer.body);
        refused++;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };

    const done = async (): Promise<number> => (await observer.load(sourceId))?.position.done ?? 0;
    await waitUntil('2,000 quotes checkpointed', async () => (await done()) >= 2_000, 60_000);
    await requestMode();
    phase = 'down';
    // The replayer saves one checkpoint at a time: once one is refused, none sent before the
    // outage can still land, and the checkpoint read now is the one the outage must keep.
    await waitUntil('a checkpoint write refused by the outage', () => checkpointWriteRefused, 10_000);
    const doneAtOutage = await done();
    const during = requestMode();
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    const doneAfterOutage = await done();
    phase = 'throttled';
    await during;
    await waitUntil('the whole file checkpointed', async () => (await observer.load(sourceId))?.position.completed === true, 120_000);
    await requestMode();
    phase = 'healthy';
    const leases = new LeaseTable(env.direct.dynamodb, TABLE, 'throttled', STREAM);
    assert.ok(await waitForCheckpoints(leases, producer.acknowledgedPositions(), { signal: AbortSignal.timeout(60_000) }), 'the consumers caught up');
    sampling = false;
    await sampler;
    await waitUntil('the last mode request applied', () => engine.status().appliedVersion === accepted, 30_000);
    for (const stop of stops.splice(0).reverse()) await stop();

    assert.equal(doneAfterOutage, doneAtOutage, 'no checkpoint could be written during the outage');
    assert.ok(worstAhead <= WINDOW, `at most the send window ahead (worst ${worstAhead})`);
    // Not vacuous: the outage kept the checkpoint still long enough for the window to fill.
    assert.ok(worstAhead >= WINDOW / 2, `the window filled during the outage (worst ${worstAhead} of ${WINDOW})`);
    assert.ok(refused > 0, 'the mode request during the outage was refused (503) and retried');

    // No shard processed by two workers at the same time.
    for (const a of invocations) {
      for (const b of invocations) {
        if (a.worker >= b.worker || a.shard !== b.shard) continue;
        assert.ok(a.end <= b.start || b.end <= a.start, `${a.shard} processed by ${a.worker} and ${b.worker} at once`);
      }
    }
    const takeovers = consumerLogs.filter((l) => l.message.startsWith('first batch after taking over an expired lease'));
    const bound = takeovers.reduce((sum, l) => sum + (l.possibleDuplicates as number), 0);
    const report = checkDelivery(input, await readFile(`${out}/${MID_PRICES_FILE}`, 'utf8'), await readFile(`${out}/${ERRORS_FILE}`, 'utf8'));
    assert.deepEqual(report.foreign, []);
    assert.deepEqual(report.missing.slice(0, 10), [], 'nothing lost');
    assert.deepEqual(report.outOfOrder.slice(0, 10), []);
    assert.ok(report.duplicates <= bound, `${report.duplicates} duplicates within the logged bound ${bound}`);
    const heldBack = consumerLogs.filter((l) => l.message.startsWith('lease not confirmed for two thirds of a lease period')).length;
    const saveWarnings = replayLogs.lines.filter((l) => l.message.startsWith('checkpoint save failed; retrying')).length;
    t.diagnostic(
      `${samples} samples, at most ${worstAhead} quotes sent beyond the checkpoint; checkpoint ${doneAtOutage} through the outage; ` +
        `${accepted} mode requests accepted, ${refused} refused; ${invocations.length} invocations, ${takeovers.length} takeovers, ` +
        `${report.duplicates} duplicates (bound ${bound}); shards held back ${heldBack} times; ${saveWarnings} save-failure warnings`,
    );
  });
});
