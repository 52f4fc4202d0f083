import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEvent, KinesisStreamEvent } from 'aws-lambda';
import { sampleEvents } from '../../../functions/events/generate.ts';
import { parseModeRequest } from '../../../lib/control/mode-request.ts';
import { processBatch } from '../../../lib/midprice/process-batch.ts';
import { decodeQuote, RecordDecodeError } from '../../../lib/records/quote-record.ts';

function committed(name: string): string {
  return readFileSync(new URL(`../../../functions/events/${name}`, import.meta.url), 'utf8');
}

void describe('functions/events (the invoke local samples)', () => {
  void it('are exactly what functions/events/generate.ts produces', () => {
    for (const [name, text] of Object.entries(sampleEvents())) {
      assert.ok(committed(name) === text, `${name} differs: regenerate with \`npm run events:generate\``);
    }
  });

  void it('hold a Kinesis batch of historical and live quotes, one over the threshold, one malformed', () => {
    const event = JSON.parse(committed('kinesis-batch.json')) as KinesisStreamEvent;
    const modes: string[] = [];
    let malformed = 0;
    for (const record of event.Records) {
      const data = Buffer.from(record.kinesis.data, 'base64');
      try {
        const { quote } = decodeQuote(data);
        assert.equal(record.kinesis.partitionKey, quote.ticker, 'partition key = ticker');
        modes.push(quote.mode);
      } catch (error) {
        if (!(error instanceof RecordDecodeError)) throw error;
        malformed++;
      }
    }
    assert.deepEqual(modes, ['historical', 'historical', 'historical', 'live', 'live']);
    assert.equal(malformed, 1);

    const result = processBatch(
      event.Records.map((r) => ({ id: r.kinesis.sequenceNumber, partitionKey: r.kinesis.partitionKey, data: Buffer.from(r.kinesis.data, 'base64') })),
      20,
    );
    assert.deepEqual(result.midLines, [
      '2025-01-02 14:30:00.039, 243.125',
      '2025-01-02 14:30:00.120, 0.15',
      '2025-01-02 14:32:00.000, 220.405',
      '2025-01-02 14:32:00.250, 243.13',
    ]);
    assert.deepEqual(result.errorLines, ['No mid price at 2025-01-02 14:30:00.201 as latency 35ms is bigger than 20ms']);
    assert.equal(result.deadLetters, 1);
  });

  void it('hold REST (v1) requests for POST /mode and GET /mode that the mode handler accepts', () => {
    const live = JSON.parse(committed('mode-post-live.json')) as APIGatewayProxyEvent;
    const historical = JSON.parse(committed('mode-post-historical.json')) as APIGatewayProxyEvent;
    const get = JSON.parse(committed('mode-get.json')) as APIGatewayProxyEvent;
    assert.deepEqual([live.httpMethod, live.resource, live.path], ['POST', '/mode', '/mode']);
    assert.deepEqual(parseModeRequest(live.body, false), { ok: true, mode: 'live', fromStart: false });
    assert.deepEqual(parseModeRequest(historical.body, false), { ok: true, mode: 'historical', fromStart: false });
    assert.deepEqual([get.httpMethod, get.body], ['GET', null]);
  });
});
