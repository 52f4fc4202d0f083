/**
 * `serverless invoke local` (osls) on both handlers with the committed sample events, as the
 * README documents it: midPrice writes the three output files (the README's exact command line,
 * run from the project root, writes them into ./output/ and prints only the handler's answer on
 * stdout); mode answers POST and GET /mode against an embedded DynamoDB given by AWS_ENDPOINT_URL.
 */
import assert from 'node:assert/strict';
import { readFile, rm, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bootstrapResources } from '../../infra/bootstrap.ts';
import { startEmbeddedStack, type EmbeddedStack } from '../../infra/embedded-stack.ts';
import { createAwsClients, type AwsClients } from '../../lib/aws/clients.ts';
import { ControlStore } from '../../lib/control/control-store.ts';
import { silentLogger } from '../../lib/logging/logger.ts';
import { readLines } from '../support/lines.ts';
import { invokeResult, PROJECT_DIR, runCommandLine, runOsls, type OslsResult } from '../support/osls.ts';
import { OUTPUT_FILES } from '../../lib/output/log-files.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

const region = 'us-east-1';
const TABLE = 'invoke-local-state';

function succeeded(result: OslsResult): void {
  assert.equal(result.code, 0, `osls failed (${String(result.code ?? result.signal)}):\n${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`);
}

/** The README's command, character for character. */
const README_INVOKE = 'npx serverless invoke local -f midPrice -p functions/events/kinesis-batch.json -e OUTPUT_DIR=output';

/**
 * The project's ./output as it is now, to put it back after a command appended to it: the lines
 * appended since, by file, and a restore that truncates them away (or removes what was not there).
 */
async function snapshotOutput(dir: string): Promise<{ appended(): Promise<Record<string, string[]>>; restore(): Promise<void> }> {
  const dirExisted = await stat(dir).then(() => true, () => false);
  const sizes = new Map<string, number | undefined>();
  for (const name of OUTPUT_FILES) sizes.set(name, await stat(path.join(dir, name)).then((s) => s.size, () => undefined));
  return {
    async appended() {
      const out: Record<string, string[]> = {};
      for (const [name, size] of sizes) {
        const text = await readFile(path.join(dir, name)).then((b) => b.subarray(size ?? 0).toString('utf8'), () => '');
        out[name] = text.split('\n').filter((line) => line !== '');
      }
      return out;
    },
    async restore() {
      if (!dirExisted) return rm(dir, { recursive: true, force: true });
      for (const [name, size] of sizes) {
        const file = path.join(dir, name);
        if (size === undefined) await rm(file, { force: true });
        else await truncate(file, size).catch(() => undefined);
      }
    },
  };
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

  void it('runs the README command as typed: lines in ./output of the project root, only the answer on stdout, metrics on stderr', async () => {
    const output = await snapshotOutput(path.join(PROJECT_DIR, 'output'));
    try {
      const result = await runCommandLine(README_INVOKE);
      succeeded(result);
      assert.deepEqual(JSON.parse(result.stdout), { batchItemFailures: [] }, `stdout is the handler's answer and nothing else:\n${result.stdout}`);
      const appended = await output.appended();
      assert.deepEqual(appended['mid_prices.log'], ['2025-01-02 14:30:00.039, 243.125', '2025-01-02 14:30:00.120, 0.15', '2025-01-02 14:32:00.000, 220.405', '2025-01-02 14:32:00.250, 243.13']);
      assert.deepEqual(appended['errors.log'], ['No mid price at 2025-01-02 14:30:00.201 as latency 35ms is bigger than 20ms']);
      assert.equal(appended['dead_letters.log']?.length, 1);
      // The EMF line Lambda would read from stdout went to stderr, whole.
      const emf = result.stderr.split('\n').find((line) => line.startsWith('{"_aws":'));
      assert.ok(emf !== undefined, `EMF on stderr:\n${result.stderr.slice(-2000)}`);
      assert.equal((JSON.parse(emf) as { midLines: number }).midLines, 4);
    } finally {
      await output.restore();
    }
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
