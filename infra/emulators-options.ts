/**
 * The embedded stack child's single JSON argument (emulators-process.ts), validated: every
 * problem is a StartError with a stable code the parent shows as is.
 */
import path from 'node:path';
import { resolveConfig } from '../lib/config.ts';
import { TickReplayError } from '../lib/errors.ts';
import { parseAllowedHosts } from '../lib/http/allowed-hosts.ts';
import { isLogLevel, type LogLevel } from '../lib/logging/logger.ts';

/** The single JSON argument. */
export interface EmulatorsProcessOptions {
  stateDir: string;
  /** 0 = ephemeral. */
  edgePort: number;
  host: string;
  /** Kinesis open-shard limit across all streams. */
  shardLimit: number;
  logLevel: LogLevel;
  /** Append log lines to this file instead of stderr (the CLI's log file when a progress bar owns the terminal). */
  logFile?: string;
  /** Extra `Host` names the servers answer, in ALLOWED_HOSTS syntax (`feed,localstack:4566`). */
  allowedHosts?: string;
  /** The serverless.yml whose REST API the edge serves (default: the project's). */
  serviceFile?: string;
  /** What the API's functions get as TABLE_NAME, STREAM_NAME and AWS_REGION (default: the configuration's defaults). */
  functions?: { tableName: string; streamName: string; region: string };
}

export type ResolvedOptions = EmulatorsProcessOptions & Required<Pick<EmulatorsProcessOptions, 'serviceFile' | 'functions'>>;

const DEFAULT_SERVICE_FILE = path.resolve(import.meta.dirname, '..', 'serverless.yml');

/** A start-up failure with a stable code the parent can show as is. */
export class StartError extends TickReplayError {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, { code }, options);
  }
}

export function parseOptions(raw: string | undefined): ResolvedOptions {
  if (raw === undefined) throw new StartError('BAD_OPTIONS', 'expected one JSON argument with stateDir and edgePort');
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new StartError('BAD_OPTIONS', `options argument is not JSON: ${raw}`, { cause: error });
  }
  if (typeof value !== 'object' || value === null) throw new StartError('BAD_OPTIONS', 'options must be a JSON object');
  const o = value as Record<string, unknown>;
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const v = o[name] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new StartError('BAD_OPTIONS', `option ${name} must be an integer between ${min} and ${max}`);
    }
    return v;
  };
  if (typeof o.stateDir !== 'string' || o.stateDir === '') throw new StartError('BAD_OPTIONS', 'option stateDir is required');
  const logLevel = o.logLevel ?? 'INFO';
  if (typeof logLevel !== 'string' || !isLogLevel(logLevel)) throw new StartError('BAD_OPTIONS', 'option logLevel is invalid');
  const text = (name: string, fallback: string): string => {
    const v = o[name] ?? fallback;
    if (typeof v !== 'string' || v === '') throw new StartError('BAD_OPTIONS', `option ${name} must be a non-empty string`);
    return v;
  };
  const functions = typeof o.functions === 'object' && o.functions !== null ? (o.functions as Record<string, unknown>) : {};
  const functionText = (name: string, fallback: string): string => {
    const v = functions[name];
    return typeof v === 'string' && v !== '' ? v : fallback;
  };
  // The configuration's own defaults (tick-replay-state, tick-replay-quotes, us-east-1).
  const defaults = resolveConfig({});
  const allowedHosts = typeof o.allowedHosts === 'string' ? o.allowedHosts : '';
  try {
    parseAllowedHosts(allowedHosts, 'option allowedHosts');
  } catch (error) {
    throw new StartError('BAD_OPTIONS', (error as Error).message, { cause: error });
  }
  return {
    stateDir: path.resolve(o.stateDir),
    edgePort: int('edgePort', 4566, 0, 65_535),
    host: typeof o.host === 'string' && o.host !== '' ? o.host : '127.0.0.1',
    shardLimit: int('shardLimit', 50, 1, 10_000),
    logLevel,
    logFile: typeof o.logFile === 'string' && o.logFile !== '' ? path.resolve(o.logFile) : undefined,
    allowedHosts,
    serviceFile: path.resolve(text('serviceFile', DEFAULT_SERVICE_FILE)),
    functions: {
      tableName: functionText('tableName', defaults.tableName),
      streamName: functionText('streamName', defaults.streamName),
      region: functionText('region', defaults.region),
    },
  };
}

/** Until the argument is parsed (the logger and shutdown read them). */
export const INITIAL_OPTIONS: ResolvedOptions = {
  stateDir: '',
  edgePort: 0,
  host: '127.0.0.1',
  shardLimit: 50,
  logLevel: 'INFO',
  allowedHosts: '',
  serviceFile: DEFAULT_SERVICE_FILE,
  functions: { tableName: '', streamName: '', region: '' },
};
