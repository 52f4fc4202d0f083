/**
 * S3's bucket naming rule, checked before any request so that a typo in an `s3://` input or
 * output names the bucket and the rule instead of failing as an opaque request error.
 */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** The rule in words, for error messages. */
export const BUCKET_NAME_RULE = '3 to 63 lower-case letters, digits, dots or hyphens';

export function isBucketName(name: string): boolean {
  return BUCKET_NAME.test(name);
}
