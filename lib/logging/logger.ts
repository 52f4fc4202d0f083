/**
 * Structured JSON logger for the local components (replayer, producer, consumer, embedded stack).
 * Same keys as the Powertools Logger used by the Lambda handlers (timestamp, level, service,
 * message), so one log pipeline reads both. Lines go to an injectable sink (stderr by default) so
 * that stdout stays free for command results.
 */
export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';

const LEVEL_RANK: Record<LogLevel, number> = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40, SILENT: 100 };

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

/** Errors do not serialise with JSON.stringify; keep what a reader needs. */
function serialise(value: unknown): unknown {
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message };
    if (value.cause !== undefined) out.cause = serialise(value.cause);
    return out;
  }
  return value;
}

export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? 'INFO';
  const sink = options.sink ?? stderrSink;
  const now = options.now ?? (() => new Date());
  const base = options.context ?? {};
  const threshold = LEVEL_RANK[level];

  const write = (lvl: LogLevel, message: string, context?: LogContext): void => {
    if (LEVEL_RANK[lvl] < threshold) return;
    const entry: Record<string, unknown> = {
      timestamp: now().toISOString(),
      level: lvl,
      service: options.service,
      message,
    };
    // Context never overwrites the fixed fields: a colliding key is kept under a prefix.
    for (const [key, value] of Object.entries({ ...base, ...context })) entry[key in entry ? `context.${key}` : key] = serialise(value);
    sink(JSON.stringify(entry));
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
