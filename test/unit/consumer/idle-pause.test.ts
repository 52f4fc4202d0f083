import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { idlePause } from '../../../lib/consumer/mapping-pages.ts';

describe('idlePause', () => {
  it('stays short for the first five empty polls in a row, then doubles up to the configured bound', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((n) => idlePause(n, 200)), [10, 10, 10, 10, 10, 20, 40, 80, 160, 200, 200]);
  });

  it('never waits longer than the bound, however long the shard stays idle', () => {
    assert.equal(idlePause(1_000, 200), 200);
    assert.equal(idlePause(1, 5), 5);
  });
});
