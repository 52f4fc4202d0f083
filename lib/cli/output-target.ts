/**
 * The commands' output, a directory or an S3 prefix (`--out s3://bucket/prefix`, OUTPUT_URI):
 * checked before anything starts, emptied by a one-shot `run`, given to the handler as its sink,
 * and counted for the run's summary. The commands never ask which of the two it is.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { createAwsClients } from '../aws/clients.ts';
import { requireS3 } from '../aws/endpoints.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logging/logger.ts';
import { DEAD_LETTERS_FILE, ERRORS_FILE, fileSink, MID_PRICES_FILE, prepareOutputDir } from '../output/log-files.ts';
import type { OutputSink } from '../output/output-sink.ts';
import { countS3Lines } from '../output/s3-reader.ts';
import { checkBucket, clearOutput, s3Sink } from '../output/s3-sink.ts';
import { s3PrefixUri, type OutputKind } from '../output/s3-keys.ts';

type OutputConfig = Pick<Config, 'outputDir' | 'outputS3' | 'target' | 'endpoints' | 'region'>;

/** An S3 output needs an S3 endpoint locally (requireS3); a directory needs nothing. */
export function requireS3Endpoint(config: OutputConfig): void {
  if (config.outputS3 !== undefined) requireS3(config.target, config.endpoints, `--out ${s3PrefixUri(config.outputS3)}`);
}

/** For messages: `s3://bucket/prefix` or the directory. */
export function describeOutput(config: OutputConfig): string {
  return config.outputS3 !== undefined ? s3PrefixUri(config.outputS3) : config.outputDir;
}

/** An S3 client for the output alone (before the AWS environment is open; S3 never comes from the embedded stack). */
function outputClient(config: OutputConfig): { s3: S3Client; destroy(): void } {
  return createAwsClients({ endpoints: config.endpoints, target: config.target, region: config.region });
}

/**
 * Makes sure the output can be written: the directory created, or the bucket there. With
 * `truncate` (a one-shot run owns its output), the files start empty, or the objects of our
 * layout under the prefix are removed.
 */
export async function prepareOutput(config: OutputConfig, options: { truncate: boolean; logger?: Logger }): Promise<void> {
  if (config.outputS3 === undefined) {
    await prepareOutputDir(config.outputDir, options);
    return;
  }
  requireS3Endpoint(config);
  const clients = outputClient(config);
  try {
    await checkBucket(clients.s3, config.outputS3);
    if (options.truncate) {
      const removed = await clearOutput(clients.s3, config.outputS3);
      if (removed > 0) options.logger?.info('removed the earlier output under the prefix', { output: s3PrefixUri(config.outputS3), objects: removed });
    }
  } finally {
    clients.destroy();
  }
}

/** The handler's sink for this output; `s3` is the environment's client (used only for an S3 output). */
export function outputSink(config: OutputConfig, s3: () => S3Client): OutputSink {
  return config.outputS3 !== undefined ? s3Sink(s3(), config.outputS3) : fileSink(config.outputDir);
}

/** Lines of each kind in the output (the run summary). */
export async function countOutput(config: OutputConfig, countFile: (name: string) => Promise<number>): Promise<Record<OutputKind, number>> {
  const location = config.outputS3;
  if (location === undefined) {
    return { mid_prices: await countFile(MID_PRICES_FILE), errors: await countFile(ERRORS_FILE), dead_letters: await countFile(DEAD_LETTERS_FILE) };
  }
  const clients = outputClient(config);
  try {
    return {
      mid_prices: await countS3Lines(clients.s3, location, 'mid_prices'),
      errors: await countS3Lines(clients.s3, location, 'errors'),
      dead_letters: await countS3Lines(clients.s3, location, 'dead_letters'),
    };
  } finally {
    clients.destroy();
  }
}
