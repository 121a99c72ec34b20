/**
 * The filesystem adapter of the object store port: objects are files under an existing root
 * directory (never created here: a missing root is a misconfiguration to report, not to
 * paper over); keys are relative paths that must stay inside the root. A copied file is
 * written under a temporary name, synced, renamed into place (the folder entry synced too), then
 * read back and compared with its SHA-256: a copy is never seen half-written.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileDigest, fsyncPath } from './local-file.js';
import { CopyMismatchError, type ObjectStore } from './object-store.js';

export function filesystemStore(root: string): ObjectStore {
  if (!isAbsolute(root)) throw new Error(`the root must be an absolute path, not "${root}"`);
  const base = resolve(root);
  const pathOf = (key: string) => {
    const path = resolve(base, key);
    const inside = relative(base, path);
    if (inside === '' || inside.startsWith('..') || isAbsolute(inside))
      throw new Error(`the key "${key}" leaves the root directory`);
    return path;
  };
  const requireRoot = async () => {
    const info = await stat(base).catch((error: NodeJS.ErrnoException) => {
      throw new Error(`the root directory ${base} cannot be used: ${error.message}`);
    });
    if (!info.isDirectory()) throw new Error(`the root ${base} is not a directory`);
  };
  return {
    location: base,
    async put(key, data, signal) {
      const path = pathOf(key);
      await requireRoot();
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, data, { signal });
    },
    async get(key, signal) {
      return new Uint8Array(await readFile(pathOf(key), { signal }));
    },
    async delete(key) {
      await rm(pathOf(key));
    },
    async upload(key, file, _progress, signal) {
      const path = pathOf(key);
      await requireRoot();
      await mkdir(dirname(path), { recursive: true });
      const temporary = `${path}.${randomUUID()}.part`;
      try {
        await pipeline(
          createReadStream(file.path, { highWaterMark: 1024 * 1024 }),
          createWriteStream(temporary),
          { signal },
        );
        await fsyncPath(temporary);
        await rename(temporary, path);
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
      await fsyncPath(dirname(path));
      await this.verify(key, file, signal);
      return { verifiedBy: 'reread' };
    },
    async verify(key, file, signal) {
      const path = pathOf(key);
      const copy = await fileDigest(path, signal).catch((error: NodeJS.ErrnoException) => {
        throw error.code === 'ENOENT' ? new CopyMismatchError(`the copy at ${path} is gone`) : error;
      });
      if (copy.sha256 !== file.sha256 || copy.size !== file.size)
        throw new CopyMismatchError(
          `the copy at ${path} is not the recording (${copy.size} bytes, SHA-256 ${copy.sha256})`,
        );
    },
    async abandon() {},
    close() {},
  };
}
