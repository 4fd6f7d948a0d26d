// Object keys from S3 event notifications, which arrive form-URL-encoded.

interface S3EventLike {
  Records?: { s3?: { object?: { key?: string } } }[];
}

/** Decodes an S3 event key: `+` is a space, then percent-decoding (`%2B` is a literal `+`). */
export function decodeS3Key(encoded: string): string {
  return decodeURIComponent(encoded.replace(/\+/g, ' '));
}

/** Returns the decoded object keys of every record, in record order. */
export function objectKeysOf(event: S3EventLike): string[] {
  return (event.Records ?? []).flatMap((record) => {
    const key = record.s3?.object?.key;
    return key === undefined ? [] : [decodeS3Key(key)];
  });
}
