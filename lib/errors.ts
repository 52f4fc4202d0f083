/**
 * Error types shared across the project. Each carries enough context to print a one-line,
 * specific message (what, where) and an optional `cause`.
 */
export class TickReplayError extends Error {
  readonly context: Record<string, unknown>;
  constructor(message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.context = context;
  }
}

/** A configuration value (environment variable or flag) is invalid. Fatal at start-up. */
export class ConfigError extends TickReplayError {}

/** An input file cannot be used at all (missing, unreadable, no usable columns). Fatal. */
export class InputError extends TickReplayError {}

/** The output directory cannot be used. Fatal at start-up, retryable inside the handler. */
export class OutputError extends TickReplayError {}
