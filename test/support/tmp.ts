import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDir {
  /** Absolute path of the new, empty directory. */
  path: string;
  /** Removes the directory and everything in it; safe to call more than once. */
  cleanup(): Promise<void>;
}

/** Creates a fresh directory under os.tmpdir(), named `earshot-<prefix>-XXXXXX`. */
export async function tempDir(prefix = 'test'): Promise<TempDir> {
  const safe = prefix.replace(/[^A-Za-z0-9._-]/g, '_');
  const path = await mkdtemp(join(tmpdir(), `earshot-${safe}-`));
  return {
    path,
    cleanup: () => rm(path, { recursive: true, force: true, maxRetries: 3 }),
  };
}
