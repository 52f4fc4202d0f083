/**
 * `serverless invoke local` (osls) on both handlers with the committed sample events, as the
 * README documents it: midPrice writes the three output files; mode answers POST and GET /mode
 * against an embedded DynamoDB given by AWS_ENDPOINT_URL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bootstrapResources } from '../../infra/bootstrap.ts';
import { startEmbeddedStack, type EmbeddedStack } from '../../infra/embedded-stack.ts';
import { createAwsClients, type AwsClients } from '../../lib/aws/clients.ts';
import { ControlStore } from '../../lib/control/control-store.ts';
import { silentLogger } from '../../lib/logging/logger.ts';
import { readLines } from '../support/lines.ts';
import { invokeResult, runOsls, type OslsResult } from '../support/osls.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

const region = 'us-east-1';
const TABLE = 'invoke-local-state';

function succeeded(result: OslsResult): void {
  assert.equal(result.code, 0, `osls failed (${String(result.code ?? result.signal)}):\n${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`);
}

void describe('serverless invoke local', () => {
  let tmp: TempDir;
  let stack: EmbeddedStack;
  let clients: AwsClients;

  before(async () => {
    tmp = await makeTempDir();
    stack = await startEmbeddedStack({ stateDir: tmp.join('state'), edgePort: 0, logger: silentLogger, logLevel: 'WARN' });
    clients = createAwsClients({ endpointUrl: stack.endpointUrl, region, env: {} });
    await bootstrapResources(clients, { streamName: 'invoke-local-quotes', shardCount: 1, tableName: TABLE }, silentLogger);
  });

  after(async () => {
    clients?.destroy();
    await stack?.stop();
    await tmp?.remove();
  });

  void it('runs midPrice on the sample Kinesis batch: mids, one latency error, one dead letter', async () => {
    const out = tmp.join('out');
    const result = await runOsls(['invoke', 'local', '-f', 'midPrice', '-p', 'functions/events/kinesis-batch.json', '-e', `OUTPUT_DIR=${out}`]);
    succeeded(result);
    assert.deepEqual(invokeResult(result.stdout), { batchItemFailures: [] });
    assert.deepEqual(await readLines(`${out}/mid_prices.log`), [
      '2025-01-02 14:30:00.039, 243.125',
      '2025-01-02 14:30:00.120, 0.15',
      '2025-01-02 14:32:00.000, 220.405',
      '2025-01-02 14:32:00.250, 243.13',
    ]);
    assert.deepEqual(await readLines(`${out}/errors.log`), ['No mid price at 2025-01-02 14:30:00.201 as latency 35ms is bigger than 20ms']);
    const deadLetters = await readLines(`${out}/dead_letters.log`);
    assert.equal(deadLetters.length, 1);
    assert.match(deadLetters[0] ?? '', /"reason":"not JSON: /);
  });

  void it('runs mode on POST /mode and GET /mode against the DynamoDB at AWS_ENDPOINT_URL', async () => {
    /** Invokes `mode` with a sample event; the API Gateway answer's status and JSON body. */
    const invokeMode = async (eventFile: string): Promise<{ statusCode: number; body: { mode: string; version: number } }> => {
      const result = await runOsls(['invoke', 'local', '-f', 'mode', '-p', `functions/events/${eventFile}`], { AWS_ENDPOINT_URL: stack.endpointUrl, TABLE_NAME: TABLE });
      succeeded(result);
      const answer = invokeResult(result.stdout) as { statusCode: number; body: string };
      return { statusCode: answer.statusCode, body: JSON.parse(answer.body) as { mode: string; version: number } };
    };
    const posted = await invokeMode('mode-post-live.json');
    assert.equal(posted.statusCode, 200);
    assert.deepEqual([posted.body.mode, posted.body.version], ['live', 1]);
    // The request reached the table the replayer watches.
    const stored = await new ControlStore(clients.dynamodb, TABLE).getMode();
    assert.deepEqual([stored.mode, stored.version], ['live', 1]);

    const got = await invokeMode('mode-get.json');
    assert.equal(got.statusCode, 200);
    assert.deepEqual([got.body.mode, got.body.version], ['live', 1]);
  });
});
