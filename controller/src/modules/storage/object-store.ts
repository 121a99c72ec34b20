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
  /**
   * Copies a local file to `key` and verifies the copy against the file's SHA-256 (the
   * provider's stored checksum where it keeps one, else by reading the copy back); throws a
   * `CopyMismatchError` when the copy is not the file. S3: multipart for large files, each part
   * with its SHA-256, resumable from `progress.resume`.
   */
  upload(key: string, file: LocalFile, progress: UploadProgress, signal: AbortSignal): Promise<UploadOutcome>;
  /** Reads the copy at `key` back and checks it is the file (a CopyMismatchError when not, or gone). */
  verify(key: string, file: LocalFile, signal: AbortSignal): Promise<void>;
  /** Gives up a multipart upload in progress (its stored parts are freed); best effort. */
  abandon(key: string, state: MultipartState, signal: AbortSignal): Promise<void>;
  /** Releases connections; the store is not used afterwards. */
  close(): void;
}

/** A complete recording file on the controller's disk, with what it must hash to. */
export interface LocalFile {
  path: string;
  size: number;
  sha256: string;
}

/** A multipart upload in progress: its id and the parts the store holds already. */
export interface MultipartState {
  id: string;
  parts: { n: number; etag: string; sha256: string }[];
}

export interface UploadProgress {
  /** Where a previous attempt stopped (kept across restarts); null: start afresh. */
  resume: MultipartState | null;
  /** Called as parts are stored (and with null once the upload is complete): keep it. */
  save(state: MultipartState | null, bytesSent: number): Promise<void>;
}

export interface UploadOutcome {
  /** How the copy was found to be the file: the provider's checksum, or read back. */
  verifiedBy: 'checksum' | 'reread';
}

/** The copy at the provider is not the file (a different size or SHA-256). */
export class CopyMismatchError extends Error {
  override readonly name = 'CopyMismatchError';
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
