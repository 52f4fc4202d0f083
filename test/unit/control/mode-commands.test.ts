/**
 * `tick-replay mode` and `tick-replay status` against a stub mode API on a loopback port: what
 * they send, what they print, and the one-line errors.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Command, CommanderError } from 'commander';
import { DEFAULT_MODE_API_URL, ModeApiError, modeApiBaseUrl, registerModeCommands } from '../../../lib/cli/mode-commands.ts';
import type { ModeApiSources } from '../../../lib/cli/mode-api-location.ts';

const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  body: string;
  authorization?: string | undefined;
}

describe('mode commands', () => {
  let server: http.Server;
  let base: string;
  let seen: Seen[] = [];
  /** What the stub answers next. */
  let answer: { status: number; body: string; type?: string } = { status: 200, body: '{}' };

  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'], body, ...(req.headers.authorization !== undefined ? { authorization: req.headers.authorization } : {}) });
        res.writeHead(answer.status, { 'content-type': answer.type ?? 'application/json' });
        res.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    seen = [];
    answer = { status: 200, body: '{}' };
  });

  async function run(args: string[], env: Record<string, string | undefined> = {}, sources: ModeApiSources = {}): Promise<string> {
    let out = '';
    const program = new Command('tick-replay').exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
    registerModeCommands(program, { write: (text) => (out += text), env, sources });
    await program.parseAsync(['node', 'tick-replay', ...args]);
    return out;
  }

  it('POSTs the mode and prints the JSON answer', async () => {
    answer = { status: 200, body: '{"mode":"live","version":4,"fromStart":false,"requestedAt":"2025-01-01T00:00:00.000Z"}' };
    const out = await run(['mode', 'live', '--api', base]);
    assert.deepEqual(seen, [{ method: 'POST', url: '/mode', contentType: 'application/json', body: '{"mode":"live"}' }]);
    assert.equal(out, `${answer.body}\n`);
  });

  it('sends from: start with --from-start', async () => {
    answer = { status: 200, body: '{"mode":"historical","version":5,"fromStart":true,"requestedAt":"x"}' };
    await run(['mode', 'historical', '--from-start', '--api', `${base}/mode/`]);
    assert.equal(seen[0]?.url, '/mode');
    assert.deepEqual(JSON.parse(seen[0]?.body ?? ''), { mode: 'historical', from: 'start' });
  });

  it('refuses --from-start with live without calling the API', async () => {
    await assert.rejects(run(['mode', 'live', '--from-start', '--api', base]), (error: unknown) => {
      assert.ok(error instanceof ModeApiError);
      assert.match(error.message, /--from-start is only allowed with "historical"/);
      return true;
    });
    assert.deepEqual(seen, []);
  });

  it('refuses a mode other than historical or live (commander usage error)', async () => {
    await assert.rejects(run(['mode', 'paper', '--api', base]), (error: unknown) => {
      assert.ok(error instanceof CommanderError);
      assert.equal(error.code, 'commander.invalidArgument');
      return true;
    });
    assert.deepEqual(seen, []);
  });

  it('GETs /mode for status and prints it', async () => {
    answer = { status: 200, body: '{"mode":"historical","version":0,"requestedAt":"","status":null}' };
    const out = await run(['status'], { MODE_API_URL: base });
    assert.deepEqual(seen.map((s) => `${s.method} ${s.url}`), ['GET /mode']);
    assert.deepEqual(JSON.parse(out), JSON.parse(answer.body));
  });

  it('turns an error answer into one line naming the status and the API message', async () => {
    answer = { status: 400, body: '{"error":"invalid_mode","message":"field \\"mode\\" must be \\"historical\\" or \\"live\\""}' };
    await assert.rejects(run(['mode', 'live', '--api', base]), {
      name: 'ModeApiError',
      message: 'mode API answered 400: invalid_mode: field "mode" must be "historical" or "live"',
    });
    answer = { status: 503, body: '{"error":"service_unavailable","message":"try again"}' };
    await assert.rejects(run(['status', '--api', base]), { message: 'mode API answered 503: service_unavailable: try again' });
    answer = { status: 502, body: '<html>\n<body>Bad Gateway</body>\n</html>', type: 'text/html' };
    await assert.rejects(run(['status', '--api', base]), { message: 'mode API answered 502: <html> <body>Bad Gateway</body> </html>' });
  });

  it('says the API is not reachable, and how to start it, when nothing listens', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    for (const args of [['status'], ['mode', 'live']]) {
      await assert.rejects(run([...args, '--api', `http://127.0.0.1:${port}`]), {
        name: 'ModeApiError',
        message: `mode API not reachable at http://127.0.0.1:${port}/mode (is "tick-replay up" running?)`,
      });
    }
  });

  it('sends unsigned requests to a local API', async () => {
    await run(['status', '--api', base], {}, { credentials: () => Promise.resolve(CREDENTIALS) });
    assert.equal(seen[0]?.authorization, undefined);
  });

  it('signs with SigV4 (execute-api, the default credentials) with --aws or TICK_REPLAY_TARGET=aws', async () => {
    const now = () => new Date('2026-05-06T07:08:09Z');
    await run(['mode', 'live', '--aws', '--api', base], { AWS_REGION: 'eu-west-1' }, { credentials: () => Promise.resolve(CREDENTIALS), now });
    await run(['status'], { TICK_REPLAY_TARGET: 'aws', MODE_API_URL: base, AWS_REGION: 'eu-west-1' }, { credentials: () => Promise.resolve(CREDENTIALS), now });
    assert.deepEqual(seen.map((s) => `${s.method} ${s.url}`), ['POST /mode', 'GET /mode']);
    for (const request of seen) {
      assert.match(request.authorization ?? '', /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20260506\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/);
    }
    assert.equal(seen[0]?.body, '{"mode":"live"}', 'the signed body is the body sent');
  });

  it('says so in one line when the default chain has no credentials to sign with', async () => {
    const none = (): Promise<never> => Promise.reject(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    await assert.rejects(run(['status', '--aws', '--api', base], { AWS_REGION: 'us-east-1' }, { credentials: none }), (error: unknown) => {
      assert.ok(error instanceof ModeApiError);
      assert.match(error.message, /^cannot sign the request to http:\/\/127\.0\.0\.1:\d+\/mode: Could not load credentials from any providers \(the SDK default chain/);
      return true;
    });
    assert.deepEqual(seen, [], 'nothing sent');
  });

  it('hints at the signature when a signed request is refused with 403', async () => {
    answer = { status: 403, body: '{"message":"User: arn:aws:iam::1:user/x is not authorized to perform: execute-api:Invoke"}' };
    await assert.rejects(run(['status', '--aws', '--api', base], { AWS_REGION: 'us-east-1' }, { credentials: () => Promise.resolve(CREDENTIALS) }), {
      message: 'mode API answered 403: User: arn:aws:iam::1:user/x is not authorized to perform: execute-api:Invoke (signed with the SDK default credentials: may they call execute-api:Invoke on this API?)',
    });
  });

  it('takes the API URL from --api, then MODE_API_URL, then the default', () => {
    assert.equal(DEFAULT_MODE_API_URL, 'http://127.0.0.1:3000');
    assert.equal(modeApiBaseUrl(undefined, {}), 'http://127.0.0.1:3000');
    assert.equal(modeApiBaseUrl(undefined, { MODE_API_URL: '' }), 'http://127.0.0.1:3000');
    assert.equal(modeApiBaseUrl(undefined, { MODE_API_URL: 'http://h:1/' }), 'http://h:1');
    assert.equal(modeApiBaseUrl('https://x.execute-api.us-east-1.amazonaws.com/dev', { MODE_API_URL: 'http://h:1' }), 'https://x.execute-api.us-east-1.amazonaws.com/dev');
    assert.equal(modeApiBaseUrl('http://127.0.0.1:3000/mode', {}), 'http://127.0.0.1:3000');
    assert.throws(() => modeApiBaseUrl('not a url', {}), ModeApiError);
    assert.throws(() => modeApiBaseUrl('ftp://h', {}), /http or https/);
  });
});
