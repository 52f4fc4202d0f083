/**
 * Structured JSON logger for the local components (replayer, producer, consumer, embedded stack).
 * Same keys as the Powertools Logger used by the Lambda handlers (timestamp, level, service,
 * message), and errors written as Powertools writes them (lib/logging/json-line.ts), so one log
 * pipeline reads both. One line per call, always valid JSON. Lines go to an injectable sink
 * (stderr by default) so that stdout stays free for command results.
 */
import { jsonLine } from './json-line.ts';

/**
 * Powertools' level names. TRACE and CRITICAL exist so that a POWERTOOLS_LOG_LEVEL valid for the
 * handlers is valid everywhere: this logger has no trace or critical calls, so TRACE shows what
 * DEBUG shows and CRITICAL shows none of its lines, as a Powertools logger set to them would.
 */
export type LogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'CRITICAL' | 'SILENT';

const LEVEL_RANK: Record<LogLevel, number> = { TRACE: 5, DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40, CRITICAL: 50, SILENT: 100 };

export const LOG_LEVELS = Object.keys(LEVEL_RANK) as readonly LogLevel[];

export type LogContext = Record<string, unknown>;

export interface Logger {
  debug(message: string, context?: LogContext): void;
  info(message: string, context?: LogContext): void;
  warn(message: string, context?: LogContext): void;
  error(message: string, context?: LogContext): void;
  /** A logger for a sub-component: same sink and level, other service name and extra keys. */
  child(service: string, context?: LogContext): Logger;
  /** Where lines go and from which level: other loggers (Powertools in the handler) follow them. */
  readonly sink: LogSink;
  readonly level: LogLevel;
}

export type LogSink = (line: string) => void;

export interface LoggerOptions {
  service: string;
  level?: LogLevel;
  sink?: LogSink;
  context?: LogContext;
  now?: () => Date;
}

export function isLogLevel(value: string): value is LogLevel {
  return Object.hasOwn(LEVEL_RANK, value);
}

export const stderrSink: LogSink = (line) => {
  process.stderr.write(line + '\n');
};

export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? 'INFO';
  const sink = options.sink ?? stderrSink;
  const now = options.now ?? (() => new Date());
  const base = options.context ?? {};
  const threshold = LEVEL_RANK[level];

  const write = (lvl: LogLevel, message: string, context?: LogContext): void => {
    if (LEVEL_RANK[lvl] < threshold) return;
    sink(jsonLine({ timestamp: now().toISOString(), level: lvl, service: options.service, message }, base, context));
  };

  return {
    sink,
    level,
    debug: (m, c) => write('DEBUG', m, c),
    info: (m, c) => write('INFO', m, c),
    warn: (m, c) => write('WARN', m, c),
    error: (m, c) => write('ERROR', m, c),
    child: (service, context) =>
      createLogger({ service, level, sink, now, context: { ...base, ...context } }),
  };
}

/** A logger that drops everything, for tests that do not look at logs. */
export const silentLogger: Logger = createLogger({ service: 'silent', level: 'SILENT' });
