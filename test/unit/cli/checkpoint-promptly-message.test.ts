import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CHECKPOINT_PROMPTLY, isCheckpointPromptly } from '../../../lib/cli/consumer-workers.ts';

describe('the supervisor → worker "checkpoint promptly" message', () => {
  it('is recognised after a round trip through JSON (what the IPC channel does to it)', () => {
    assert.equal(isCheckpointPromptly(JSON.parse(JSON.stringify(CHECKPOINT_PROMPTLY))), true);
  });

  it('is not mistaken for any other message', () => {
    for (const other of [undefined, null, 'checkpoint-promptly', 1, {}, { type: 'stop' }, { kind: 'checkpoint-promptly' }, ['checkpoint-promptly']]) {
      assert.equal(isCheckpointPromptly(other), false, JSON.stringify(other));
    }
  });
});
