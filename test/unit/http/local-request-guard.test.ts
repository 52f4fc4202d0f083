/**
 * The rules every local server applies (lib/http): which Host names, which origins, and what a
 * state-changing request must carry. Pure functions, then the guard on a real server.
 */
import assert from 'node:assert/strict';
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../lib/errors.ts';
import { formatAllowedHosts, isAllowedHost, isSameOrigin, parseAllowedHosts, parseHostName } from '../../../lib/http/allowed-hosts.ts';
import { checkLocalRequest, guardServer } from '../../../lib/http/local-request-guard.ts';
import { urlHost } from '../../../lib/http/local-url.ts';
import { hasSigV4Authorization, isJsonMediaType, sigV4AccessKey } from '../../../lib/http/state-change.ts';

const SIGV4 = 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=00';

describe('allowed hosts', () => {
  it('answers loopback names at the server port only', () => {
    for (const host of ['127.0.0.1:3000', 'localhost:3000', 'LOCALHOST:3000', '[::1]:3000']) assert.ok(isAllowedHost(host, 3000), host);
    for (const host of ['evil.example:3000', 'evil.example', '127.0.0.1:3001', 'localhost', '127.0.0.2:3000', '0.0.0.0:3000', '127.0.0.1.evil.example:3000', 'localhost.:3000']) {
      assert.ok(!isAllowedHost(host, 3000), host);
    }
    assert.ok(isAllowedHost('localhost', 80), 'no port in Host means port 80');
    assert.ok(!isAllowedHost(undefined, 3000), 'no Host at all');
    for (const garbage of ['', ' ', 'a b:3000', 'localhost:3000:1', 'localhost:99999', 'local_host:3000', 'localhost:3000/x']) assert.ok(!isAllowedHost(garbage, 3000), garbage);
  });

  it('adds the ALLOWED_HOSTS names: a bare name at any port, name:port at that port', () => {
    const allowedHosts = parseAllowedHosts('feed, replayer:3000 [fd00::1]');
    assert.deepEqual(allowedHosts, [
      { name: 'feed', port: undefined },
      { name: 'replayer', port: 3000 },
      { name: '[fd00::1]', port: undefined },
    ]);
    assert.equal(formatAllowedHosts(allowedHosts), 'feed,replayer:3000,[fd00::1]');
    assert.ok(isAllowedHost('feed:8765', 8765, { allowedHosts }));
    assert.ok(isAllowedHost('feed:18765', 8765, { allowedHosts }), 'a published port may differ from the one inside the container');
    assert.ok(isAllowedHost('replayer:3000', 3000, { allowedHosts }));
    assert.ok(!isAllowedHost('replayer:3001', 3001, { allowedHosts }));
    assert.ok(!isAllowedHost('feeds:8765', 8765, { allowedHosts }));
    assert.deepEqual(parseAllowedHosts(''), []);
    assert.deepEqual(parseAllowedHosts(undefined), []);
    assert.throws(() => parseAllowedHosts('feed,http://x'), (e: unknown) => e instanceof ConfigError && /ALLOWED_HOSTS .*"http:\/\/x" is not one/.test(e.message));
  });

  it('accepts name suffixes at the server port (LocalStack names on the edge)', () => {
    const policy = { allowedSuffixes: ['.localhost.localstack.cloud'] };
    assert.ok(isAllowedHost('abc123.execute-api.localhost.localstack.cloud:4566', 4566, policy));
    assert.ok(isAllowedHost('localhost.localstack.cloud:4566', 4566, policy));
    assert.ok(!isAllowedHost('abc.execute-api.localhost.localstack.cloud:4567', 4566, policy));
    assert.ok(!isAllowedHost('localhost.localstack.cloud.evil.example:4566', 4566, policy));
    assert.ok(!isAllowedHost('evillocalhost.localstack.cloud:4566', 4566, policy));
  });

  it('parses Host headers, IPv6 included', () => {
    assert.deepEqual(parseHostName('[::1]:4566'), { name: '[::1]', port: 4566 });
    assert.deepEqual(parseHostName('Example.COM'), { name: 'example.com', port: undefined });
    assert.equal(parseHostName('::1'), undefined);
  });

  it('knows a request’s own origin', () => {
    assert.ok(isSameOrigin('http://127.0.0.1:3001', '127.0.0.1:3001'));
    assert.ok(isSameOrigin('http://localhost:3001', 'LOCALHOST:3001'));
    for (const origin of ['https://evil.example', 'http://127.0.0.1:3000', 'https://127.0.0.1:3001', 'null', 'http://127.0.0.1:3001/x', '']) {
      assert.ok(!isSameOrigin(origin, '127.0.0.1:3001'), origin);
    }
  });

  it('puts a wildcard bind address in URLs as 127.0.0.1', () => {
    assert.equal(urlHost('0.0.0.0'), '127.0.0.1');
    assert.equal(urlHost('::'), '127.0.0.1');
    assert.equal(urlHost('::1'), '[::1]');
    assert.equal(urlHost('127.0.0.1'), '127.0.0.1');
  });
});

describe('state-changing requests', () => {
  it('recognise JSON media types and SigV4 signatures', () => {
    for (const type of ['application/json', 'Application/JSON; charset=utf-8', 'application/x-amz-json-1.1', 'application/x-amz-json-1.0', 'application/problem+json']) assert.ok(isJsonMediaType(type), type);
    for (const type of [undefined, '', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/json', 'application/jsonx']) assert.ok(!isJsonMediaType(type), String(type));
    assert.ok(hasSigV4Authorization(SIGV4));
    assert.ok(!hasSigV4Authorization('Bearer x'));
    assert.equal(sigV4AccessKey(SIGV4), 'test');
    assert.equal(sigV4AccessKey('Basic dGVzdA=='), undefined);
  });
});

describe('checkLocalRequest', () => {
  const check = (method: string, headers: IncomingHttpHeaders, localPort = 3000): number | undefined => checkLocalRequest({ method, headers, localPort })?.status;

  it('refuses a foreign Host with 421, a foreign Origin with 403, a simple state change with 415', () => {
    assert.equal(check('GET', { host: 'evil.example:3000' }), 421);
    assert.equal(check('GET', {}), 421);
    assert.equal(check('OPTIONS', { host: '127.0.0.1:3000', origin: 'https://evil.example', 'access-control-request-method': 'POST' }), 403);
    assert.equal(check('GET', { host: '127.0.0.1:3000', origin: 'https://evil.example' }), 403);
    assert.equal(check('POST', { host: '127.0.0.1:3000', 'content-type': 'text/plain' }), 415);
    assert.equal(check('POST', { host: '127.0.0.1:3000', 'content-type': 'application/x-www-form-urlencoded' }), 415);
    assert.equal(check('POST', { host: '127.0.0.1:3000' }), 415, 'no content type at all (a no-cors fetch of a Blob)');
    assert.equal(check('DELETE', { host: '127.0.0.1:3000' }), 415);
  });

  it('lets the user’s own requests through', () => {
    assert.equal(check('GET', { host: '127.0.0.1:3000' }), undefined);
    assert.equal(check('POST', { host: 'localhost:3000', 'content-type': 'application/json' }), undefined, 'curl --json');
    assert.equal(check('POST', { host: '127.0.0.1:3000', 'content-type': 'application/x-amz-json-1.1', authorization: SIGV4 }), undefined, 'an AWS SDK');
    assert.equal(check('POST', { host: '127.0.0.1:3000', authorization: SIGV4 }), undefined, 'signed, any body');
    assert.equal(check('POST', { host: '127.0.0.1:3000', origin: 'http://127.0.0.1:3000', 'content-type': 'application/json' }), undefined, 'same origin');
  });

  it('names what it accepts in the 421 message', () => {
    const refusal = checkLocalRequest({ method: 'GET', headers: { host: 'evil.example' }, localPort: 3000 }, { allowedHosts: parseAllowedHosts('feed') });
    assert.match(refusal?.message ?? '', /127\.0\.0\.1, localhost or \[::1\] at port 3000 or feed, not Host "evil\.example"; add the name to ALLOWED_HOSTS/);
  });
});

describe('guardServer', () => {
  it('checks every request before the server’s own listeners, and never echoes the Origin', async () => {
    let reached = 0;
    const server = createServer((_req, res) => {
      reached++;
      res.writeHead(200, { 'access-control-allow-origin': '*' }).end('ok');
    });
    guardServer(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const send = (headers: Record<string, string>, method = 'GET'): Promise<{ status: number; allowOrigin: unknown }> =>
      new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, method, path: '/', headers }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, allowOrigin: res.headers['access-control-allow-origin'] }));
        });
        req.on('error', reject);
        req.end(method === 'POST' ? 'x' : undefined);
      });
    try {
      assert.deepEqual(await send({ host: 'evil.example' }), { status: 421, allowOrigin: undefined });
      assert.deepEqual(await send({ host: `127.0.0.1:${port}`, origin: 'https://evil.example', 'access-control-request-method': 'POST' }, 'OPTIONS'), { status: 403, allowOrigin: undefined });
      assert.deepEqual(await send({ host: `127.0.0.1:${port}`, 'content-type': 'text/plain' }, 'POST'), { status: 415, allowOrigin: undefined });
      assert.equal(reached, 0, 'no refused request reached the server');
      assert.equal((await send({ host: `localhost:${port}` })).status, 200);
      assert.equal(reached, 1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
