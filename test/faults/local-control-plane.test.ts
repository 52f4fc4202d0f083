/**
 * A local control plane only the user drives. The servers `up` and the demo start — the embedded
 * edge (and its emulators' own ports), the mode API (in `up`'s process; serverless-offline and its
 * Lambda endpoint under the demo), the dashboard and the live feed simulator — listen on 127.0.0.1 only (as the kernel sees it), answer loopback `Host`s only
 * (DNS rebinding), refuse other origins (preflights included, no `Access-Control-Allow-Origin`
 * ever), and take a state change only as JSON or SigV4, so a web page cannot send one. The
 * user's own clients keep working: `tick-replay mode`, `curl --json`, the AWS SDK. Last, a real
 * browser on a hostile page tries every trick it has, and the mode does not move.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { WebSocket } from 'ws';
import { bootstrapResources } from '../../infra/bootstrap.ts';
import { startEmbeddedStack, type EmbeddedStack } from '../../infra/embedded-stack.ts';
import { startOfflineApi, type OfflineApi } from '../../infra/offline-api.ts';
import { startInProcessModeApi, type InProcessModeApi } from '../../lib/cli/in-process-mode-api.ts';
import { createAwsClients, type AwsClients } from '../../lib/aws/clients.ts';
import { ControlStore } from '../../lib/control/control-store.ts';
import { DASHBOARD_CLIENT_HEADER, startDashboardServer, type DashboardServer } from '../../lib/dashboard/dashboard-server.ts';
import { StackMetrics } from '../../lib/dashboard/stack-metrics.ts';
import { startFeedServer, type FeedServer } from '../../lib/live/feed-server.ts';
import { silentLogger } from '../../lib/logging/logger.ts';
import { commandAvailable, exec } from '../support/commands.ts';
import { waitUntil } from '../support/processes.ts';
import { rawRequest, type RawAnswer } from '../support/raw-request.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';
import { embeddedChildEnv } from '../support/aws-env.ts';

const TABLE = 'control-plane-state';
const CHROMIUM = '/usr/bin/chromium';
const EVIL = 'https://evil.example';
const LIVE = '{"mode":"live"}';
const JSON_TYPE = { 'content-type': 'application/json' };

/** Local addresses of the sockets listening on `port` (IPv4 and IPv6), from the kernel's tables. */
function listeningAddresses(port: number): string[] {
  const found: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (local === undefined || state !== '0A') continue; // 0A = LISTEN
      const [hex, portHex] = local.split(':');
      if (Number.parseInt(portHex ?? '', 16) !== port || hex === undefined) continue;
      found.push(hex.length === 8 ? (hex.match(/../g) ?? []).reverse().map((b) => Number.parseInt(b, 16)).join('.') : `ipv6:${hex}`);
    }
  }
  return found;
}

/** The answer of a websocket upgrade: 'open', or the HTTP status it was refused with. */
function upgrade(url: string, options: { headers?: Record<string, string>; origin?: string }): Promise<'open' | number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers: options.headers, origin: options.origin });
    socket.once('open', () => {
      socket.close();
      resolve('open');
    });
    socket.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    socket.once('error', (error) => reject(error));
  });
}

describe('a local control plane only the user drives', () => {
  let tmp: TempDir;
  let stack: EmbeddedStack;
  let clients: AwsClients;
  let store: ControlStore;
  let feed: FeedServer;
  let api: OfflineApi;
  let upApi: InProcessModeApi;
  let dashboard: DashboardServer;
  const version = async (): Promise<number> => (await store.getMode()).version;
  /** Asserts `answer` is a refusal with `status` and grants no origin anything. */
  const refused = (what: string, answer: RawAnswer, status: number): void => {
    assert.equal(answer.status, status, `${what}: ${answer.status} ${answer.body.slice(0, 200)}`);
    assert.equal(answer.headers['access-control-allow-origin'], undefined, `${what}: no Access-Control-Allow-Origin`);
    assert.equal(answer.headers['access-control-allow-credentials'], undefined, `${what}: no Access-Control-Allow-Credentials`);
  };

  before(async () => {
    tmp = await makeTempDir();
    stack = await startEmbeddedStack({
      stateDir: tmp.join('state'),
      edgePort: 0,
      logger: silentLogger,
      logLevel: 'WARN',
      functions: { tableName: TABLE, streamName: 'control-plane-quotes', region: 'us-east-1' },
    });
    clients = createAwsClients({ endpointUrl: stack.endpointUrl, region: 'us-east-1', env: {} });
    await bootstrapResources(clients, { streamName: 'control-plane-quotes', shardCount: 1, tableName: TABLE }, silentLogger);
    store = new ControlStore(clients.dynamodb, TABLE);
    await writeFile(tmp.join('live.csv'), 'timestamp,ticker,bid,ask\n2030-01-01T00:00:00Z,L,1,2\n');
    feed = await startFeedServer({ file: tmp.join('live.csv'), port: 0, speed: 1, loop: true, logger: silentLogger });
    api = await startOfflineApi({ port: 0, env: { AWS_ENDPOINT_URL: stack.endpointUrl, AWS_REGION: 'us-east-1', TABLE_NAME: TABLE, LOG_LEVEL: 'WARN' }, logger: silentLogger });
    // The mode API as `up` serves it, in its own process.
    upApi = await startInProcessModeApi({ aws: { clients }, config: { tableName: TABLE, region: 'us-east-1', allowedHosts: [] }, port: 0, logger: silentLogger });
    const metrics = new StackMetrics({ now: () => 0, sources: { status: () => undefined, producer: () => undefined, consumer: () => undefined } });
    dashboard = await startDashboardServer({ port: 0, modeApiUrl: api.url, metrics, logger: silentLogger });
  });

  after(async () => {
    await dashboard?.close();
    await api?.stop();
    await upApi?.stop();
    await feed?.close();
    clients?.destroy();
    await stack?.stop();
    await tmp?.remove();
  });

  it('listens on 127.0.0.1 only: edge, both emulators, live feed, mode API, its Lambda endpoint, dashboard', { skip: process.platform !== 'linux' ? 'reads /proc/net/tcp' : false }, () => {
    const servers = {
      edge: stack.edgePort,
      kinesis: stack.emulatorPorts.kinesis,
      dynamodb: stack.emulatorPorts.dynamodb,
      feed: feed.port,
      modeApi: api.port,
      upModeApi: upApi.port,
      lambdaInvoke: api.lambdaPort,
      dashboard: dashboard.port,
    };
    for (const [name, port] of Object.entries(servers)) {
      assert.deepEqual(listeningAddresses(port), ['127.0.0.1'], `${name} (port ${port}) listens on loopback only`);
    }
  });

  it('refuses Host: evil.example (DNS rebinding) with 421 on every server, reads included', async () => {
    const evilHost = (port: number): Record<string, string> => ({ host: `evil.example:${port}` });
    refused('mode API', await rawRequest(`${api.url}/mode`, { headers: evilHost(api.port) }), 421);
    refused("up's mode API", await rawRequest(`${upApi.url}/mode`, { headers: evilHost(upApi.port) }), 421);
    refused('mode API Lambda endpoint', await rawRequest(`http://127.0.0.1:${api.lambdaPort}/`, { headers: evilHost(api.lambdaPort) }), 421);
    refused('dashboard page', await rawRequest(`${dashboard.url}/`, { headers: evilHost(dashboard.port) }), 421);
    refused('dashboard metrics', await rawRequest(`${dashboard.url}/metrics`, { headers: { host: 'evil.example' } }), 421);
    refused('edge health', await rawRequest(`${stack.endpointUrl}/_localstack/health`, { headers: evilHost(stack.edgePort) }), 421);
    const scan = { ...evilHost(stack.edgePort), 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.Scan' };
    refused('edge DynamoDB Scan', await rawRequest(stack.endpointUrl, { method: 'POST', headers: scan, body: JSON.stringify({ TableName: TABLE }) }), 421);
    for (const [name, port] of [['kinesalite', stack.emulatorPorts.kinesis], ['dynalite', stack.emulatorPorts.dynamodb]] as const) {
      refused(`${name}'s own port`, await rawRequest(`http://127.0.0.1:${port}/`, { method: 'POST', headers: { ...scan, host: `evil.example:${port}` }, body: '{}' }), 421);
    }
    refused('feed, plain HTTP', await rawRequest(`http://127.0.0.1:${feed.port}/`, { headers: evilHost(feed.port) }), 421);
    assert.equal(await upgrade(feed.url, { headers: { host: `evil.example:${feed.port}` } }), 421, 'feed websocket upgrade');
    // The user's own names still work.
    assert.equal((await rawRequest(`${api.url}/mode`, { headers: { host: `localhost:${api.port}` } })).status, 200);
    assert.equal((await rawRequest(`${upApi.url}/mode`, { headers: { host: `localhost:${upApi.port}` } })).status, 200);
    assert.equal((await rawRequest(`${dashboard.url}/metrics`, { headers: { host: `localhost:${dashboard.port}` } })).status, 200);
    assert.equal((await rawRequest(`${stack.endpointUrl}/_localstack/health`, { headers: { host: `localhost.localstack.cloud:${stack.edgePort}` } })).status, 200);
    assert.equal(await upgrade(feed.url.replace('127.0.0.1', 'localhost'), {}), 'open');
  });

  it('refuses cross-origin text/plain and form posts to the mode API and the dashboard; the mode does not move', async () => {
    const start = await version();
    const attempts: Array<[string, string, Record<string, string>, string, number]> = [
      ['mode API, text/plain', `${api.url}/mode`, { origin: EVIL, 'content-type': 'text/plain' }, LIVE, 403],
      ['mode API, form', `${api.url}/mode`, { origin: EVIL, 'content-type': 'application/x-www-form-urlencoded' }, 'mode=live', 403],
      ['mode API, text/plain without Origin (an old browser)', `${api.url}/mode`, { 'content-type': 'text/plain' }, LIVE, 415],
      ['mode API, no content type (a no-cors Blob)', `${api.url}/mode`, {}, LIVE, 415],
      ["up's mode API, form", `${upApi.url}/mode`, { origin: EVIL, 'content-type': 'application/x-www-form-urlencoded' }, 'mode=live', 403],
      ["up's mode API, text/plain without Origin", `${upApi.url}/mode`, { 'content-type': 'text/plain' }, LIVE, 415],
      ["up's mode API, no content type", `${upApi.url}/mode`, {}, LIVE, 415],
      ['dashboard, text/plain', `${dashboard.url}/api/mode`, { origin: EVIL, 'content-type': 'text/plain' }, LIVE, 403],
      ['dashboard, form', `${dashboard.url}/api/mode`, { origin: EVIL, 'content-type': 'application/x-www-form-urlencoded' }, 'mode=live', 403],
      ['dashboard, text/plain without Origin', `${dashboard.url}/api/mode`, { 'content-type': 'text/plain' }, LIVE, 415],
      ['dashboard, JSON but not from its page', `${dashboard.url}/api/mode`, JSON_TYPE, LIVE, 403],
      ['dashboard, its header from another origin', `${dashboard.url}/api/mode`, { ...JSON_TYPE, origin: EVIL, [DASHBOARD_CLIENT_HEADER]: 'dashboard' }, LIVE, 403],
      ['edge invoke URL, form', `${stack.endpointUrl}/restapis/any/local/_user_request_/mode`, { 'content-type': 'application/x-www-form-urlencoded' }, 'mode=live', 415],
    ];
    for (const [what, url, headers, body, status] of attempts) refused(what, await rawRequest(url, { method: 'POST', headers, body }), status);
    assert.equal(await version(), start, 'no refused request changed the mode');
  });

  it('answers a preflight from https://evil.example with no Access-Control-Allow-Origin, anywhere', async () => {
    const preflight = { origin: EVIL, 'access-control-request-method': 'POST', 'access-control-request-headers': `content-type, ${DASHBOARD_CLIENT_HEADER}` };
    refused('mode API', await rawRequest(`${api.url}/mode`, { method: 'OPTIONS', headers: preflight }), 403);
    refused('dashboard', await rawRequest(`${dashboard.url}/api/mode`, { method: 'OPTIONS', headers: preflight }), 403);
    refused('edge', await rawRequest(`${stack.endpointUrl}/`, { method: 'OPTIONS', headers: { ...preflight, 'access-control-request-headers': 'authorization, x-amz-target' } }), 403);
    refused('mode API, cross-origin GET', await rawRequest(`${api.url}/mode`, { headers: { origin: EVIL } }), 403);
    refused("up's mode API", await rawRequest(`${upApi.url}/mode`, { method: 'OPTIONS', headers: preflight }), 403);
    refused("up's mode API, cross-origin GET", await rawRequest(`${upApi.url}/mode`, { headers: { origin: EVIL } }), 403);
    assert.equal(await upgrade(feed.url, { origin: EVIL }), 403, 'a page elsewhere cannot read the feed');
  });

  it('still takes the user’s own requests: tick-replay mode, curl --json, the dashboard’s page, the AWS SDK', async () => {
    const start = await version();
    const { stdout } = await exec(process.execPath, ['bin/tick-replay.js', 'mode', 'live', '--api', api.url], { env: embeddedChildEnv(), timeout: 30_000 });
    assert.deepEqual([(JSON.parse(stdout) as { mode: string }).mode, await version()], ['live', start + 1]);
    if (await commandAvailable('curl')) {
      const curl = await exec('curl', ['-sS', '--fail-with-body', '--json', '{"mode":"historical"}', `${api.url}/mode`], { timeout: 30_000 });
      assert.equal((JSON.parse(curl.stdout) as { mode: string }).mode, 'historical');
    } else {
      assert.equal((await rawRequest(`${api.url}/mode`, { method: 'POST', headers: JSON_TYPE, body: '{"mode":"historical"}' })).status, 200);
    }
    const fromPage = await rawRequest(`${dashboard.url}/api/mode`, { method: 'POST', headers: { ...JSON_TYPE, origin: dashboard.url, [DASHBOARD_CLIENT_HEADER]: 'dashboard' }, body: LIVE });
    assert.equal(fromPage.status, 200, fromPage.body);
    assert.equal(await version(), start + 3);
    assert.equal((await store.getMode()).mode, 'live', 'the SDK (SigV4, JSON) reads through the guarded edge');
    assert.equal(await upgrade(feed.url, {}), 'open', 'the replayer’s websocket client');
  });

  it('lets no hostile page in a real browser flip the mode or frame the dashboard', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing` }, async () => {
    const start = await version();
    // The hostile page, on another origin. evil.example resolves to 127.0.0.1 in this browser, as
    // it would for a page that rebinds its DNS name after loading.
    const page = `<!doctype html><title>evil</title><body>
<iframe name="sink"></iframe><iframe id="framed" src="${dashboard.url}/"></iframe>
<form id="f" method="POST" enctype="text/plain" target="sink" action="${api.url}/mode"><input name='{"mode":"live","x":"' value='"}'></form>
<script>
const attempt = async (name, url, init) => { try { const r = await fetch(url, init); return [name, 'status ' + r.status + ' ' + r.type]; } catch (e) { return [name, 'failed']; } };
window.attack = async () => {
  document.getElementById('f').submit();
  const body = '{"mode":"live"}';
  return Promise.all([
    attempt('mode API, no-cors text', '${api.url}/mode', { method: 'POST', mode: 'no-cors', body }),
    attempt('mode API, no-cors blob', '${api.url}/mode', { method: 'POST', mode: 'no-cors', body: new Blob([body]) }),
    attempt('mode API, cors JSON', '${api.url}/mode', { method: 'POST', headers: { 'content-type': 'application/json' }, body }),
    attempt('mode API, rebound name', 'http://evil.example:${api.port}/mode', { method: 'POST', headers: { 'content-type': 'application/json' }, body }),
    attempt('dashboard, no-cors text', '${dashboard.url}/api/mode', { method: 'POST', mode: 'no-cors', body }),
    attempt('dashboard, cors JSON', '${dashboard.url}/api/mode', { method: 'POST', headers: { 'content-type': 'application/json', '${DASHBOARD_CLIENT_HEADER}': 'dashboard' }, body }),
    attempt('dashboard, read metrics', '${dashboard.url}/metrics', {}),
    attempt('edge, read health', '${stack.endpointUrl}/_localstack/health', {}),
  ]);
};
</script>`;
    const evil: Server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(page));
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--host-resolver-rules=MAP evil.example 127.0.0.1'] });
    try {
      const tab = await browser.newPage();
      const reachedApi: string[] = [];
      tab.on('response', (response) => {
        if (response.url().startsWith(api.url) || response.url().startsWith(dashboard.url)) reachedApi.push(`${response.request().method()} ${response.url()} ${response.status()}`);
      });
      await tab.goto(`http://evil.example:${(evil.address() as AddressInfo).port}/`);
      const results = Object.fromEntries(await tab.evaluate(() => (globalThis as unknown as { attack: () => Promise<Array<[string, string]>> }).attack()));
      // Every readable answer failed; the no-cors ones are opaque to the page (status 0) and were refused by the servers.
      assert.deepEqual(results, {
        'mode API, no-cors text': 'status 0 opaque',
        'mode API, no-cors blob': 'status 0 opaque',
        'mode API, cors JSON': 'failed',
        'mode API, rebound name': 'failed',
        'dashboard, no-cors text': 'status 0 opaque',
        'dashboard, cors JSON': 'failed',
        'dashboard, read metrics': 'failed',
        'edge, read health': 'failed',
      });
      const framed = await (await tab.$('#framed'))?.contentFrame();
      assert.ok(framed !== null && framed !== undefined, 'the frame exists');
      assert.ok(!(await framed.content()).includes('tick-replay'), `the dashboard refused to be framed (${framed.url()})`);
      // The form post reached the mode API and was refused there.
      await waitUntil('the form post answered', () => reachedApi.some((line) => line.startsWith(`POST ${api.url}/mode `)), 10_000);
      const posts = reachedApi.filter((line) => line.startsWith('POST '));
      assert.ok(posts.length >= 4 && posts.every((line) => / 4\d\d$/.test(line)), `every post the browser sent was refused: ${reachedApi.join('; ')}`);
    } finally {
      await browser.close();
      await new Promise((resolve) => evil.close(resolve));
    }
    assert.equal(await version(), start, 'the mode did not move');
  });
});
