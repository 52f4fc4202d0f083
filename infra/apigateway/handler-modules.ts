/**
 * The handler modules the embedded API Gateway can run, by the module path serverless.yml's
 * `handler:` names (`functions/mode.handler` → `functions/mode`), each loaded on first use. A table
 * of static imports rather than `import(path)`: the layer rules can then see what infra/ pulls in.
 * test/unit/infra/api-gateway.test.ts checks that every http function of serverless.yml is here.
 */
export type HandlerModule = Record<string, unknown>;

export const HANDLER_MODULES: Readonly<Record<string, () => Promise<HandlerModule>>> = {
  'functions/mode': () => import('../../functions/mode.ts'),
};
