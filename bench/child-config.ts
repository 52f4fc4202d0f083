/** The configuration of a bench child process: the parent's embedded stack, its own work directory. */
import path from 'node:path';
import { resolveConfig, type Config } from '../lib/config.ts';

export function childConfig(endpointUrl: string, workDir: string, batchSize?: number): Config {
  return resolveConfig(process.env, {
    endpointUrl,
    outputDir: path.join(workDir, 'out'),
    stateDir: path.join(workDir, 'state'),
    edgePort: 0,
    logLevel: 'WARN',
    batchSize,
  });
}
