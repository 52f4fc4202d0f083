import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveAggregate } from '../../lib/config.ts';
import { ConfigError } from '../../lib/errors.ts';

describe('resolveAggregate', () => {
  it('takes the flag, else AGGREGATE, else false, and refuses other values', () => {
    assert.equal(resolveAggregate({}), false);
    assert.equal(resolveAggregate({}, true), true);
    assert.equal(resolveAggregate({ AGGREGATE: 'true' }), true);
    assert.equal(resolveAggregate({ AGGREGATE: ' 1 ' }), true);
    assert.equal(resolveAggregate({ AGGREGATE: 'false' }, true), true);
    assert.equal(resolveAggregate({ AGGREGATE: 'no' }), false);
    assert.throws(() => resolveAggregate({ AGGREGATE: 'maybe' }), (e: unknown) => e instanceof ConfigError && /AGGREGATE/.test(e.message));
  });
});
