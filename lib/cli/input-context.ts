/**
 * How a command reaches its inputs beyond the local disk: the S3 client for `s3://` inputs, made
 * by the client factory on the first s3:// name (a replay of local files never creates one), at
 * the S3 endpoint the configuration gives (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, `--endpoint`)
 * or AWS's own with `--aws`. The embedded stack has no S3: with it, an s3:// input is a
 * configuration error that says what to set, raised before anything starts.
 */
import { createAwsClients, type AwsClients } from '../aws/clients.ts';
import { requireS3 } from '../aws/endpoints.ts';
import type { Config } from '../config.ts';
import type { InputContext } from '../input/input.ts';
import type { Logger } from '../logging/logger.ts';

export interface CommandInputs extends InputContext {
  /** Closes the S3 client's sockets, if one was made. */
  close(): void;
}

export function commandInputs(config: Pick<Config, 'target' | 'endpoints' | 'region'>, logger: Logger): CommandInputs {
  let clients: AwsClients | undefined;
  return {
    logger: logger.child('s3-input'),
    s3: () => {
      requireS3(config.target, config.endpoints, 'an s3:// input');
      clients ??= createAwsClients({ endpoints: config.endpoints, target: config.target, region: config.region });
      return clients.s3;
    },
    close: () => clients?.destroy(),
  };
}
