// osls plugin of serverless.yml. osls loads plugins without a TypeScript loader, so this shim only
// wires hooks; the work is in osls-local-hooks.ts, imported through tsx when a hook runs.
//
// - Stage `local` (`deploy`, `remove`, `info`…): every AWS call goes to AWS_ENDPOINT_URL, by
//   default LocalStack on http://localhost:4566, with dummy credentials unless some are set.
// - Any command with an emulator endpoint (AWS_ENDPOINT_URL): S3 by path, `info` prints the
//   emulator's invoke URLs; MODE_RESERVED_CONCURRENCY is checked before anything is deployed.
// - `osls offline start`: serverless-offline's servers behind the local request guard.
// - `invoke local`: a relative OUTPUT_DIR / STATE_DIR means where the user ran the command, and
//   variables whose value only a deployment has (OUTPUT_URI) are left out.
import { tsImport } from 'tsx/esm/api';

const loadHooks = () => tsImport('./osls-local-hooks.ts', import.meta.url);

export default class TickReplayLocalPlugin {
  constructor(serverless, options) {
    // Where the user ran the command: serverless-esbuild moves the working directory into its
    // build folder before `invoke local` runs the handler.
    const invocationDir = process.cwd();
    const stage = () => options?.stage ?? serverless.service.provider.stage;
    const guard = async () => (await loadHooks()).guardHttpServers(process.env);
    this.hooks = {
      // Before any command's own work (osls reads the functions' environment for invoke local in
      // its own first hook), and before osls makes its first AWS client.
      initialize: async () => {
        const hooks = await loadHooks();
        hooks.prepareAwsTarget(stage(), process.env, serverless.getProvider('aws'));
        // Values only a deployment has (OUTPUT_URI, the stack's bucket) are left out: locally
        // the handler writes OUTPUT_DIR's files.
        if (serverless.processedInput.commands.join(' ') === 'invoke local') hooks.dropDeployedOnlyVariables(serverless.service.functions);
      },
      // Before serverless-offline creates its servers (the API and the Lambda invoke endpoint).
      'before:offline:start': guard,
      'before:offline:start:init': guard,
      // After osls has put provider.environment and the `-e NAME=value` options into process.env.
      'after:invoke:local:loadEnvVars': async () => (await loadHooks()).resolveRelativePaths(process.env, invocationDir),
      // `info` (and the summary `deploy` prints): the emulator's URLs, not AWS's.
      'after:aws:info:gatherData': async () => (await loadHooks()).emulatorInfoEndpoints(serverless.pluginManager.plugins, serverless.service.functions, process.env),
    };
  }
}
