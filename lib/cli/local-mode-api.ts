/**
 * The mode API on this machine for the stack's AWS environment: serverless-offline serving
 * functions/mode.ts (infra/offline-api.ts) with the endpoint, region, table and stream in use.
 */
import { startOfflineApi, type OfflineApi } from '../../infra/offline-api.ts';
import type { Config } from '../config.ts';
import { formatAllowedHosts } from '../http/allowed-hosts.ts';
import type { Logger } from '../logging/logger.ts';
import type { AwsEnvironment } from './aws-environment.ts';

export function startLocalModeApi(options: { aws: AwsEnvironment; config: Config; host?: string; port: number; logger: Logger }): Promise<OfflineApi> {
  const { aws, config } = options;
  return startOfflineApi({
    host: options.host,
    port: options.port,
    env: {
      AWS_ENDPOINT_URL: aws.endpointUrl ?? '',
      AWS_REGION: config.region,
      TABLE_NAME: config.tableName,
      STREAM_NAME: config.streamName,
      // Both names: an inherited POWERTOOLS_LOG_LEVEL would otherwise beat --log-level in the handler.
      LOG_LEVEL: config.logLevel,
      POWERTOOLS_LOG_LEVEL: config.logLevel,
      // For the request guard infra/osls-local-plugin.js puts in front of serverless-offline.
      ALLOWED_HOSTS: formatAllowedHosts(config.allowedHosts),
    },
    logger: options.logger.child('mode-api'),
  });
}
