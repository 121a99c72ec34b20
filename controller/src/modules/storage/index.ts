/**
 * Storage: the object stores recordings are uploaded to (upload providers), behind one port
 * (object-store.ts) with a filesystem and an S3 adapter, and the probe behind the providers'
 * `test` action. No routes of its own: settings (upload providers) and the upload queue use it.
 */
import { filesystemStore } from './filesystem-store.js';
import type { ObjectStore, ObjectStoreConfig, ObjectStoreOptions } from './object-store.js';
import { s3Store } from './s3-store.js';

export type {
  LocalFile,
  MultipartState,
  ObjectStore,
  ObjectStoreConfig,
  ObjectStoreOptions,
} from './object-store.js';
export { CopyMismatchError } from './object-store.js';
export { describeError, type ProbeResult, type ProbeStep, probeObjectStore } from './probe.js';

/** The store an upload provider describes. */
export function objectStoreFor(config: ObjectStoreConfig, options: ObjectStoreOptions): ObjectStore {
  return config.kind === 'filesystem' ? filesystemStore(config.root) : s3Store(config, options);
}
