/**
 * Durable small files (state, journal): write a temp file → fsync → keep the previous
 * version as `.bak` → rename over → fsync the directory (Node-RED
 * localfilesystem/util.js). A crash at any point leaves either the old or the new file.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** File mode of the new file (and of its backup). Default 0o600. */
  mode?: number;
  /** Copy the current file to `<path>.bak` before replacing it. Default true. */
  backup?: boolean;
}

export function backupPath(path: string): string {
  return `${path}.bak`;
}

export async function writeFileAtomic(
  path: string,
  data: string | Buffer,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const mode = options.mode ?? 0o600;
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const file = await open(temp, 'wx', mode);
  try {
    await file.chmod(mode); // the umask may have narrowed or (rarely) not applied
    await file.writeFile(data);
    await file.sync();
  } catch (error) {
    await file.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw error;
  }
  await file.close();
  try {
    if (options.backup ?? true) {
      // copyFile keeps the source's mode, so a 0600 file's backup stays 0600.
      await copyFile(path, backupPath(path)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
  await syncDirectory(dir);
}

/**
 * Reads a JSON file, falling back to its `.bak` when the main file is missing or
 * unreadable JSON. Undefined when neither exists; throws when what exists is not JSON.
 */
export async function readJsonWithBackup(path: string): Promise<unknown> {
  let unreadable: string | undefined;
  for (const candidate of [path, backupPath(path)]) {
    let text: string;
    try {
      text = await readFile(candidate, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    try {
      return JSON.parse(text);
    } catch {
      // A torn or hand-edited file: try the backup before giving up.
      unreadable ??= candidate;
    }
  }
  if (unreadable) throw new Error(`${unreadable} is not valid JSON (and no usable backup)`);
  return undefined;
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
