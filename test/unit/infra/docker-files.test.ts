/**
 * The Docker side, checked without a Docker engine (none runs here): docker-compose.yml is valid
 * for the docker-compose binary and wires what the README promises; infra/Dockerfile has the
 * essentials (hadolint is not packaged for Debian or npm, so this test checks them itself); the
 * LocalStack init hook creates the resources under the names the code expects.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { resolveConfig } from '../../../lib/config.ts';
import { TABLE_PARTITION_KEY } from '../../../infra/bootstrap.ts';
import { commandAvailable, exec } from '../../support/commands.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const read = (name: string): string => readFileSync(`${ROOT}/${name}`, 'utf8');
const defaults = resolveConfig({}, {}, ROOT);

interface ComposeService {
  image?: string;
  ports?: string[];
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}

const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> };

void describe('docker-compose.yml', () => {
  void it('is accepted by `docker-compose config` (static validation; no engine is needed)', async (t) => {
    if (!(await commandAvailable('docker-compose', ['version']))) {
      t.skip('the docker-compose binary is not installed (apt-get install -y docker-compose; .ci/run does it as root)');
      return;
    }
    // An error in the file (bad key, bad interpolation, bad merge) makes `config` exit non-zero.
    const { stdout } = await exec('docker-compose', ['-f', 'docker-compose.yml', 'config', '--services'], { cwd: ROOT });
    assert.deepEqual(stdout.trim().split('\n').sort(), ['consumer', 'feed', 'localstack', 'replayer']);
  });

  void it('runs LocalStack with the services the stack and a deployment need, and the init hook', () => {
    const localstack = compose.services.localstack;
    assert.ok(localstack !== undefined);
    const services = (localstack.environment?.SERVICES ?? '').split(',');
    for (const needed of ['kinesis', 'dynamodb', 'apigateway', 'lambda', 'cloudformation', 'iam', 's3', 'sts', 'logs', 'sqs']) {
      assert.ok(services.includes(needed), `SERVICES lacks ${needed}`);
    }
    assert.equal(localstack.environment?.KINESIS_LATENCY, '0');
    assert.ok(localstack.volumes?.some((v) => /^\.\/infra\/localstack-init\.sh:\/etc\/localstack\/init\/ready\.d\/[\w.-]+\.sh(:ro)?$/.test(v)));
    assert.ok(localstack.healthcheck?.test.join(' ').includes('/_localstack/init/ready'));
  });

  void it('pins the last LocalStack image that starts without an auth token, still overridable by LOCALSTACK_IMAGE', () => {
    // `latest` exits with code 55 at start without LOCALSTACK_AUTH_TOKEN since 2026-03-23.
    assert.equal(compose.services.localstack?.image, '${LOCALSTACK_IMAGE:-localstack/localstack:4.14.0}');
  });

  void it('publishes every port on 127.0.0.1 only', () => {
    const published = Object.entries(compose.services).flatMap(([name, service]) => (service.ports ?? []).map((port) => [name, port] as const));
    assert.deepEqual(published.map(([name]) => name).sort(), ['feed', 'localstack', 'replayer', 'replayer']);
    for (const [name, port] of published) assert.match(port, /^127\.0\.0\.1:\d+:\d+$/, `${name} publishes ${port}`);
    assert.deepEqual(compose.services.replayer?.ports, ['127.0.0.1:3000:3000', '127.0.0.1:3001:3001'], 'the mode API and the dashboard');
  });

  void it('tells the servers bound beyond the container loopback the names other services call them by', () => {
    assert.equal(compose.services.feed?.environment?.ALLOWED_HOSTS, 'feed', 'the replayer connects to ws://feed:8765');
    assert.ok(compose.services.replayer?.command?.includes('ws://feed:8765'));
    assert.equal(compose.services.replayer?.environment?.ALLOWED_HOSTS, 'replayer');
    const command = compose.services.replayer?.command ?? [];
    assert.equal(command[command.indexOf('--host') + 1], '0.0.0.0', 'the mode API and dashboard listen beyond the container loopback, to be published');
    // Everything else of the shared environment is kept (the merge key did not replace it).
    for (const name of ['feed', 'replayer']) assert.equal(compose.services[name]?.environment?.AWS_ENDPOINT_URL, 'http://localstack:4566', name);
  });

  void it('builds the replayer, feed and consumer from the one infra/Dockerfile, with ./output mounted', () => {
    for (const name of ['replayer', 'feed', 'consumer']) {
      const service = compose.services[name];
      assert.ok(service !== undefined, name);
      assert.deepEqual(service.build, { context: '.', dockerfile: 'infra/Dockerfile' }, name);
      assert.ok(service.volumes?.includes('./output:/app/output'), `${name} mounts ./output`);
      assert.equal(service.environment?.AWS_ENDPOINT_URL, 'http://localstack:4566', name);
      assert.equal(service.environment?.STREAM_NAME, defaults.streamName, name);
      assert.equal(service.environment?.TABLE_NAME, defaults.tableName, name);
    }
    assert.equal(compose.services.replayer?.command?.[0], 'up');
    assert.equal(compose.services.feed?.command?.[0], 'feed');
    assert.ok(compose.services.feed?.command?.includes('0.0.0.0'), 'the feed listens beyond the container loopback');
    assert.equal(compose.services.consumer?.command?.[0], 'consume');
    assert.equal(compose.services.replayer?.depends_on?.localstack?.condition, 'service_healthy');
  });
});

void describe('infra/Dockerfile', () => {
  const lines = read('infra/Dockerfile')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const instructions = lines.filter((l) => /^[A-Z]+\s/.test(l));

  void it('is a Node 20 image that installs from the lock file and runs the CLI as a non-root user', () => {
    assert.match(instructions[0] ?? '', /^FROM node:20[\w.-]*$/);
    assert.ok(lines.some((l) => l.includes('npm ci --omit=dev')), 'npm ci from package-lock.json, runtime dependencies only');
    const users = instructions.filter((l) => l.startsWith('USER '));
    assert.equal(users.at(-1), 'USER node');
    assert.equal(instructions.find((l) => l.startsWith('ENTRYPOINT ')), 'ENTRYPOINT ["node", "bin/tick-replay.js"]');
  });

  void it('copies everything the CLI needs at run time, and it all exists', () => {
    const copied = instructions
      .filter((l) => l.startsWith('COPY '))
      .flatMap((l) => l.replace(/^COPY\s+(--\S+\s+)*/, '').split(/\s+/).slice(0, -1));
    for (const needed of ['package.json', 'package-lock.json', 'bin', 'lib', 'functions', 'infra', 'data', 'serverless.yml']) {
      assert.ok(copied.includes(needed), `COPY ${needed}`);
    }
    for (const source of copied) assert.ok(statSync(`${ROOT}/${source}`, { throwIfNoEntry: false }) !== undefined, `${source} exists`);
  });
});

void describe('infra/localstack-init.sh', () => {
  const script = read('infra/localstack-init.sh');

  void it('is an executable bash script that stops on the first error', () => {
    assert.ok(script.startsWith('#!/bin/bash\n'));
    assert.match(script, /^set -euo pipefail$/m);
    assert.ok((statSync(`${ROOT}/infra/localstack-init.sh`).mode & 0o111) !== 0, 'executable (LocalStack runs it directly)');
  });

  void it('creates the stream and the table under the default names, with the key bootstrap expects', () => {
    assert.ok(script.includes(`STREAM_NAME="\${STREAM_NAME:-${defaults.streamName}}"`));
    assert.ok(script.includes(`TABLE_NAME="\${TABLE_NAME:-${defaults.tableName}}"`));
    assert.match(script, /awslocal kinesis create-stream --stream-name "\$STREAM_NAME"/);
    assert.ok(script.includes(`AttributeName=${TABLE_PARTITION_KEY},KeyType=HASH`));
  });

  void it('is valid bash', async () => {
    await exec('bash', ['-n', `${ROOT}/infra/localstack-init.sh`]);
  });
});
