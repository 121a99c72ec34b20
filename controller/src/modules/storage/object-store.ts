/**
 * The object store port: where recordings are uploaded to (an upload provider), as the few
 * operations the controller needs: put, get and delete one object by key. Adapters: a directory
 * (filesystem-store.ts) and an S3-compatible bucket (s3-store.ts). The upload-provider `test`
 * action probes a store with them (probe.ts); the upload queue uses the same port.
 */

/** What an upload provider says, with its secret opened (never stored or logged like this). */
export type ObjectStoreConfig =
  | { kind: 'filesystem'; root: string }
  | {
      kind: 's3';
      /** null: AWS's endpoint for the region. */
      endpoint: string | null;
      region: string;
      bucket: string;
      /** Key prefix ("folder"), without leading or trailing slashes mattering. */
      prefix: string;
      forcePathStyle: boolean;
      accessKeyId: string;
      secretAccessKey: string;
    };

export interface ObjectStore {
  /** Where objects go, for messages: a directory or `s3://bucket/prefix`. */
  readonly location: string;
  /** Writes the whole object (replacing one with the same key). */
  put(key: string, data: Uint8Array, signal: AbortSignal): Promise<void>;
  get(key: string, signal: AbortSignal): Promise<Uint8Array>;
  delete(key: string, signal: AbortSignal): Promise<void>;
  /** Releases connections; the store is not used afterwards. */
  close(): void;
}

export interface ObjectStoreOptions {
  /** Bound on connecting and on each request, in ms. */
  timeoutMs: number;
}

/** Joins a prefix and a key with one slash (an empty prefix adds nothing). */
export function prefixedKey(prefix: string, key: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? key : `${trimmed}/${key}`;
}
