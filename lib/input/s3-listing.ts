/**
 * `s3://bucket/prefix/*.csv.gz`: the objects a key pattern matches, listed with ListObjectsV2 under
 * the pattern's literal prefix (one request per 1,000 keys) and matched like a local glob (`*`
 * and `?` within one `/` segment, `**` across them). Keys come back in S3's order (UTF-8 binary),
 * which is the sorted order a local glob's matches are given in.
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { InputError } from '../errors.ts';
import { describeS3Failure, keyPatternRegExp, parseS3Url, patternPrefix } from './s3-url.ts';

/** The `s3://` names of the objects `pattern` matches; InputError when none does or S3 refuses. */
export async function listS3Pattern(pattern: string, client: Pick<S3Client, 'send'>): Promise<string[]> {
  const { bucket, key } = parseS3Url(pattern);
  const matcher = keyPatternRegExp(key);
  const names: string[] = [];
  let token: string | undefined;
  do {
    let page;
    try {
      page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: patternPrefix(key), ContinuationToken: token }));
    } catch (error) {
      throw new InputError(`cannot list --historical ${pattern}: ${describeS3Failure(error)}`, { pattern }, { cause: error });
    }
    for (const object of page.Contents ?? []) {
      if (object.Key !== undefined && matcher.test(object.Key)) names.push(`s3://${bucket}/${object.Key}`);
    }
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  if (names.length === 0) throw new InputError(`no object matches --historical ${JSON.stringify(pattern)}`, { pattern });
  return names;
}
