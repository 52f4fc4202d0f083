/**
 * The mode API under serverless-offline, as `npm run demo` runs it: `osls offline start`
 * (serverless.yml's http events, the handler bundled by serverless-esbuild) in front of the
 * embedded DynamoDB, exercised over HTTP; then its lifecycle (stop frees the port, a killed parent
 * leaves no osls behind). `up` serves the same routes in its own process
 * (in-process-mode-api.test.ts).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { bootstrapResources } from '../../infra/bootstrap.ts';
import { startEmbeddedStack, type EmbeddedStack } from '../../infra/embedded-stack.ts';
import { OfflineApiError, oslsEnvironment, startOfflineApi, type OfflineApi } from '../../infra/offline-api.ts';
import { createAwsClients, type AwsClients } from '../../lib/aws/clients.ts';
import { registerModeCommands } from '../../lib/cli/mode-commands.ts';
import { ControlStore, type ReplayStatus } from '../../lib/control/control-store.ts';
import { createLogger, silentLogger } from '../../lib/logging/logger.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';
import { firstStdoutLine, isAlive, listenOn, portIsFree, spawnModuleScript, waitUntil } from '../support/processes.ts';

const logger = createLogger({ service: 'mode-api-test', level: 'WARN' });
const TABLE = 'mode-api-state';
const region = 'us-east-1';
const PROJECT_DIR = fileURLToPath(new URL('../..', import.meta.url));

async function json(response: Response): Promise<Record<string, unknown>> {
  // hapi (serverless-offline) adds `; charset=utf-8`; API Gateway passes the handler's value.
  assert.match(response.headers.get('content-type') ?? '', /^application\/json(;|$)/);
  return (await response.json()) as Record<string, unknown>;
}

describe('mode API (osls offline)', () => {
  let tmp: TempDir;
  let stack: EmbeddedStack;
  let clients: AwsClients;
  let api: OfflineApi;
  const parents: ChildProcess[] = [];
  const orphanCandidates: number[] = [];
  const post = (body: string): Promise<Response> =>
    fetch(`${api.url}/mode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  before(async () => {
    tmp = await makeTempDir();
    stack = await startEmbeddedStack({ stateDir: tmp.join('state'), edgePort: 0, logger: silentLogger, logLevel: 'WARN' });
    clients = createAwsClients({ endpointUrl: stack.endpointUrl, region, env: {} });
    await bootstrapResources(clients, { streamName: 'mode-api-quotes', shardCount: 1, tableName: TABLE }, silentLogger);
    api = await startOfflineApi({
      port: 0,
      env: { AWS_ENDPOINT_URL: stack.endpointUrl, AWS_REGION: region, TABLE_NAME: TABLE, LOG_LEVEL: 'WARN' },
      logger,
    });
  });

  after(async () => {
    for (const parent of parents) if (parent.exitCode === null && parent.signalCode === null) parent.kill('SIGKILL');
    for (const pid of orphanCandidates) if (isAlive(pid)) process.kill(-pid, 'SIGKILL');
    await api?.stop();
    clients?.destroy();
    await stack?.stop();
    await tmp?.remove();
  });

  it('serves GET /mode on http://127.0.0.1:<port>/mode with the stored mode', async () => {
    assert.match(api.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetch(`${api.url}/mode`);
    assert.equal(response.status, 200);
    assert.deepEqual(await json(response), { mode: 'historical', version: 0, requestedAt: '', status: null });
  });

  it('records POST /mode in DynamoDB with increasing versions', async () => {
    const first = await post('{"mode":"live"}');
    assert.equal(first.status, 200);
    const body = await json(first);
    assert.equal(body.mode, 'live');
    assert.equal(body.version, 1);

    const second = await json(await post('{"mode":"historical","from":"start"}'));
    assert.equal(second.version, 2);
    assert.equal(second.fromStart, true);

    const stored = await new ControlStore(clients.dynamodb, TABLE).getMode();
    assert.deepEqual(stored, { mode: 'historical', version: 2, fromStart: true, requestedAt: second.requestedAt, rewinds: 1 });
  });

  it('answers bad bodies with 400/413 JSON and leaves the mode alone', async () => {
    const cases: Array<[string, number, string]> = [
      ['{"mode":"paper"}', 400, 'invalid_mode'],
      ['nope', 400, 'invalid_json'],
      ['{"mode":"live","__proto__":{}}', 400, 'unknown_field'],
      [`{"mode":"live","pad":"${'x'.repeat(4096)}"}`, 413, 'payload_too_large'],
    ];
    for (const [body, status, error] of cases) {
      const response = await post(body);
      assert.equal(response.status, status);
      assert.equal((await json(response)).error, error);
    }
    assert.equal((await new ControlStore(clients.dynamodb, TABLE).getMode()).version, 2);
  });

  it('shows the replayer status in GET /mode, without the file it reads', async () => {
    const status: ReplayStatus = {
      mode: 'historical',
      appliedVersion: 2,
      historical: { file: 'data/historical_sample.csv', done: 3, total: 10, completed: false },
      live: { connection: 'idle', received: 0, rejected: 0, reconnects: 0 },
      updatedAt: new Date().toISOString(),
    };
    await new ControlStore(clients.dynamodb, TABLE).putStatus(status);
    const body = await json(await fetch(`${api.url}/mode`));
    assert.equal(body.version, 2);
    const { file: _file, ...progress } = status.historical;
    assert.deepEqual(body.status, { ...status, historical: progress });
  });

  it('is what `tick-replay mode` and `tick-replay status` talk to', async () => {
    let out = '';
    const program = new Command('tick-replay').exitOverride();
    registerModeCommands(program, { write: (text) => (out += text), env: { MODE_API_URL: api.url } });
    await program.parseAsync(['node', 'tick-replay', 'mode', 'live']);
    assert.equal((JSON.parse(out) as { version: number }).version, 3);
    out = '';
    await program.parseAsync(['node', 'tick-replay', 'status']);
    assert.equal((JSON.parse(out) as { mode: string }).mode, 'live');
  });

  it('gives osls dummy credentials for a local endpoint, never the real ones, and keeps it quiet', () => {
    const real = { AWS_ACCESS_KEY_ID: 'AKIAREAL', AWS_SECRET_ACCESS_KEY: 'real', AWS_SESSION_TOKEN: 't', AWS_PROFILE: 'p', PATH: '/bin' };
    const local = oslsEnvironment({ AWS_ENDPOINT_URL: 'http://127.0.0.1:4566', TABLE_NAME: 't1', AWS_REGION: 'eu-west-1' }, real);
    assert.equal(local.AWS_ACCESS_KEY_ID, 'test');
    assert.equal(local.AWS_SECRET_ACCESS_KEY, 'test');
    assert.equal(local.AWS_SESSION_TOKEN, undefined);
    assert.equal(local.AWS_PROFILE, undefined);
    assert.equal(local.TABLE_NAME, 't1');
    assert.equal(local.AWS_REGION, 'eu-west-1');
    assert.equal(local.PATH, '/bin');
    assert.equal(local.SLS_TELEMETRY_DISABLED, '1');
    // Real AWS (no endpoint): the machine's credentials chain applies.
    const aws = oslsEnvironment({ AWS_ENDPOINT_URL: '', AWS_REGION: '' }, { ...real, AWS_DEFAULT_REGION: 'ap-south-1' });
    assert.equal(aws.AWS_ACCESS_KEY_ID, 'AKIAREAL');
    assert.equal(aws.AWS_PROFILE, 'p');
    assert.equal(aws.AWS_REGION, 'ap-south-1');
  });

  it('refuses a port that is in use with one specific error, starting nothing', async () => {
    const blocker = await listenOn(0);
    const port = (blocker.address() as AddressInfo).port;
    try {
      await assert.rejects(startOfflineApi({ port, env: {}, logger: silentLogger }), (error: unknown) => {
        assert.ok(error instanceof OfflineApiError);
        assert.match(error.message, new RegExp(`^port ${port} on 127\\.0\\.0\\.1 is already in use`));
        return true;
      });
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('stops: osls and its wrapper exit, the ports are free, the build folder is gone', async () => {
    const { pid, wrapperPid, port, lambdaPort, buildDir } = api;
    assert.ok(buildDir.startsWith(path.join(PROJECT_DIR, '.esbuild') + path.sep), buildDir);
    assert.equal(existsSync(buildDir), true);
    await api.stop();
    await api.stop(); // idempotent
    assert.equal(isAlive(pid), false);
    assert.equal(isAlive(wrapperPid), false);
    assert.equal(await portIsFree(port), true);
    assert.equal(await portIsFree(lambdaPort), true);
    assert.deepEqual(await api.exited, { code: 0, signal: null });
    await assert.rejects(fetch(`${api.url}/mode`));
    assert.equal(existsSync(buildDir), false, 'its build folder is removed');
  });

  it('leaves no osls running when the process that started it is killed with SIGKILL', async () => {
    const script = `
      const { startOfflineApi } = await import(process.env.API_MODULE);
      const { silentLogger } = await import(process.env.LOGGER_MODULE);
      const api = await startOfflineApi({ port: 0, env: { AWS_ENDPOINT_URL: process.env.ENDPOINT, TABLE_NAME: process.env.TABLE }, logger: silentLogger });
      process.stdout.write(JSON.stringify({ pid: api.pid, wrapperPid: api.wrapperPid, port: api.port, buildDir: api.buildDir }) + '\\n');
      setInterval(() => {}, 60_000);
    `;
    const { child: parent, exited: parentExited } = spawnModuleScript(script, {
      API_MODULE: import.meta.resolve('../../infra/offline-api.ts'),
      LOGGER_MODULE: import.meta.resolve('../../lib/logging/logger.ts'),
      ENDPOINT: stack.endpointUrl,
      TABLE,
    });
    parents.push(parent);
    const line = await firstStdoutLine(parent);
    const { pid, wrapperPid, port, buildDir } = JSON.parse(line) as { pid: number; wrapperPid: number; port: number; buildDir: string };
    assert.equal(existsSync(buildDir), true);
    orphanCandidates.push(pid);
    assert.equal(isAlive(pid), true);
    assert.equal((await fetch(`http://127.0.0.1:${port}/mode`)).status, 200);

    parent.kill('SIGKILL');
    await parentExited;
    await waitUntil('osls should exit after its parent was killed', () => !isAlive(pid), 15_000);
    await waitUntil('the wrapper should exit', () => !isAlive(wrapperPid), 5_000);
    await waitUntil('the API port should be free', () => portIsFree(port), 5_000);
    assert.equal(existsSync(buildDir), false, 'its build folder is removed');
  });
});
