/**
 * The one place configuration is read and validated. Environment variables first (the same
 * names `serverless.yml` sets on AWS), CLI flags over them. A bad value fails fast naming the
 * variable or flag.
 */
import path from 'node:path';
import { resolveServiceEndpoints, type ServiceEndpoints } from './aws/endpoints.ts';
import { ConfigError } from './errors.ts';
import { parseAllowedHosts, type AllowedHost } from './http/allowed-hosts.ts';
import { isLogLevel, LOG_LEVELS, type LogLevel } from './logging/logger.ts';
import { isS3Uri, parseS3Prefix, type S3Prefix } from './output/s3-keys.ts';

export interface Config {
  /** Historical quotes with latency strictly above this (ms) get an error line instead of a mid. */
  latencyThresholdMs: number;
  /** Directory for mid_prices.log, errors.log and dead_letters.log (absolute). */
  outputDir: string;
  /**
   * Where the handler's output goes instead of {@link outputDir} when it is S3: `--out
   * s3://bucket/prefix`, else OUTPUT_URI (what serverless.yml sets on the deployed function). A
   * `--out` directory beats OUTPUT_URI, as every flag beats its variable.
   */
  outputS3: S3Prefix | undefined;
  /**
   * `local` (default): Kinesis and DynamoDB without an endpoint are the embedded stack, started
   * here. `aws` (`--aws`, TICK_REPLAY_TARGET=aws): nothing is started, services without an
   * endpoint are AWS itself, credentials and region come from the SDK's default chain, and the
   * names come from the deployed stack ({@link stackName}).
   */
  target: Target;
  /** Per service: an AWS-compatible endpoint (--endpoint, AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL). */
  endpoints: ServiceEndpoints;
  region: string;
  /** `aws` target: the CloudFormation stack whose outputs name the stream and the table. */
  stackName: string;
  /**
   * `aws` target: what no flag or variable gave, to be read from the deployment
   * (lib/aws/deployment.ts) before anything uses it. Empty for the local target.
   */
  pending: readonly PendingSetting[];
  streamName: string;
  tableName: string;
  shardCount: number;
  /** Where the embedded stack keeps its data (absolute). */
  stateDir: string;
  /** Port of the embedded stack's edge endpoint. */
  edgePort: number;
  /** Records per handler invocation (Lambda's BatchSize). */
  batchSize: number;
  /** A consumer worker whose shard lease has not been renewed for this long is taken over (ms). */
  leaseDurationMs: number;
  logLevel: LogLevel;
  /**
   * Host names the local servers answer besides 127.0.0.1, localhost and [::1] at their own port
   * (`ALLOWED_HOSTS`, for a server bound beyond loopback, e.g. a compose service reached as `feed`).
   */
  allowedHosts: readonly AllowedHost[];
}

/** The variables that name a directory; a relative one is resolved against the working directory. */
export const PATH_VARIABLES = ['OUTPUT_DIR', 'STATE_DIR'] as const;

export type Target = 'local' | 'aws';

/** Settings the `aws` target reads from the deployment when neither a flag nor a variable gives them. */
export type PendingSetting = 'region' | 'streamName' | 'tableName';

/** Flags given on the command line; each overrides its environment variable. */
export type ConfigOverrides = Partial<
  Record<
    | 'latencyThresholdMs'
    | 'outputDir'
    | 'endpointUrl'
    | 'region'
    | 'streamName'
    | 'tableName'
    | 'shardCount'
    | 'stateDir'
    | 'edgePort'
    | 'batchSize'
    | 'leaseDurationMs'
    | 'logLevel'
    | 'stack'
    | 'stage',
    string | number | undefined
  >
> & {
  /** `--aws`: the target is AWS itself. */
  aws?: boolean;
};

/** The stack `osls deploy` makes for a stage (service name and stage, as serverless.yml says). */
export function stackNameForStage(stage: string): string {
  return `tick-replay-${stage}`;
}

type Env = Record<string, string | undefined>;

const DEFAULTS = {
  LATENCY_THRESHOLD: '20',
  OUTPUT_DIR: 'output',
  AWS_REGION: 'us-east-1',
  STREAM_NAME: 'tick-replay-quotes',
  TABLE_NAME: 'tick-replay-state',
  SHARD_COUNT: '4',
  STATE_DIR: '.tick-replay',
  EDGE_PORT: '4566',
  BATCH_SIZE: '100',
  LEASE_DURATION_MS: '5000',
  LOG_LEVEL: 'INFO',
  /** osls's default stage, so `--aws` alone finds what `npx osls deploy` made. */
  STAGE: 'dev',
} as const;

function pick(name: string, override: string | number | undefined, env: Env, fallback: string): string {
  if (override !== undefined) return String(override);
  const value = env[name];
  return value === undefined || value.trim() === '' ? fallback : value.trim();
}

/**
 * Plain decimal notation only: optional `-` (so a negative gets the range error, not a format
 * one), digits, optional fraction. `Number()` alone would also take `0x14`, `1e1`, `Infinity`,
 * ` 20 ` and `''` (as 0).
 */
const PLAIN_DECIMAL = /^-?\d+(?:\.\d+)?$/;

function numberIn(name: string, raw: string, min: number, max: number, integer: boolean): number {
  const value = PLAIN_DECIMAL.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    const kind = integer ? 'an integer' : 'a number';
    throw new ConfigError(`${name} must be ${kind} between ${min} and ${max}, got "${raw}"`, { name, value: raw });
  }
  return value;
}

function nameLike(name: string, raw: string): string {
  // Kinesis stream and DynamoDB table names share this safe subset.
  if (!/^[A-Za-z0-9_.-]{3,128}$/.test(raw)) {
    throw new ConfigError(`${name} must be 3-128 characters of letters, digits, "_", "." or "-", got "${raw}"`, { name });
  }
  return raw;
}

/**
 * The log level: `--log-level`, else POWERTOOLS_LOG_LEVEL, else LOG_LEVEL, else INFO. Flags beat
 * the environment as everywhere; between the two variables Powertools' own order (its logger
 * reads POWERTOOLS_LOG_LEVEL, then LOG_LEVEL as an alias), so the CLI's components and the Lambda
 * handlers agree when both are set. Case-insensitive; Powertools' names (TRACE, CRITICAL) too.
 * A bad flag value is reported as LOG_LEVEL, like every other flag under its variable's name.
 * On Lambda, a level set by Advanced Logging Controls (AWS_LAMBDA_LOG_LEVEL) still wins inside
 * the handlers' Powertools loggers, as Powertools decides; nothing local sets it.
 */
function resolveLogLevel(env: Env, flag: string | number | undefined): LogLevel {
  const [name, raw] =
    flag !== undefined
      ? ['LOG_LEVEL', String(flag)]
      : (['POWERTOOLS_LOG_LEVEL', 'LOG_LEVEL'] as const)
          .map((variable) => [variable, (env[variable] ?? '').trim()] as const)
          .find(([, value]) => value !== '') ?? ['LOG_LEVEL', DEFAULTS.LOG_LEVEL];
  const level = raw.trim().toUpperCase();
  if (!isLogLevel(level)) {
    throw new ConfigError(`${name} must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`, { name });
  }
  return level;
}

/** `--aws` or TICK_REPLAY_TARGET (`aws` or `local`), else local. */
function resolveTarget(env: Env, flag: boolean | undefined): Target {
  if (flag === true) return 'aws';
  const raw = (env.TICK_REPLAY_TARGET ?? '').trim().toLowerCase();
  if (raw === '' || raw === 'local') return 'local';
  if (raw === 'aws') return 'aws';
  throw new ConfigError(`TICK_REPLAY_TARGET must be "aws" or "local", got "${env.TICK_REPLAY_TARGET ?? ''}"`, { name: 'TICK_REPLAY_TARGET' });
}

/** `--stack`/TICK_REPLAY_STACK, else the stack of `--stage`/TICK_REPLAY_STAGE (default dev). */
function resolveStackName(env: Env, overrides: ConfigOverrides): string {
  const stack = pick('TICK_REPLAY_STACK', overrides.stack, env, '');
  if (stack !== '') {
    if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stack)) {
      throw new ConfigError(`TICK_REPLAY_STACK must be a CloudFormation stack name (a letter, then letters, digits or "-"), got "${stack}"`, { name: 'TICK_REPLAY_STACK' });
    }
    return stack;
  }
  const stage = pick('TICK_REPLAY_STAGE', overrides.stage, env, DEFAULTS.STAGE);
  if (!/^[A-Za-z0-9-]{1,64}$/.test(stage)) {
    throw new ConfigError(`TICK_REPLAY_STAGE must be 1-64 letters, digits or "-", got "${stage}"`, { name: 'TICK_REPLAY_STAGE' });
  }
  return stackNameForStage(stage);
}

/** Whether a flag or a variable gives this setting (else it has its default). */
function given(name: string, override: string | number | undefined, env: Env): boolean {
  return override !== undefined || (env[name] ?? '').trim() !== '';
}

export function resolveConfig(env: Env = process.env, overrides: ConfigOverrides = {}, cwd = process.cwd()): Config {
  const target = resolveTarget(env, overrides.aws);
  const endpoints = resolveServiceEndpoints(env, overrides.endpointUrl === undefined ? undefined : String(overrides.endpointUrl));
  const pending: PendingSetting[] = [];
  if (target === 'aws') {
    if (!given('AWS_REGION', overrides.region, env) && !given('AWS_DEFAULT_REGION', undefined, env)) pending.push('region');
    if (!given('STREAM_NAME', overrides.streamName, env)) pending.push('streamName');
    if (!given('TABLE_NAME', overrides.tableName, env)) pending.push('tableName');
  }

  const logLevel = resolveLogLevel(env, overrides.logLevel);
  const out = overrides.outputDir === undefined ? undefined : String(overrides.outputDir);
  const outputUri = (env.OUTPUT_URI ?? '').trim();
  let outputS3: S3Prefix | undefined;
  if (out !== undefined) outputS3 = isS3Uri(out) ? parseS3Prefix('--out', out) : undefined;
  else if (outputUri !== '') outputS3 = parseS3Prefix('OUTPUT_URI', outputUri);
  if (isS3Uri(env.OUTPUT_DIR ?? '')) throw new ConfigError(`OUTPUT_DIR names a directory; for S3 set OUTPUT_URI=${(env.OUTPUT_DIR ?? '').trim()}`, { name: 'OUTPUT_DIR' });

  const config: Config = {
    latencyThresholdMs: numberIn(
      'LATENCY_THRESHOLD',
      pick('LATENCY_THRESHOLD', overrides.latencyThresholdMs, env, DEFAULTS.LATENCY_THRESHOLD),
      0,
      86_400_000,
      false,
    ),
    outputDir: path.resolve(cwd, pick('OUTPUT_DIR', out !== undefined && isS3Uri(out) ? undefined : out, env, DEFAULTS.OUTPUT_DIR)),
    outputS3,
    target,
    endpoints,
    region: pick('AWS_REGION', overrides.region, env, env.AWS_DEFAULT_REGION ?? DEFAULTS.AWS_REGION),
    streamName: nameLike('STREAM_NAME', pick('STREAM_NAME', overrides.streamName, env, DEFAULTS.STREAM_NAME)),
    tableName: nameLike('TABLE_NAME', pick('TABLE_NAME', overrides.tableName, env, DEFAULTS.TABLE_NAME)),
    stackName: resolveStackName(env, overrides),
    pending: Object.freeze(pending),
    shardCount: numberIn('SHARD_COUNT', pick('SHARD_COUNT', overrides.shardCount, env, DEFAULTS.SHARD_COUNT), 1, 50, true),
    stateDir: path.resolve(cwd, pick('STATE_DIR', overrides.stateDir, env, DEFAULTS.STATE_DIR)),
    edgePort: numberIn('EDGE_PORT', pick('EDGE_PORT', overrides.edgePort, env, DEFAULTS.EDGE_PORT), 0, 65_535, true),
    batchSize: numberIn('BATCH_SIZE', pick('BATCH_SIZE', overrides.batchSize, env, DEFAULTS.BATCH_SIZE), 1, 10_000, true),
    leaseDurationMs: numberIn(
      'LEASE_DURATION_MS',
      pick('LEASE_DURATION_MS', overrides.leaseDurationMs, env, DEFAULTS.LEASE_DURATION_MS),
      300,
      600_000,
      true,
    ),
    logLevel,
    allowedHosts: Object.freeze(parseAllowedHosts(env.ALLOWED_HOSTS)),
  };
  return Object.freeze(config);
}

/**
 * Whether the producer packs quotes into KPL aggregated records: the `--aggregate` flag, else the
 * `AGGREGATE` environment variable (true/false/1/0/yes/no), else false. Kept out of `Config`
 * because only the producing commands (`run`, `up`) use it.
 */
export function resolveAggregate(env: Env = process.env, flag?: boolean): boolean {
  if (flag === true) return true;
  const raw = (env.AGGREGATE ?? '').trim().toLowerCase();
  if (raw === '' || raw === 'false' || raw === '0' || raw === 'no') return false;
  if (raw === 'true' || raw === '1' || raw === 'yes') return true;
  throw new ConfigError(`AGGREGATE must be true or false, got "${env.AGGREGATE ?? ''}"`, { name: 'AGGREGATE' });
}
