/**
 * The filesystem adapter of the object store port: objects are files under an existing root
 * directory (never created here: a missing root is a misconfiguration to report, not to
 * paper over); keys are relative paths that must stay inside the root.
 */
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import type { ObjectStore } from './object-store.js';

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
    close() {},
  };
}
