/**
 * The mode API as `tick-replay up` serves it (lib/cli/in-process-mode-api.ts): serverless.yml's
 * routes and the real handler in the caller's process, in front of the embedded DynamoDB,
 * exercised over HTTP — the answers, the local request guard, and a stop that frees the port.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bootstrapResources } from '../../infra/bootstrap.ts';
import { startEmbeddedStack, type EmbeddedStack } from '../../infra/embedded-stack.ts';
import { createAwsClients, type AwsClients } from '../../lib/aws/clients.ts';
import { startInProcessModeApi, type InProcessModeApi } from '../../lib/cli/in-process-mode-api.ts';
import { ControlStore } from '../../lib/control/control-store.ts';
import { InputError } from '../../lib/errors.ts';
import { silentLogger } from '../../lib/logging/logger.ts';
import { portIsFree } from '../support/processes.ts';
import { rawRequest } from '../support/raw-request.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

const TABLE = 'in-process-mode-api';
const region = 'us-east-1';

describe('mode API in the up process', () => {
  let tmp: TempDir;
  let stack: EmbeddedStack;
  let clients: AwsClients;
  let api: InProcessModeApi;
  /** onModeWritten calls: how the replayer in the same process would be told. */
  let written = 0;
  const tableBefore = process.env.TABLE_NAME;

  before(async () => {
    tmp = await makeTempDir();
    stack = await startEmbeddedStack({ stateDir: tmp.join('state'), edgePort: 0, logger: silentLogger, logLevel: 'WARN' });
    clients = createAwsClients({ endpointUrl: stack.endpointUrl, region, env: {} });
    await bootstrapResources(clients, { streamName: 'in-process-mode-api-quotes', shardCount: 1, tableName: TABLE }, silentLogger);
    // The handler's table comes from the config it is given, never from this process's environment.
    process.env.TABLE_NAME = 'a-table-that-does-not-exist';
    api = await startInProcessModeApi({ aws: { clients }, config: { tableName: TABLE, region, allowedHosts: [] }, port: 0, logger: silentLogger, onModeWritten: () => written++ });
  });

  after(async () => {
    if (tableBefore === undefined) delete process.env.TABLE_NAME;
    else process.env.TABLE_NAME = tableBefore;
    await api?.stop();
    await stack?.stop();
    await tmp?.remove();
  });

  it('flips the mode in the configured table through POST /mode and shows it on GET /mode', async () => {
    const store = new ControlStore(clients.dynamodb, TABLE);
    const before = await store.getMode();
    const writtenBefore = written;
    const posted = await fetch(`${api.url}/mode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"mode":"live"}' });
    assert.equal(posted.status, 200);
    assert.match(posted.headers.get('content-type') ?? '', /^application\/json/);
    const answer = (await posted.json()) as { mode: string; version: number; fromStart: boolean };
    assert.deepEqual({ mode: answer.mode, version: answer.version, fromStart: answer.fromStart }, { mode: 'live', version: before.version + 1, fromStart: false });
    assert.equal((await store.getMode()).mode, 'live');
    assert.equal(written, writtenBefore + 1, 'the write is announced once');
    const read = (await (await fetch(`${api.url}/mode`)).json()) as { mode: string; version: number };
    assert.deepEqual({ mode: read.mode, version: read.version }, { mode: 'live', version: before.version + 1 });
  });

  it("answers a bad body with the handler's 400 and leaves the mode alone", async () => {
    const store = new ControlStore(clients.dynamodb, TABLE);
    const before = await store.getMode();
    const writtenBefore = written;
    const answer = await fetch(`${api.url}/mode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"mode":"sideways"}' });
    assert.equal(answer.status, 400);
    assert.equal(written, writtenBefore, 'a refused request announces nothing');
    assert.equal(((await answer.json()) as { error: string }).error, 'invalid_mode');
    assert.equal((await store.getMode()).version, before.version);
  });

  it('refuses what every local server refuses: a form POST, a foreign Host, a foreign Origin', async () => {
    const store = new ControlStore(clients.dynamodb, TABLE);
    const before = await store.getMode();
    const form = await rawRequest(`${api.url}/mode`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'mode=live' });
    assert.equal(form.status, 415);
    const rebound = await rawRequest(`${api.url}/mode`, { headers: { host: `evil.example:${api.port}` } });
    assert.equal(rebound.status, 421);
    const foreign = await rawRequest(`${api.url}/mode`, { method: 'POST', headers: { origin: 'http://evil.example', 'content-type': 'application/json' }, body: '{"mode":"live"}' });
    assert.equal(foreign.status, 403);
    assert.equal((await store.getMode()).version, before.version);
  });

  it("answers paths and methods serverless.yml does not define as API Gateway does (404, 405)", async () => {
    const unknown = await fetch(`${api.url}/nowhere`);
    assert.equal(unknown.status, 404);
    const method = await fetch(`${api.url}/mode`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(method.status, 405);
  });

  it('says which port is taken when it cannot listen', async () => {
    await assert.rejects(
      startInProcessModeApi({ aws: { clients }, config: { tableName: TABLE, region, allowedHosts: [] }, port: api.port, logger: silentLogger }),
      (error: Error) => error instanceof InputError && error.message === `mode API: cannot listen on 127.0.0.1:${api.port}: the port is already in use (give another --api-port, or 0)`,
    );
  });

  it('frees its port when stopped', async () => {
    const other = await startInProcessModeApi({ aws: { clients }, config: { tableName: TABLE, region, allowedHosts: [] }, port: 0, logger: silentLogger });
    assert.equal((await fetch(`${other.url}/mode`)).status, 200);
    await other.stop();
    assert.ok(await portIsFree(other.port), `port ${other.port} is free again`);
  });
});
