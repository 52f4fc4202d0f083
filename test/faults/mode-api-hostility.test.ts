/**
 * The mode API under hostile input: thousands of generated bodies (test/support/hostile-bodies.ts)
 * and odd methods through the real handler and a real ControlStore on the embedded DynamoDB,
 * with valid requests interleaved. Only the valid ones change the mode (the version moves by
 * exactly one for each); everything else is a 4xx JSON answer, never a 5xx.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import { modeEvent } from '../support/api-gateway-event.ts';
import { mulberry32 } from '../../data/generate.ts';
import { createModeHandler, type ModeHandler } from '../../functions/mode.ts';
import { createLocalContext } from '../../lib/consumer/lambda-context.ts';
import { ControlStore } from '../../lib/control/control-store.ts';
import { hostileModeBodies } from '../support/hostile-bodies.ts';
import { startFaultStack, type FaultStack } from './support/stack.ts';

const TABLE = 'mode-hostility';


describe('mode API hostility', () => {
  let env: FaultStack;
  let store: ControlStore;
  let handler: ModeHandler;

  before(async () => {
    env = await startFaultStack();
    await env.createStream('mode-hostility', 1, TABLE);
    store = new ControlStore(env.direct.dynamodb, TABLE);
    handler = createModeHandler({ store, logger: new Logger({ serviceName: 'mode-hostility', logLevel: 'SILENT' }) });
  });

  after(async () => {
    await env.stop();
  });

  it('changes the mode only for valid bodies; thousands of hostile ones get a 4xx, never a 5xx', async () => {
    const random = mulberry32(5_005);
    const hostile = hostileModeBodies(random, 10);
    assert.ok(hostile.length >= 3_000, `generated ${hostile.length} bodies`);
    const valid = ['{"mode":"live"}', '{"mode":"historical"}', '{"mode":"historical","from":"start"}'];
    const context = createLocalContext('mode', 'us-east-1');
    const statuses = new Map<number, number>();
    let expectedVersion = (await store.getMode()).version;
    for (let i = 0; i < hostile.length; i++) {
      const { body, base64 } = hostile[i] as (typeof hostile)[number];
      const result = await handler(modeEvent('POST', body, base64), context);
      statuses.set(result.statusCode, (statuses.get(result.statusCode) ?? 0) + 1);
      const shown = body === null ? 'null' : JSON.stringify(body.slice(0, 60));
      assert.ok(result.statusCode >= 400 && result.statusCode < 500, `status ${result.statusCode} for ${shown}`);
      const answer = JSON.parse(result.body) as { error?: unknown; message?: unknown };
      assert.ok(typeof answer.error === 'string' && typeof answer.message === 'string', `JSON error answer for ${shown}`);
      // Every 100 hostile bodies, a valid request: it must land, and exactly once.
      if (i % 100 === 99) {
        const request = valid[Math.floor(random() * valid.length)] as string;
        const ok = await handler(modeEvent('POST', request, false), context);
        assert.equal(ok.statusCode, 200, `valid ${request}`);
        expectedVersion++;
        const control = await store.getMode();
        assert.equal(control.version, expectedVersion, 'one version per valid request');
        assert.equal(control.mode, (JSON.parse(request) as { mode: string }).mode);
      }
    }
    // The hostile bodies in between changed nothing.
    assert.equal((await store.getMode()).version, expectedVersion);
    for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'post', '', 'GET\r\nX: y']) {
      const result = await handler(modeEvent(method, '{"mode":"live"}', false), context);
      assert.ok(result.statusCode >= 400 && result.statusCode < 500, `${JSON.stringify(method)} answered ${result.statusCode}`);
    }
    assert.equal((await store.getMode()).version, expectedVersion, 'no other method changed the mode');
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
    process.stdout.write(`# hostile bodies ${hostile.length}, statuses ${JSON.stringify(Object.fromEntries(statuses))}\n`);
  });
});
