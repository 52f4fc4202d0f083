/**
 * Error types shared across the project. Each carries enough context to print a one-line,
 * specific message (what, where), an optional `cause`, and whether it is worth retrying.
 */
export interface TickReplayErrorOptions {
  cause?: unknown;
  /** Whether the failed operation may succeed if done again unchanged (see `retryable`). */
  retryable?: boolean;
}

/** The project's base error: every error class of the project extends it. */
export class TickReplayError extends Error {
  readonly context: Record<string, unknown>;
  /**
   * Whether the operation that failed may succeed if it is done again unchanged; the retry
   * predicate (lib/aws/retryable.ts) answers with it for a project error. The thrower says so when
   * it knows (an AwsCallError carries its AWS cause's classification); otherwise a wrapped project
   * error's answer holds, else false: most project errors are about input, configuration or
   * ownership, which another try does not change.
   */
  readonly retryable: boolean;
  constructor(message: string, context: Record<string, unknown> = {}, options?: TickReplayErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.context = context;
    this.retryable = options?.retryable ?? (options?.cause instanceof TickReplayError ? options.cause.retryable : false);
  }
}

/** A configuration value (environment variable or flag) is invalid. Fatal at start-up. */
export class ConfigError extends TickReplayError {}

/** An input file cannot be used at all (missing, unreadable, no usable columns). Fatal. */
export class InputError extends TickReplayError {}

/**
 * An AWS API call failed. Throwers pass `retryable: isRetryableError(cause)` so the wrapper is
 * classified as the SDK error it wraps.
 */
export class AwsCallError extends TickReplayError {}

/** The output directory cannot be used. Fatal at start-up, retryable inside the handler. */
export class OutputError extends TickReplayError {}

/** The `name` of an error-like value (AWS SDK errors are classified by it), or ''. */
export function errorName(error: unknown): string {
  return typeof error === 'object' && error !== null && 'name' in error && typeof error.name === 'string' ? error.name : '';
}

/** The `code` of an error-like value (Node errno codes such as ENOENT, csv-parse codes), if any. */
export function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  EEXIST: 'not a directory',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  // Output files are opened with O_NOFOLLOW: there ELOOP means the path is a symbolic link.
  ELOOP: 'is a symbolic link, which is not followed, or a link loop',
};

/** A file-system failure in a few words for a one-line message (`permission denied`). */
export function describeFsError(error: unknown): string {
  const code = errorCode(error);
  return (code !== undefined ? ERRNO_TEXT[code] : undefined) ?? code ?? (error instanceof Error ? error.message : String(error));
}
