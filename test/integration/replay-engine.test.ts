/**
 * The long-running replayer on the real emulators and a real websocket feed: historical → live →
 * historical through the control item, resume from the checkpoint, a second engine after the
 * first one stopped, and the consumer writing every historical quote exactly once.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { bootstrapResources } from '../../infra/bootstrap.ts';
import { startEmbeddedStack, type EmbeddedStack } from '../../infra/embedded-stack.ts';
import { createMidPriceHandler } from '../../functions/mid-price.ts';
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { createAwsClients, type AwsClients } from '../../lib/aws/clients.ts';
import { KinesisProducer } from '../../lib/aws/producer.ts';
import { loadShardMap } from '../../lib/aws/shard-map.ts';
import { EventSourceMapping } from '../../lib/consumer/event-source-mapping.ts';
import { createLocalContext } from '../../lib/consumer/lambda-context.ts';
import { LeaseTable } from '../../lib/consumer/lease-table.ts';
import { ControlStore } from '../../lib/control/control-store.ts';
import { startFeedServer, type FeedServer } from '../../lib/live/feed-server.ts';
import { LiveSource } from '../../lib/live/live-source.ts';
import { silentLogger } from '../../lib/logging/logger.ts';
import { prepareOutputDir } from '../../lib/output/log-files.ts';
import { DynamoCheckpointStore } from '../../lib/replay/checkpoint-store.ts';
import { ReplayEngine } from '../../lib/replay/engine.ts';
import type { QuoteEntry } from '../../lib/replay/replayer.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

const STREAM = 'engine-quotes';
const TABLE = 'engine-state';
const ROWS = 3_000;

/** Historical rows 10 ms apart (30 s of data), ticker prices that tell tickers apart. */
function historicalCsv(): string {
  const lines = ['timestamp,ticker,bid,ask,latency'];
  for (let i = 0; i < ROWS; i++) {
    const ticker = ['AAA', 'BBB', 'CCC'][i % 3] as string;
    const base = { AAA: 100, BBB: 200, CCC: 300 }[ticker] as number;
    lines.push(`${new Date(Date.UTC(2025, 0, 1) + i * 10).toISOString()},${ticker},${base}.${String(i % 100).padStart(2, '0')},${base + 1},${(i * 7) % 45}`);
  }
  return lines.join('\n') + '\n';
}

/** Polls `done` every 20 ms; fails after `ms`. */
async function until(what: string, done: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('ReplayEngine', () => {
  let tmp: TempDir;
  let stack: EmbeddedStack;
  let clients: AwsClients;
  let feed: FeedServer;
  let mapping: EventSourceMapping;
  let streamArn: string;

  before(async () => {
    tmp = await makeTempDir();
    stack = await startEmbeddedStack({ stateDir: tmp.join('state'), edgePort: 0, logger: silentLogger });
    clients = createAwsClients({ endpointUrl: stack.endpointUrl, region: 'us-east-1' });
    ({ streamArn } = await bootstrapResources(clients, { streamName: STREAM, shardCount: 2, tableName: TABLE }, silentLogger));
    await writeFile(tmp.join('hist.csv'), historicalCsv());
    await writeFile(tmp.join('live.csv'), 'timestamp,ticker,bid,ask\n' + Array.from({ length: 500 }, (_, i) => `${new Date(Date.UTC(2030, 0, 1) + i * 20).toISOString()},LIVE,1.${i % 10},2`).join('\n') + '\n');
    feed = await startFeedServer({ file: tmp.join('live.csv'), port: 0, speed: 1, loop: true, logger: silentLogger });
    await prepareOutputDir(tmp.join('out'), { truncate: true });
    const handler = createMidPriceHandler({ outputDir: tmp.join('out'), latencyThresholdMs: 20, logger: new PowertoolsLogger({ logLevel: 'SILENT' }) });
    mapping = new EventSourceMapping({
      kinesis: clients.kinesis,
      leases: new LeaseTable(clients.dynamodb, TABLE, 'engine-test', STREAM),
      workerId: 'engine-test-worker',
      streamName: STREAM,
      streamArn,
      region: 'us-east-1',
      invoke: (event) => handler(event, createLocalContext('midPrice', 'us-east-1')),
      batchSize: 100,
      startingPosition: 'TRIM_HORIZON',
      idlePollMs: 50,
    });
    await mapping.start();
  });

  after(async () => {
    await mapping.stop();
    await feed.close();
    clients.destroy();
    await stack.stop();
    await tmp.remove();
  });

  /** An engine with its own producer; `start()` runs it until `stop()`. */
  function engine(owner: string): { readonly engine: ReplayEngine; start(): { stop(): Promise<void> } } {
    let e: ReplayEngine | undefined;
    return {
      get engine() {
        return e as ReplayEngine;
      },
      start() {
        const controller = new AbortController();
        const running = (async () => {
          const producer = new KinesisProducer<QuoteEntry>({
            client: clients.kinesis,
            streamName: STREAM,
            shardMap: await loadShardMap(clients.kinesis, STREAM),
            onAck: (acked) => e?.onAck(acked),
          });
          e = new ReplayEngine({
            control: new ControlStore(clients.dynamodb, TABLE),
            producer,
            checkpoints: new DynamoCheckpointStore(clients.dynamodb, TABLE, owner, 2_000),
            historicalFile: tmp.join('hist.csv'),
            // 30 s of data at 10x: about 3 s of replay, time enough to switch modes on the way.
            speed: 10,
            liveUrl: feed.url,
            createLiveSource: (url) => new LiveSource({ url, logger: silentLogger }),
            pollMs: 50,
            checkpointMs: 100,
            statusMs: 200,
          });
          await e.run(controller.signal);
        })();
        return {
          stop: async () => {
            controller.abort();
            await running;
          },
        };
      },
    };
  }

  it('goes historical → live → historical, resumes where it stopped (also in a new engine), and writes every historical quote once', async () => {
    const control = new ControlStore(clients.dynamodb, TABLE);
    const first = engine('engine-1');
    const run1 = first.start();
    await until('some historical progress', () => (first.engine?.status().historical.done ?? 0) >= 500);
    await control.requestMode('live', false);
    await until('live quotes', () => (first.engine?.status().live.received ?? 0) >= 30);
    const doneAtSwitch = first.engine.status().historical.done;
    await control.requestMode('historical', false);
    await until('more historical progress', () => first.engine.status().mode === 'historical' && first.engine.status().historical.done >= doneAtSwitch + 300);
    assert.ok(first.engine.status().historical.done < ROWS, 'still in the middle of the file');
    // A graceful stop in the middle; a new engine (new owner) takes over from the checkpoint.
    await run1.stop();
    const second = engine('engine-2');
    const run2 = second.start();
    await until('the file completed', async () => (await control.getStatus())?.historical.completed === true);
    await run2.stop();

    const status = await control.getStatus();
    assert.equal(status?.historical.done, ROWS);
    // Drain the consumer, then look at the output.
    await until('consumer drained', async () => {
      const text = await readFile(tmp.join('out', 'mid_prices.log'), 'utf8');
      const errors = await readFile(tmp.join('out', 'errors.log'), 'utf8');
      const historical = text.split('\n').filter((l) => l.startsWith('2025-')).length + errors.split('\n').filter((l) => l.includes('2025-')).length;
      return historical >= ROWS;
    });
    const mids = (await readFile(tmp.join('out', 'mid_prices.log'), 'utf8')).trim().split('\n');
    const errors = (await readFile(tmp.join('out', 'errors.log'), 'utf8')).trim().split('\n');
    const historicalLines = [...mids.filter((l) => l.startsWith('2025-')), ...errors];
    assert.equal(historicalLines.length, ROWS, 'every historical quote exactly once');
    assert.equal(new Set(historicalLines).size, ROWS, 'no duplicates');
    const liveLines = mids.filter((l) => l.startsWith('2030-'));
    assert.ok(liveLines.length >= 30, `live quotes written while live (${liveLines.length})`);
    // Per ticker, historical mids are in arrival order (timestamp + latency).
    for (const [ticker, base] of [['AAA', '100'], ['BBB', '200'], ['CCC', '300']] as const) {
      const lines = mids.filter((l) => l.startsWith('2025-') && l.split(', ')[1]?.startsWith(base));
      const arrivals = lines.map((l) => {
        const ts = Date.parse(`${l.split(', ')[0]?.replace(' ', 'T')}Z`);
        const i = Math.round((ts - Date.UTC(2025, 0, 1)) / 10);
        return ts + ((i * 7) % 45);
      });
      assert.deepEqual(arrivals, [...arrivals].sort((a, b) => a - b), `${ticker} in arrival order`);
    }
  });
});
