/**
 * Where the AWS APIs come from: the endpoint in the configuration (LocalStack, real AWS…) or an
 * embedded stack started here and stopped by `close()`. Resources are bootstrapped either way.
 */
import { BootstrapError, bootstrapResources } from '../../infra/bootstrap.ts';
import { startEmbeddedStack, type EmbeddedStack } from '../../infra/embedded-stack.ts';
import { createAwsClients, type AwsClients } from '../aws/clients.ts';
import type { Config } from '../config.ts';
import { errorCode, TickReplayError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';

export interface AwsEnvironment {
  clients: AwsClients;
  endpointUrl: string | undefined;
  streamArn: string;
  /** Present when this process started the embedded stack. */
  stack: EmbeddedStack | undefined;
  close(): Promise<void>;
}

export interface AwsEnvironmentOptions {
  /** Where the embedded stack's own process logs (default: inherited stderr). */
  stackLogFile?: string;
}

export async function openAwsEnvironment(config: Config, logger: Logger, options: AwsEnvironmentOptions = {}): Promise<AwsEnvironment> {
  let stack: EmbeddedStack | undefined;
  if (config.endpointUrl === undefined) {
    stack = await startEmbeddedStack({
      stateDir: config.stateDir,
      edgePort: config.edgePort,
      logger: logger.child('embedded-stack'),
      logLevel: config.logLevel,
      logFile: options.stackLogFile,
      allowedHosts: config.allowedHosts,
      // The edge's API Gateway flips the same control item as the mode API.
      functions: { tableName: config.tableName, streamName: config.streamName, region: config.region },
    });
  } else {
    logger.info('using AWS endpoint', { endpoint: config.endpointUrl });
  }
  const endpointUrl = stack?.endpointUrl ?? config.endpointUrl;
  const clients = createAwsClients({ endpointUrl, region: config.region });
  const close = async (): Promise<void> => {
    clients.destroy();
    await stack?.stop();
  };
  try {
    const { streamArn } = await bootstrapResources(
      clients,
      { streamName: config.streamName, shardCount: config.shardCount, tableName: config.tableName },
      logger.child('bootstrap'),
    );
    return { clients, endpointUrl, streamArn, stack, close };
  } catch (error) {
    await close();
    if (error instanceof TickReplayError) throw error;
    const reason = errorCode(error) ?? (error as Error).message;
    throw new BootstrapError(`cannot use the AWS endpoint ${endpointUrl ?? '(AWS default)'}: ${reason}`, { endpointUrl }, { cause: error });
  }
}
