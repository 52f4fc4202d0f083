/**
 * How a command reaches its inputs beyond the local disk: the S3 client for `s3://` inputs, made
 * by the client factory on the first s3:// name (a replay of local files never creates one), at
 * the S3 endpoint the configuration gives (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, `--endpoint`)
 * or AWS's own with `--aws`. The embedded stack has no S3: with it, an s3:// input is a
 * configuration error that says what to set, raised before anything starts.
 */
import { createAwsClients, type AwsClients } from '../aws/clients.ts';
import type { Config } from '../config.ts';
import { ConfigError } from '../errors.ts';
import type { InputContext } from '../input/input.ts';
import type { Logger } from '../logging/logger.ts';

export interface CommandInputs extends InputContext {
  /** Closes the S3 client's sockets, if one was made. */
  close(): void;
}

export const NO_S3_ENDPOINT =
  's3:// inputs need S3, which the embedded AWS stack does not have: set AWS_ENDPOINT_URL_S3=<url> (an S3-compatible endpoint such as MinIO, moto or LocalStack; or AWS_ENDPOINT_URL for every service), or use --aws (TICK_REPLAY_TARGET=aws) to read from AWS S3';

export function commandInputs(config: Pick<Config, 'target' | 'endpoints' | 'region'>, logger: Logger): CommandInputs {
  let clients: AwsClients | undefined;
  return {
    logger: logger.child('s3-input'),
    s3: () => {
      if (config.target === 'local' && config.endpoints.s3 === undefined) throw new ConfigError(NO_S3_ENDPOINT, { name: 'AWS_ENDPOINT_URL_S3' });
      clients ??= createAwsClients({ endpoints: config.endpoints, target: config.target, region: config.region });
      return clients.s3;
    },
    close: () => clients?.destroy(),
  };
}
