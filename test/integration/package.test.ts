/**
 * `osls package` offline, with no AWS credentials: the CloudFormation template holds what the
 * issue asks of the AWS deployment, the artefact holds the bundled ESM handlers, and cfn-lint
 * (when installed) finds nothing to say.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { commandAvailable, exec } from '../support/commands.ts';
import { runOsls } from '../support/osls.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}

/** The file names in a zip's central directory (enough to check an artefact's contents). */
function zipEntries(zip: Buffer): string[] {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(end >= 0, 'not a zip file (no end of central directory)');
  const count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    assert.equal(zip.readUInt32LE(offset), 0x02014b50, 'bad central directory entry');
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    names.push(zip.toString('utf8', offset + 46, offset + 46 + nameLength));
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return names;
}

void describe('osls package (stage dev, no credentials)', () => {
  let tmp: TempDir;
  let template: { Resources: Record<string, Resource> };
  let templateFile: string;

  before(async () => {
    tmp = await makeTempDir();
    const result = await runOsls(['package', '--package', tmp.join('package')]);
    assert.equal(result.code, 0, `osls package failed:\n${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`);
    templateFile = tmp.join('package', 'cloudformation-template-update-stack.json');
    template = JSON.parse(await readFile(templateFile, 'utf8')) as typeof template;
  });

  after(async () => {
    await tmp?.remove();
  });

  const ofType = (type: string): Resource[] => Object.values(template.Resources).filter((r) => r.Type === type);

  void it('declares the stream, the state table and the failure queue under the names lib/config.ts reads', () => {
    assert.deepEqual(
      ofType('AWS::Kinesis::Stream').map((r) => [r.Properties.Name, r.Properties.ShardCount]),
      [['tick-replay-quotes', 4]],
    );
    const [table] = ofType('AWS::DynamoDB::Table');
    assert.equal(table?.Properties.TableName, 'tick-replay-state');
    assert.deepEqual(table?.Properties.KeySchema, [{ AttributeName: 'pk', KeyType: 'HASH' }]);
    assert.equal(ofType('AWS::SQS::Queue').length, 1);
    for (const fn of ofType('AWS::Lambda::Function')) {
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      assert.equal(variables.STREAM_NAME, 'tick-replay-quotes');
      assert.equal(variables.TABLE_NAME, 'tick-replay-state');
      assert.equal(variables.OUTPUT_DIR, '/tmp/output');
      assert.equal(fn.Properties.Runtime, 'nodejs24.x');
    }
  });

  void it('declares both functions, the Kinesis mapping with ReportBatchItemFailures and the REST methods', () => {
    const handlers = ofType('AWS::Lambda::Function').map((r) => r.Properties.Handler).sort();
    assert.deepEqual(handlers, ['functions/mid-price.handler', 'functions/mode.handler']);
    const [mapping] = ofType('AWS::Lambda::EventSourceMapping');
    assert.ok(mapping !== undefined, 'an event source mapping');
    const p = mapping.Properties;
    assert.deepEqual(p.EventSourceArn, { 'Fn::GetAtt': ['QuotesStream', 'Arn'] });
    assert.deepEqual(p.FunctionResponseTypes, ['ReportBatchItemFailures']);
    assert.equal(p.BisectBatchOnFunctionError, true);
    assert.equal(p.BatchSize, 100);
    assert.equal(p.StartingPosition, 'LATEST');
    assert.ok(typeof p.MaximumRetryAttempts === 'number' && typeof p.ParallelizationFactor === 'number');
    assert.deepEqual(p.DestinationConfig, { OnFailure: { Destination: { 'Fn::GetAtt': ['MidPriceFailuresQueue', 'Arn'] } } });
    assert.equal(ofType('AWS::ApiGateway::RestApi').length, 1);
    assert.deepEqual(ofType('AWS::ApiGateway::Resource').map((r) => r.Properties.PathPart), ['mode']);
    assert.deepEqual(ofType('AWS::ApiGateway::Method').map((r) => r.Properties.HttpMethod).sort(), ['GET', 'POST']);
  });

  void it('packs the bundled handlers as ES modules', async () => {
    const names = zipEntries(await readFile(tmp.join('package', 'tick-replay.zip')));
    for (const name of ['functions/mid-price.js', 'functions/mode.js', 'functions/package.json']) assert.ok(names.includes(name), `${name} in ${names.join(', ')}`);
    assert.ok(!names.some((n) => n.endsWith('.ts') || n.startsWith('node_modules/')), 'only bundles: no sources, no node_modules');
  });

  void it('passes cfn-lint', async (t) => {
    if (!(await commandAvailable('cfn-lint'))) {
      t.skip('cfn-lint is not installed (pip install cfn-lint)');
      return;
    }
    // cfn-lint exits non-zero with the findings on stdout when there are any.
    const { stdout } = await exec('cfn-lint', [templateFile]).catch((error: { stdout?: string; code?: number }) => {
      assert.fail(`cfn-lint found problems (exit ${String(error.code)}):\n${error.stdout ?? ''}`);
    });
    assert.equal(stdout.trim(), '');
  });
});
