/**
 * `osls package` offline, with no AWS credentials: the CloudFormation template holds what the
 * issue asks of the AWS deployment (the data plane, the protected mode API, one least-privilege
 * role per function and for the replayer task, encryption, recovery, alarms, the Fargate task),
 * the artefact holds the bundled ESM handlers, and cfn-lint (when installed) finds nothing to say.
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

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** The statements of a role's inline policies. */
function statementsOf(role: Resource | undefined): Statement[] {
  assert.ok(role !== undefined, 'the role exists');
  const policies = role.Properties.Policies as Array<{ PolicyDocument: { Statement: Statement[] } }>;
  return policies.flatMap((policy) => policy.PolicyDocument.Statement);
}

function actionsOf(statements: Statement[]): string[] {
  return statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).sort();
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

  const resource = (id: string): Resource => {
    const found = template.Resources[id];
    assert.ok(found !== undefined, `resource ${id}`);
    return found;
  };

  void it('declares the stream, the state table, the failure queue and the bucket, every name suffixed with the stage', () => {
    assert.deepEqual(
      ofType('AWS::Kinesis::Stream').map((r) => [r.Properties.Name, r.Properties.ShardCount]),
      [['tick-replay-quotes-dev', 4]],
    );
    const [table] = ofType('AWS::DynamoDB::Table');
    assert.equal(table?.Properties.TableName, 'tick-replay-state-dev');
    assert.deepEqual(table?.Properties.KeySchema, [{ AttributeName: 'pk', KeyType: 'HASH' }]);
    assert.deepEqual(ofType('AWS::SQS::Queue').map((q) => q.Properties.QueueName), ['tick-replay-mid-price-failures-dev']);
    assert.deepEqual(resource('ReplayBucket').Properties.BucketName, { 'Fn::Sub': 'tick-replay-${AWS::AccountId}-${AWS::Region}-dev' });
    for (const fn of ofType('AWS::Lambda::Function')) {
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      assert.equal(variables.STREAM_NAME, 'tick-replay-quotes-dev');
      assert.equal(variables.TABLE_NAME, 'tick-replay-state-dev');
      assert.equal(variables.OUTPUT_DIR, '/tmp/output');
      assert.equal(fn.Properties.Runtime, 'nodejs24.x');
    }
    const midPrice = (resource('MidPriceLambdaFunction').Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    assert.deepEqual(midPrice.OUTPUT_URI, { 'Fn::Sub': 's3://${ReplayBucket}/output' });
  });

  void it('encrypts the stream, the table, the queue and the bucket, with PITR and a full public access block', () => {
    assert.deepEqual(resource('QuotesStream').Properties.StreamEncryption, { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' });
    const table = resource('StateTable').Properties;
    assert.deepEqual(table.SSESpecification, { SSEEnabled: true });
    assert.deepEqual(table.PointInTimeRecoverySpecification, { PointInTimeRecoveryEnabled: true });
    assert.equal(resource('MidPriceFailuresQueue').Properties.SqsManagedSseEnabled, true);
    const bucket = resource('ReplayBucket').Properties;
    assert.deepEqual(bucket.BucketEncryption, { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] });
    assert.deepEqual(bucket.PublicAccessBlockConfiguration, { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    const tls = (resource('ReplayBucketPolicy').Properties.PolicyDocument as { Statement: Statement[] }).Statement;
    assert.deepEqual(tls.map((s) => [s.Effect, s.Condition]), [['Deny', { Bool: { 'aws:SecureTransport': false } }]], 'plain HTTP refused');
  });

  void it('gives each function its own role, with named actions only and no PutItem for mode', () => {
    const roleOf = (fn: string): unknown => resource(fn).Properties.Role;
    assert.deepEqual(roleOf('ModeLambdaFunction'), { 'Fn::Sub': '${ModeRole.Arn}' });
    assert.deepEqual(roleOf('MidPriceLambdaFunction'), { 'Fn::Sub': '${MidPriceRole.Arn}' });
    assert.equal(template.Resources.IamRoleLambdaExecution, undefined, 'no shared default role');
    const roles = ofType('AWS::IAM::Role');
    assert.equal(roles.length, 4, 'mode, midPrice, the replayer task and its execution role');
    for (const role of roles) {
      for (const action of actionsOf(statementsOf(role))) assert.doesNotMatch(action, /\*/, `wildcard action ${action}`);
    }

    const mode = statementsOf(resource('ModeRole'));
    assert.deepEqual(actionsOf(mode), ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'logs:CreateLogStream', 'logs:PutLogEvents']);
    const leadingKeys = (action: string): unknown =>
      mode.find((s) => s.Action === action)?.Condition?.['ForAllValues:StringEquals']?.['dynamodb:LeadingKeys'];
    assert.deepEqual(leadingKeys('dynamodb:GetItem'), ['control#mode', 'status#replayer']);
    assert.deepEqual(leadingKeys('dynamodb:UpdateItem'), ['control#mode']);

    const midPrice = statementsOf(resource('MidPriceRole'));
    assert.deepEqual(actionsOf(midPrice), [
      'kinesis:DescribeStream',
      'kinesis:DescribeStreamSummary',
      'kinesis:GetRecords',
      'kinesis:GetShardIterator',
      'kinesis:ListShards',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      's3:PutObject',
      'sqs:SendMessage',
    ]);
    assert.ok(!actionsOf(midPrice).some((a) => a.startsWith('dynamodb:')), 'midPrice never touches DynamoDB');
    assert.deepEqual(midPrice.find((s) => s.Action === 's3:PutObject')?.Resource, { 'Fn::Sub': '${ReplayBucket.Arn}/output/*' }, 'under its prefix only');
  });

  void it('names the resource of every statement: "*" only where AWS allows nothing else', () => {
    // ecr:GetAuthorizationToken has no resource-level permissions (the ECR login of the task's
    // execution role); every other statement names its stream, table, queue, bucket, log group.
    const resourceless = new Set(['ecr:GetAuthorizationToken']);
    for (const role of ofType('AWS::IAM::Role')) {
      for (const statement of statementsOf(role)) {
        const actions = actionsOf([statement]);
        const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
        assert.equal(statement.Effect, 'Allow');
        // A literal string is "*" or an ARN typed by hand; the stack's own resources come from
        // Fn::GetAtt / Fn::Sub of its logical ids.
        if (resources.some((r) => typeof r === 'string')) {
          assert.ok(actions.every((a) => resourceless.has(a)), `a resource not named from the stack for ${actions.join(', ')}: ${JSON.stringify(statement.Resource)}`);
        }
      }
    }
    const table = { 'Fn::GetAtt': ['StateTable', 'Arn'] };
    const stream = { 'Fn::GetAtt': ['QuotesStream', 'Arn'] };
    for (const s of statementsOf(resource('ModeRole')).filter((s) => actionsOf([s]).some((a) => a.startsWith('dynamodb:')))) assert.deepEqual(s.Resource, table);
    for (const s of statementsOf(resource('MidPriceRole')).filter((s) => actionsOf([s]).some((a) => a.startsWith('kinesis:')))) assert.deepEqual(s.Resource, stream);
    assert.deepEqual(statementsOf(resource('MidPriceRole')).find((s) => s.Action === 'sqs:SendMessage')?.Resource, { 'Fn::GetAtt': ['MidPriceFailuresQueue', 'Arn'] });
  });

  void it("gives the replayer task its own role: put records, its table items, read the input prefix", () => {
    const task = statementsOf(resource('ReplayerTaskRole'));
    assert.deepEqual(actionsOf(task), [
      'dynamodb:DescribeTable',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'kinesis:DescribeStreamSummary',
      'kinesis:ListShards',
      'kinesis:PutRecords',
      's3:GetObject',
      's3:ListBucket',
    ]);
    const items = task.find((s) => Array.isArray(s.Action) && s.Action.includes('dynamodb:PutItem'));
    assert.deepEqual(items?.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'], ['checkpoint#*', 'file#*', 'control#mode', 'status#replayer'], 'never the consumer leases');
    assert.deepEqual(task.find((s) => s.Action === 's3:GetObject')?.Resource, { 'Fn::Sub': '${ReplayBucket.Arn}/input/*' });
    const list = task.find((s) => s.Action === 's3:ListBucket');
    assert.deepEqual([list?.Resource, list?.Condition], [{ 'Fn::GetAtt': ['ReplayBucket', 'Arn'] }, { StringLike: { 's3:prefix': 'input/*' } }], 'listing under input/ only');
    for (const s of task.filter((s) => actionsOf([s]).some((a) => a.startsWith('kinesis:')))) assert.deepEqual(s.Resource, { 'Fn::GetAtt': ['QuotesStream', 'Arn'] });
    for (const s of task.filter((s) => actionsOf([s]).some((a) => a.startsWith('dynamodb:')))) assert.deepEqual(s.Resource, { 'Fn::GetAtt': ['StateTable', 'Arn'] });
    // What ECS needs to start it, apart from what the replayer may do: pull its image, write its logs.
    const execution = statementsOf(resource('ReplayerExecutionRole'));
    assert.deepEqual(actionsOf(execution), ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetAuthorizationToken', 'ecr:GetDownloadUrlForLayer', 'logs:CreateLogStream', 'logs:PutLogEvents']);
    assert.deepEqual(execution.find((s) => actionsOf([s]).includes('ecr:BatchGetImage'))?.Resource, { 'Fn::GetAtt': ['ReplayerRepository', 'Arn'] });
    const trusted = (id: string): unknown => (resource(id).Properties.AssumeRolePolicyDocument as { Statement: Array<{ Principal: unknown }> }).Statement.map((s) => s.Principal);
    assert.deepEqual(trusted('ReplayerTaskRole'), [{ Service: 'ecs-tasks.amazonaws.com' }]);
    assert.deepEqual(trusted('ModeRole'), [{ Service: 'lambda.amazonaws.com' }]);
  });

  void it('declares the replayer as a Fargate task definition with a cluster, a log group and an execution role', () => {
    const definition = resource('ReplayerTaskDefinition').Properties;
    assert.deepEqual(definition.RequiresCompatibilities, ['FARGATE']);
    assert.equal(definition.NetworkMode, 'awsvpc');
    assert.deepEqual(definition.TaskRoleArn, { 'Fn::GetAtt': ['ReplayerTaskRole', 'Arn'] });
    assert.deepEqual(definition.ExecutionRoleArn, { 'Fn::GetAtt': ['ReplayerExecutionRole', 'Arn'] });
    const [container] = definition.ContainerDefinitions as Array<{ Image: unknown; Command: string[]; Environment: Array<{ Name: string; Value: unknown }>; LogConfiguration: { LogDriver: string } }>;
    assert.deepEqual(container?.Image, { 'Fn::Sub': '${ReplayerRepository.RepositoryUri}:latest' }, 'the image of infra/Dockerfile, pushed to the stack repository');
    assert.deepEqual(container?.Command.slice(0, 2), ['up', '--aws']);
    const env = Object.fromEntries((container?.Environment ?? []).map((e) => [e.Name, e.Value]));
    assert.equal(env.TICK_REPLAY_TARGET, 'aws');
    assert.equal(env.STREAM_NAME, 'tick-replay-quotes-dev');
    assert.equal(env.TABLE_NAME, 'tick-replay-state-dev');
    assert.equal(container?.LogConfiguration.LogDriver, 'awslogs');
    assert.equal(ofType('AWS::ECS::Cluster').length, 1);
    assert.equal(ofType('AWS::ECR::Repository').length, 1);
  });

  void it('alarms on the mapping\'s iterator age and on the failure queue\'s depth', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').map((a) => a.Properties);
    const iteratorAge = alarms.find((a) => a.MetricName === 'IteratorAge');
    assert.equal(iteratorAge?.Namespace, 'AWS/Lambda');
    assert.deepEqual(iteratorAge?.Dimensions, [{ Name: 'FunctionName', Value: { Ref: 'MidPriceLambdaFunction' } }]);
    const depth = alarms.find((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible');
    assert.deepEqual(depth?.Dimensions, [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['MidPriceFailuresQueue', 'QueueName'] } }]);
    for (const alarm of [iteratorAge, depth]) assert.deepEqual(alarm?.AlarmActions, [{ Ref: 'AlarmTopic' }]);
  });

  void it('reserves concurrency for the mode function (MODE_RESERVED_CONCURRENCY=off leaves it out)', () => {
    assert.equal(resource('ModeLambdaFunction').Properties.ReservedConcurrentExecutions, 2);
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
    for (const method of ofType('AWS::ApiGateway::Method')) assert.equal(method.Properties.AuthorizationType, 'AWS_IAM', `${String(method.Properties.HttpMethod)} /mode`);
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
