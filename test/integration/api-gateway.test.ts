/**
 * The README's API Gateway commands, as written for LocalStack, run with the real `aws` CLI (v1)
 * and curl against the default stack: a fresh `tick-replay up` on free ports. test-invoke-method
 * flips the mode to live, a JSON POST to the invoke URL flips it back, and `tick-replay status`
 * (the mode API, another process) agrees each time, the replayer included.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { commandAvailable, exec } from '../support/commands.ts';
import { waitUntil } from '../support/processes.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';
import { startUpProcess, type UpProcess } from '../support/up-process.ts';
import { embeddedChildEnv } from '../support/aws-env.ts';

/** The AWS CLI with LocalStack's dummy credentials and nothing from this machine's AWS config. */
const AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_CONFIG_FILE: '/nonexistent',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
  AWS_PAGER: '',
};

/** The README's commands ("Deploying to LocalStack"), with the endpoint as a variable. */
const README_COMMANDS = `
set -euo pipefail
API_ID=$(aws --endpoint-url "$ENDPOINT" apigateway get-rest-apis \\
  --query "items[?name=='local-tick-replay'].id" --output text)
RESOURCE_ID=$(aws --endpoint-url "$ENDPOINT" apigateway get-resources --rest-api-id "$API_ID" \\
  --query "items[?path=='/mode'].id" --output text)
echo "API_ID=$API_ID RESOURCE_ID=$RESOURCE_ID"
aws --endpoint-url "$ENDPOINT" apigateway test-invoke-method --rest-api-id "$API_ID" \\
  --resource-id "$RESOURCE_ID" --http-method POST --path-with-query-string /mode --body '{"mode":"live"}'
`;

interface Status {
  mode: string;
  version: number;
  status: { mode: string; appliedVersion: number } | null;
}

async function bash(script: string, env: Record<string, string>): Promise<string> {
  const { stdout } = await exec('bash', ['-c', script], { env: embeddedChildEnv({ ...AWS_ENV, ...env }), timeout: 60_000 });
  return stdout;
}

async function tickReplayStatus(apiUrl: string): Promise<Status> {
  const { stdout } = await exec(process.execPath, ['bin/tick-replay.js', 'status', '--api', apiUrl], { env: embeddedChildEnv(), timeout: 30_000 });
  return JSON.parse(stdout) as Status;
}

/** `tick-replay status` until the replayer has applied `version` in `mode`. */
async function statusAgrees(apiUrl: string, mode: string, version: number): Promise<Status> {
  let last: Status | undefined;
  await waitUntil(
    `tick-replay status showing ${mode} (version ${version}) applied`,
    async () => {
      last = await tickReplayStatus(apiUrl);
      return last.mode === mode && last.version === version && last.status?.mode === mode && last.status.appliedVersion === version;
    },
    30_000,
  );
  return last as Status;
}

describe('API Gateway on the embedded stack (aws CLI)', async () => {
  const missing = [];
  for (const tool of ['aws', 'curl']) if (!(await commandAvailable(tool))) missing.push(tool);
  const skip = missing.length > 0 ? `${missing.join(' and ')} not installed` : false;
  let tmp: TempDir;
  let up: UpProcess | undefined;

  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    up?.kill();
    await tmp.remove();
  });

  it('runs the README commands against a fresh `tick-replay up`; tick-replay status agrees after each flip', { skip, timeout: 180_000 }, async () => {
    up = startUpProcess({ outDir: tmp.join('out'), stateDir: tmp.join('state'), speed: '1' });
    const { apiUrl, endpointUrl } = await up.ready;
    const port = new URL(endpointUrl).port;
    // The README says localhost; the edge answers either name.
    const env = { ENDPOINT: `http://localhost:${port}` };

    const listed = JSON.parse(await bash('aws --endpoint-url "$ENDPOINT" apigateway get-rest-apis', env)) as { items: Array<{ id: string; name: string }> };
    assert.deepEqual(listed.items.map((a) => a.name), ['local-tick-replay']);
    const apiId = listed.items[0]?.id ?? '';
    const stages = JSON.parse(await bash(`aws --endpoint-url "$ENDPOINT" apigateway get-stages --rest-api-id ${apiId}`, env)) as { item: Array<{ stageName: string }> };
    assert.deepEqual(stages.item.map((s) => s.stageName), ['local']);
    const resources = JSON.parse(await bash(`aws --endpoint-url "$ENDPOINT" apigateway get-resources --rest-api-id ${apiId}`, env)) as { items: Array<{ path: string }> };
    assert.deepEqual(resources.items.map((r) => r.path), ['/', '/mode']);

    const before = await tickReplayStatus(apiUrl);
    assert.equal(before.mode, 'historical');
    const out = await bash(README_COMMANDS, env);
    const ids = /API_ID=(\S+) RESOURCE_ID=(\S+)/.exec(out);
    assert.equal(ids?.[1], apiId);
    const invoked = JSON.parse(out.slice(out.indexOf('{'))) as { status: number; body: string; headers: Record<string, string> };
    assert.equal(invoked.status, 200, out);
    assert.equal(invoked.headers['content-type'], 'application/json');
    const answer = JSON.parse(invoked.body) as { mode: string; version: number };
    assert.deepEqual([answer.mode, answer.version], ['live', before.version + 1]);
    await statusAgrees(apiUrl, 'live', before.version + 1);

    // The README's curl, on the invoke URL: JSON flips it back.
    const back = JSON.parse(await bash(`curl -sS --fail-with-body --json '{"mode":"historical"}' "$ENDPOINT/restapis/${apiId}/local/_user_request_/mode"`, env)) as { mode: string; version: number };
    assert.deepEqual([back.mode, back.version], ['historical', before.version + 2]);
    await statusAgrees(apiUrl, 'historical', before.version + 2);

    // LocalStack's other invoke URL form reaches the same handler (name resolved here, no DNS).
    const host = `${apiId}.execute-api.localhost.localstack.cloud:${port}`;
    const viaHost = JSON.parse(await bash(`curl -sS --fail-with-body --resolve ${host}:127.0.0.1 "http://${host}/local/mode"`, env)) as Status;
    assert.deepEqual([viaHost.mode, viaHost.version], ['historical', before.version + 2]);

    // A form post to the invoke URL is refused and changes nothing.
    const form = await bash(`curl -sS -o /dev/null -w '%{http_code}' -d 'mode=live' "$ENDPOINT/restapis/${apiId}/local/_user_request_/mode"`, env);
    assert.equal(form, '415');
    // Other operations: a clear error from the CLI, not a silent success.
    await assert.rejects(bash('aws --endpoint-url "$ENDPOINT" apigateway create-rest-api --name other', env), (error: { code?: number; stderr?: string }) => {
      assert.equal(error.code, 255);
      assert.match(error.stderr ?? '', /NotImplementedException.*CreateRestApi.*not supported by the embedded stack/);
      return true;
    });
    assert.equal((await tickReplayStatus(apiUrl)).version, before.version + 2, 'nothing else changed the mode');

    up.child.kill('SIGINT');
    assert.equal(await up.exited, 0, up.stderr().slice(-3000));
  });
});
