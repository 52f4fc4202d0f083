/**
 * Runs a function of serverless.yml in this process, as Lambda would run it: the handler module
 * named by `handler:` (`functions/mode.handler` → functions/mode.ts, export `handler`, from
 * handler-modules.ts), the function's environment, a Lambda-shaped context and its timeout.
 *
 * The environment goes into `process.env` once, before the first handler module loads (handlers
 * read their configuration there, as on Lambda). This runs inside the embedded stack's own
 * process, which nothing else configures through the environment.
 */
import path from 'node:path';
import { createLocalContext } from '../../lib/consumer/lambda-context.ts';
import { TickReplayError } from '../../lib/errors.ts';
import { HANDLER_MODULES, type HandlerModule } from './handler-modules.ts';
import type { HttpRoute } from './serverless-http-api.ts';

/** A handler could not be loaded, threw, or timed out. */
export class LambdaInvokeError extends TickReplayError {}

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

export interface LambdaRunnerOptions {
  /**
   * Every function's environment (endpoint, table, region, credentials…), put into `process.env`
   * before the first handler loads. Absent: `process.env` is left alone, for a runner inside a
   * process that has its own configuration there (`up`), whose `modules` come configured.
   */
  environment?: Readonly<Record<string, string>>;
  region: string;
  /** By module path; default the project's handlers. */
  modules?: Readonly<Record<string, () => Promise<HandlerModule>>>;
}
/** Credentials that must not reach a handler talking to the emulators. */
const DROPPED_VARIABLES = ['AWS_PROFILE', 'AWS_DEFAULT_PROFILE', 'AWS_SESSION_TOKEN'];

export class LambdaRunner {
  private readonly handlers = new Map<string, Promise<Handler>>();
  private environmentApplied = false;

  constructor(private readonly options: LambdaRunnerOptions) {}

  private applyEnvironment(): void {
    if (this.environmentApplied || this.options.environment === undefined) return;
    for (const name of DROPPED_VARIABLES) delete process.env[name];
    Object.assign(process.env, this.options.environment);
    this.environmentApplied = true;
  }

  private async load(handler: string): Promise<Handler> {
    const dot = handler.lastIndexOf('.');
    if (dot <= 0) throw new LambdaInvokeError(`handler "${handler}" must be <module path>.<export>`, { handler });
    const modulePath = path.posix.normalize(handler.slice(0, dot)).replace(/^\.\//, '');
    const exportName = handler.slice(dot + 1);
    const modules = this.options.modules ?? HANDLER_MODULES;
    const load = modules[modulePath];
    if (load === undefined) {
      throw new LambdaInvokeError(
        `handler module ${modulePath} is not one the embedded API Gateway can run (infra/apigateway/handler-modules.ts has ${Object.keys(modules).join(', ')})`,
        { handler },
      );
    }
    this.applyEnvironment();
    const fn = (await load())[exportName];
    if (typeof fn !== 'function') throw new LambdaInvokeError(`${modulePath} has no exported function "${exportName}"`, { handler });
    return fn as Handler;
  }

  /** The handler's result; throws LambdaInvokeError when it cannot load, throws or times out. */
  async invoke(route: HttpRoute, functionName: string, event: unknown): Promise<unknown> {
    let loading = this.handlers.get(route.handler);
    if (loading === undefined) {
      loading = this.load(route.handler);
      this.handlers.set(route.handler, loading);
      // A failed load is tried again next time (the file may have been fixed).
      loading.catch(() => this.handlers.delete(route.handler));
    }
    const handler = await loading;
    const timeoutMs = route.timeoutSeconds * 1000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new LambdaInvokeError(`Task timed out after ${route.timeoutSeconds.toFixed(2)} seconds`, { functionName })), timeoutMs);
    });
    try {
      return await Promise.race([handler(event, createLocalContext(functionName, this.options.region, timeoutMs)), timedOut]);
    } catch (error) {
      if (error instanceof LambdaInvokeError) throw error;
      throw new LambdaInvokeError(`${functionName} failed: ${(error as Error).message}`, { functionName }, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }
}
