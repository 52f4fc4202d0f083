/**
 * Where the AWS APIs come from. Local target: each service's endpoint from the configuration,
 * and an embedded stack started here (stopped by `close()`) for Kinesis or DynamoDB when one has
 * none; the resources are created if missing. `aws` target: AWS itself (or the endpoints given),
 * nothing started, nothing created: the deployed stack owns the resources, which must exist.
 */
import { BootstrapError, bootstrapResources, verifyResources } from '../../infra/bootstrap.ts';
import { startEmbeddedStack, type EmbeddedStack } from '../../infra/embedded-stack.ts';
import { createAwsClients, type AwsClients } from '../aws/clients.ts';
import { isMissingCredentials } from '../aws/deployment.ts';
import { describeEndpoints, type ServiceEndpoints } from '../aws/endpoints.ts';
import type { Config, Target } from '../config.ts';
import { ConfigError, errorCode, errorName, TickReplayError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';

export interface AwsEnvironment {
  clients: AwsClients;
  target: Target;
  /** Per service, where its calls go (the embedded stack's edge for what it serves); undefined = AWS. */
  endpoints: ServiceEndpoints;
  streamArn: string;
  /** Present when this process started the embedded stack. */
  stack: EmbeddedStack | undefined;
  close(): Promise<void>;
}

export interface AwsEnvironmentOptions {
  /** Where the embedded stack's own process logs (default: inherited stderr). */
  stackLogFile?: string;
}

/** Whether the local target needs the embedded stack: Kinesis or DynamoDB has no endpoint. */
export function needsEmbeddedStack(config: Pick<Config, 'target' | 'endpoints'>): boolean {
  return config.target === 'local' && (config.endpoints.kinesis === undefined || config.endpoints.dynamodb === undefined);
}

export async function openAwsEnvironment(config: Config, logger: Logger, options: AwsEnvironmentOptions = {}): Promise<AwsEnvironment> {
  if (config.pending.length > 0) {
    // lib/aws/deployment.ts resolves these first; reaching here without it is a wiring mistake.
    throw new ConfigError(`the ${config.pending.join(', ')} of the deployment ${config.stackName} were not resolved`, { pending: config.pending });
  }
  let stack: EmbeddedStack | undefined;
  if (needsEmbeddedStack(config)) {
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
  }
  const endpoints: ServiceEndpoints = Object.freeze({
    ...config.endpoints,
    ...(stack !== undefined ? { kinesis: config.endpoints.kinesis ?? stack.endpointUrl, dynamodb: config.endpoints.dynamodb ?? stack.endpointUrl } : {}),
  });
  const where = describeEndpoints(endpoints);
  if (stack === undefined) logger.info('using AWS', { target: config.target, region: config.region, endpoints: where });
  const clients = createAwsClients({ endpoints, target: config.target, region: config.region });
  const close = async (): Promise<void> => {
    clients.destroy();
    await stack?.stop();
  };
  const names = { streamName: config.streamName, shardCount: config.shardCount, tableName: config.tableName };
  try {
    const { streamArn } =
      config.target === 'aws'
        ? await verifyResources(clients, names, config.region)
        : await bootstrapResources(clients, names, logger.child('bootstrap'));
    return { clients, target: config.target, endpoints, streamArn, stack, close };
  } catch (error) {
    await close();
    if (error instanceof TickReplayError) throw error;
    if (isMissingCredentials(error)) {
      throw new ConfigError(`cannot use AWS at ${where}: no credentials found by the SDK default chain (${errorName(error)})`, { target: config.target }, { cause: error });
    }
    const reason = errorCode(error) ?? (error as Error).message;
    throw new BootstrapError(`cannot use the AWS endpoint ${where}: ${reason}`, { endpoints }, { cause: error });
  }
}
