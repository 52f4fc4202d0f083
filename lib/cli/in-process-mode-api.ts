/**
 * The mode API of `up`, served in this process: serverless.yml's REST API (the routes of its
 * `http` events, read from the file) on `http://127.0.0.1:<port>/mode`, each request turned into
 * an API Gateway proxy event for the real handler (functions/mode.ts, `createModeHandler`) and its
 * result back into HTTP — the integration the embedded edge's API Gateway uses
 * (infra/apigateway/), behind the same local request guard as every local server.
 *
 * Why not serverless-offline here (`npm run demo` and `osls offline start` still use it): starting
 * osls costs ~7–8 s of CPU (the framework, esbuild bundling the handler, its servers), on the same
 * two cores as the replay; `up` paid it on every start, before its first quote. This answers the
 * same requests with the same handler from its first millisecond.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createModeHandler } from '../../functions/mode.ts';
import { serveRestApi } from '../../infra/apigateway/api-gateway-service.ts';
import { LambdaRunner } from '../../infra/apigateway/lambda-runner.ts';
import type { Config } from '../config.ts';
import { ControlStore } from '../control/control-store.ts';
import { listenLocal } from '../http/listen.ts';
import { guardListener } from '../http/local-request-guard.ts';
import { urlHost } from '../http/local-url.ts';
import type { Logger } from '../logging/logger.ts';
import { createPowertoolsLogger } from '../logging/powertools-sink.ts';
import type { AwsEnvironment } from './aws-environment.ts';

const SERVICE_FILE = fileURLToPath(new URL('../../serverless.yml', import.meta.url));

export interface InProcessModeApi {
  /** `http://127.0.0.1:<port>` (whatever the interface); the route is `${url}/mode`. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface InProcessModeApiOptions {
  aws: Pick<AwsEnvironment, 'clients'>;
  config: Pick<Config, 'tableName' | 'region' | 'allowedHosts'>;
  /** Interface (default 127.0.0.1). */
  host?: string;
  /** 0: any free port. */
  port: number;
  logger: Logger;
  /** serverless.yml (default the project's). */
  serviceFile?: string;
  /**
   * Called when a POST has been answered with a 2xx: the handler has written the mode control
   * item, so the replayer in this process can read it now instead of at its next poll.
   */
  onModeWritten?: () => void;
}

export async function startInProcessModeApi(options: InProcessModeApiOptions): Promise<InProcessModeApi> {
  const { aws, config, logger } = options;
  // The handler gets its store and logger here rather than from process.env, which is `up`'s own.
  const mode = createModeHandler({
    store: new ControlStore(aws.clients.dynamodb, config.tableName),
    logger: createPowertoolsLogger('mode', logger.level, logger.sink),
  });
  const runner = new LambdaRunner({ region: config.region, modules: { 'functions/mode': () => Promise.resolve({ handler: mode }) } });
  const api = await serveRestApi(options.serviceFile ?? SERVICE_FILE, config.region, runner, logger);
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method === 'POST' && options.onModeWritten !== undefined) {
      const notify = options.onModeWritten;
      res.once('finish', () => {
        if (res.statusCode >= 200 && res.statusCode < 300) notify();
      });
    }
    api.handleStage(req, res).catch((error: unknown) => {
      logger.error('mode API request failed', { url: req.url, error });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"Internal server error"}');
      else res.destroy();
    });
  };
  const server = createServer(guardListener(listener, { allowedHosts: config.allowedHosts }));
  const host = options.host ?? '127.0.0.1';
  const address = await listenLocal(server, { host, port: options.port, what: 'mode API', portFlag: '--api-port' });
  const url = `http://${urlHost(address.address)}:${address.port}`;
  logger.info('mode API listening', { url: `${url}/mode` });
  return {
    url,
    port: address.port,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
