import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstFailureIndex } from '../../../lib/consumer/mapping-pages.ts';

const records = ['10', '11', '12', '13'].map((SequenceNumber) => ({ SequenceNumber }));

describe('firstFailureIndex (ReportBatchItemFailures semantics)', () => {
  it('treats no response or an empty failure list as success', () => {
    assert.equal(firstFailureIndex(undefined, records), undefined);
    assert.equal(firstFailureIndex({ batchItemFailures: [] }, records), undefined);
  });

  it('retries from the lowest reported record', () => {
    assert.equal(firstFailureIndex({ batchItemFailures: [{ itemIdentifier: '13' }, { itemIdentifier: '11' }] }, records), 1);
  });

  it('retries the whole batch for an empty or unknown identifier, as Lambda does', () => {
    assert.equal(firstFailureIndex({ batchItemFailures: [{ itemIdentifier: '' }] }, records), 0);
    assert.equal(firstFailureIndex({ batchItemFailures: [{ itemIdentifier: '99' }, { itemIdentifier: '12' }] }, records), 0);
  });
});
