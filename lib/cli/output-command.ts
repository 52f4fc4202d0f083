/**
 * `tick-replay output cat <s3://bucket/prefix | dir> <mid_prices|errors|dead_letters>`: prints
 * one kind of output on stdout, the bytes the file sink would have written (S3: shard, then
 * sequence order; per ticker, arrival order). A local output directory is accepted too, so a
 * script reads either the same way.
 */
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { createAwsClients } from '../aws/clients.ts';
import { resolveConfig } from '../config.ts';
import { describeFsError, OutputError } from '../errors.ts';
import { copyObjects, hasAnyOutput, listBatchObjects } from '../output/s3-reader.ts';
import { isOutputKind, isS3Uri, OUTPUT_KINDS, parseS3Prefix, s3PrefixUri, type OutputKind } from '../output/s3-keys.ts';
import { checkBucket } from '../output/s3-sink.ts';
import { commonOverrides, type CommonFlags } from './session.ts';

function kindArgument(value: string): OutputKind {
  if (!isOutputKind(value)) throw new InvalidArgumentError(`must be one of ${OUTPUT_KINDS.join(', ')}, got "${value}"`);
  return value;
}

/** Writes to stdout, waiting when its buffer is full (a slow pipe must not make us hold the whole output). */
async function toStdout(bytes: Uint8Array): Promise<void> {
  if (!process.stdout.write(bytes)) await once(process.stdout, 'drain');
}

async function catS3(uri: string, kind: OutputKind, flags: CommonFlags): Promise<void> {
  const location = parseS3Prefix('the location', uri);
  // Endpoints (--endpoint, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL), region and target as every command
  // resolves them; without an endpoint this is AWS's S3 with the default credential chain.
  const config = resolveConfig(process.env, commonOverrides(flags));
  const clients = createAwsClients({ endpoints: config.endpoints, target: config.target, region: config.region });
  try {
    await checkBucket(clients.s3, location);
    const objects = await listBatchObjects(clients.s3, location, kind);
    // An empty kind is an answer (no errors, say); nothing of any kind is a wrong prefix.
    if (objects.length === 0 && !(await hasAnyOutput(clients.s3, location))) {
      throw new OutputError(`no tick-replay output under ${s3PrefixUri(location)} (no ${OUTPUT_KINDS.join('/, ')}/ objects there): check the prefix`, { ...location });
    }
    await copyObjects(clients.s3, location, objects, toStdout);
  } finally {
    clients.destroy();
  }
}

async function catDirectory(dir: string, kind: OutputKind): Promise<void> {
  const file = path.join(dir, `${kind}.log`);
  try {
    if (!(await stat(dir)).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    await pipeline(createReadStream(file), process.stdout, { end: false });
  } catch (error) {
    throw new OutputError(`cannot read ${file}: ${describeFsError(error)}`, { file }, { cause: error });
  }
}

export function registerOutputCommand(program: Command): void {
  const output = program.command('output').description('read what the mid-price handler wrote');
  output
    .command('cat')
    .description('print one kind of output (S3: in shard and sequence order, the lines the file sink would have written)')
    .argument('<location>', 's3://bucket/prefix (as given to --out or OUTPUT_URI), or an output directory')
    .argument('<kind>', OUTPUT_KINDS.join(' | '), kindArgument)
    .option('--endpoint <url>', 'an AWS-compatible endpoint for S3 (env AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL); default AWS itself')
    .option('--aws', "the SDK's default credential chain even with an endpoint (env TICK_REPLAY_TARGET=aws)")
    .action(async (location: string, kind: OutputKind, flags: CommonFlags) => {
    // `cat | head` closes the pipe early: that is not an error.
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0);
      throw error;
    });
    if (isS3Uri(location)) await catS3(location, kind, flags);
    else await catDirectory(location, kind);
  });
}
