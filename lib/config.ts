/**
 * The one place configuration is read and validated. Environment variables first (the same
 * names `serverless.yml` sets on AWS), CLI flags over them. A bad value fails fast naming the
 * variable or flag.
 */
import path from 'node:path';
import { ConfigError } from './errors.ts';
import { parseAllowedHosts, type AllowedHost } from './http/allowed-hosts.ts';
import { isLogLevel, LOG_LEVELS, type LogLevel } from './logging/logger.ts';

export interface Config {
  /** Historical quotes with latency strictly above this (ms) get an error line instead of a mid. */
  latencyThresholdMs: number;
  /** Directory for mid_prices.log, errors.log and dead_letters.log (absolute). */
  outputDir: string;
  /** Set: use this AWS-compatible endpoint. Unset: start the embedded stack. */
  endpointUrl: string | undefined;
  region: string;
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

/** Flags given on the command line; each overrides its environment variable. */
export type ConfigOverrides = Partial<Record<keyof Config, string | number | undefined>>;

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

export function resolveConfig(env: Env = process.env, overrides: ConfigOverrides = {}, cwd = process.cwd()): Config {
  const endpointRaw = pick('AWS_ENDPOINT_URL', overrides.endpointUrl, env, '');
  let endpointUrl: string | undefined;
  if (endpointRaw !== '') {
    let url: URL;
    try {
      url = new URL(endpointRaw);
    } catch {
      throw new ConfigError(`AWS_ENDPOINT_URL must be a URL such as http://127.0.0.1:4566, got "${endpointRaw}"`, {
        name: 'AWS_ENDPOINT_URL',
      });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ConfigError(`AWS_ENDPOINT_URL must use http or https, got "${endpointRaw}"`, { name: 'AWS_ENDPOINT_URL' });
    }
    endpointUrl = endpointRaw.replace(/\/+$/, '');
  }

  const logLevel = resolveLogLevel(env, overrides.logLevel);

  const config: Config = {
    latencyThresholdMs: numberIn(
      'LATENCY_THRESHOLD',
      pick('LATENCY_THRESHOLD', overrides.latencyThresholdMs, env, DEFAULTS.LATENCY_THRESHOLD),
      0,
      86_400_000,
      false,
    ),
    outputDir: path.resolve(cwd, pick('OUTPUT_DIR', overrides.outputDir, env, DEFAULTS.OUTPUT_DIR)),
    endpointUrl,
    region: pick('AWS_REGION', overrides.region, env, env.AWS_DEFAULT_REGION ?? DEFAULTS.AWS_REGION),
    streamName: nameLike('STREAM_NAME', pick('STREAM_NAME', overrides.streamName, env, DEFAULTS.STREAM_NAME)),
    tableName: nameLike('TABLE_NAME', pick('TABLE_NAME', overrides.tableName, env, DEFAULTS.TABLE_NAME)),
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
