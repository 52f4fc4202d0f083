/**
 * The `aws` target's settings that no flag or variable gave (Config.pending), read from where AWS
 * keeps them: the region from the SDK's shared config (`~/.aws/config`, AWS_PROFILE), the stream
 * and table names from the outputs of the stack `osls deploy` made (infra/aws/outputs.yml).
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { loadConfig, NODE_REGION_CONFIG_FILE_OPTIONS, NODE_REGION_CONFIG_OPTIONS } from '@smithy/core/config';
import type { Config } from '../config.ts';
import { AwsCallError, ConfigError, errorName } from '../errors.ts';
import { isRetryableError } from './retryable.ts';

/** The region `osls deploy` uses when none is configured (serverless.yml says so too). */
export const DEFAULT_DEPLOY_REGION = 'us-east-1';

/** Stack outputs the CLI reads (infra/aws/outputs.yml). */
export const STACK_OUTPUTS = {
  streamName: 'QuotesStreamName',
  tableName: 'StateTableName',
  modeApiUrl: 'ModeApiUrl',
} as const;

export interface DeploymentSources {
  /** The region of the SDK's shared config files, if any (default: the SDK's own loader). */
  loadRegion?: () => Promise<string | undefined>;
  /** Describes stacks (default: a CloudFormation client for the config's region and endpoint). */
  cloudformation?: Pick<CloudFormationClient, 'send'>;
}

/** The SDK's region chain past the environment: the profile's `region` in the shared config files. */
async function sharedConfigRegion(): Promise<string | undefined> {
  try {
    const region = await loadConfig(NODE_REGION_CONFIG_OPTIONS, NODE_REGION_CONFIG_FILE_OPTIONS)();
    return region === '' ? undefined : region;
  } catch {
    // The loader throws "Region is missing" when no source has one.
    return undefined;
  }
}

const NO_CREDENTIALS =
  'no AWS credentials found by the SDK default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ~/.aws, SSO, a container or instance role)';

/** Whether an SDK error says the default chain found no credentials. */
export function isMissingCredentials(error: unknown): boolean {
  return errorName(error) === 'CredentialsProviderError';
}

/** Every output of `stackName`, by key. */
export async function readStackOutputs(cloudformation: Pick<CloudFormationClient, 'send'>, stackName: string, region: string): Promise<Record<string, string>> {
  let stacks;
  try {
    stacks = (await cloudformation.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks;
  } catch (error) {
    if (isMissingCredentials(error)) throw new ConfigError(`cannot read the stack ${stackName}: ${NO_CREDENTIALS}`, { stackName }, { cause: error });
    if (errorName(error) === 'ValidationError') {
      throw new ConfigError(
        `no stack ${stackName} in ${region}: deploy it (npx osls deploy --stage <stage> --region ${region}), name another with --stack or --stage, or set STREAM_NAME and TABLE_NAME`,
        { stackName, region },
        { cause: error },
      );
    }
    throw new AwsCallError(`cannot read the stack ${stackName}: ${errorName(error) || (error as Error).message}`, { stackName }, { cause: error, retryable: isRetryableError(error) });
  }
  const outputs: Record<string, string> = {};
  for (const output of stacks?.[0]?.Outputs ?? []) {
    if (output.OutputKey !== undefined && output.OutputValue !== undefined) outputs[output.OutputKey] = output.OutputValue;
  }
  return outputs;
}

/** One output, or a ConfigError naming it and what to do. */
export function requiredOutput(outputs: Record<string, string>, key: string, stackName: string, instead: string): string {
  const value = outputs[key];
  if (value === undefined || value === '') {
    throw new ConfigError(`the stack ${stackName} has no output ${key} (deployed from an older serverless.yml? deploy again), or set ${instead}`, { stackName, output: key });
  }
  return value;
}

/** A CloudFormation client for the config's region, its CloudFormation endpoint, the default chain. */
export function cloudFormationClient(config: Pick<Config, 'region' | 'endpoints'>): CloudFormationClient {
  const endpoint = config.endpoints.cloudformation;
  return new CloudFormationClient({ region: config.region, ...(endpoint !== undefined ? { endpoint } : {}) });
}

/** The region when no flag or variable gave one: the shared config's, else osls's default. */
export async function resolveRegion(config: Config, sources: DeploymentSources = {}): Promise<string> {
  if (!config.pending.includes('region')) return config.region;
  return (await (sources.loadRegion ?? sharedConfigRegion)()) ?? DEFAULT_DEPLOY_REGION;
}

/** The config with every pending setting filled in; the same config when nothing is pending. */
export async function resolveDeployment(config: Config, sources: DeploymentSources = {}): Promise<Config> {
  if (config.pending.length === 0) return config;
  const region = await resolveRegion(config, sources);
  const names: Partial<Pick<Config, 'streamName' | 'tableName'>> = {};
  if (config.pending.includes('streamName') || config.pending.includes('tableName')) {
    const owned = sources.cloudformation === undefined ? cloudFormationClient({ region, endpoints: config.endpoints }) : undefined;
    try {
      const outputs = await readStackOutputs(sources.cloudformation ?? (owned as CloudFormationClient), config.stackName, region);
      if (config.pending.includes('streamName')) names.streamName = requiredOutput(outputs, STACK_OUTPUTS.streamName, config.stackName, 'STREAM_NAME');
      if (config.pending.includes('tableName')) names.tableName = requiredOutput(outputs, STACK_OUTPUTS.tableName, config.stackName, 'TABLE_NAME');
    } finally {
      owned?.destroy();
    }
  }
  return Object.freeze({ ...config, region, ...names, pending: Object.freeze([]) });
}
