// osls plugin for the local runs of serverless.yml (`osls offline start`, `invoke local`); it does
// nothing on `package` or `deploy`. osls loads plugins without a TypeScript loader, so this shim
// only wires hooks; the work is in osls-local-hooks.ts, imported through tsx when a hook runs.
import { tsImport } from 'tsx/esm/api';

const loadHooks = () => tsImport('./osls-local-hooks.ts', import.meta.url);

export default class TickReplayLocalPlugin {
  constructor() {
    // Where the user ran the command: serverless-esbuild moves the working directory into its
    // build folder before `invoke local` runs the handler.
    const invocationDir = process.cwd();
    const guard = async () => (await loadHooks()).guardHttpServers(process.env);
    this.hooks = {
      // Before serverless-offline creates its servers (the API and the Lambda invoke endpoint).
      'before:offline:start': guard,
      'before:offline:start:init': guard,
      // After osls has put provider.environment and the `-e NAME=value` options into process.env.
      'after:invoke:local:loadEnvVars': async () => (await loadHooks()).resolveRelativePaths(process.env, invocationDir),
    };
  }
}
