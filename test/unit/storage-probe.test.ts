/**
 * The object-store probe behind the upload-provider `test` command, on fake stores: every step
 * timed, a hanging store bounded by the timeout, a failed write ending the probe, a mismatch or
 * failed read still cleaned up by the delete; the filesystem adapter keeps keys inside its root.
 */
import { describe, expect, it } from 'vitest';
import { filesystemStore } from '../../controller/src/modules/storage/filesystem-store.js';
import { type ObjectStore, probeObjectStore } from '../../controller/src/modules/storage/index.js';
import { prefixedKey } from '../../controller/src/modules/storage/object-store.js';
import { tempDir } from '../support/tmp.js';

/** A store in memory whose operations can be replaced. */
function memoryStore(over: Partial<ObjectStore> = {}): ObjectStore & { objects: Map<string, Uint8Array> } {
  const objects = new Map<string, Uint8Array>();
  return {
    objects,
    location: 'memory',
    put: async (key, data) => void objects.set(key, data),
    get: async (key) => {
      const data = objects.get(key);
      if (!data) throw new Error(`no object ${key}`);
      return data;
    },
    delete: async (key) => void objects.delete(key),
    upload: async () => {
      throw new Error('the probe does not upload files');
    },
    verify: async () => {},
    abandon: async () => {},
    close: () => {},
    ...over,
  };
}

const stepsOf = (result: { steps: { step: string; ok: boolean }[] }) =>
  result.steps.map((s) => [s.step, s.ok]);

describe('probeObjectStore', () => {
  it('writes, reads back, compares and deletes, leaving nothing behind', async () => {
    const store = memoryStore();
    const result = await probeObjectStore(store, { timeoutMs: 1000 });
    expect(result.ok).toBe(true);
    expect(stepsOf(result)).toEqual([
      ['write', true],
      ['read', true],
      ['compare', true],
      ['delete', true],
    ]);
    expect(store.objects.size).toBe(0);
  });

  it('ends at a failed write, with its message', async () => {
    const store = memoryStore({
      put: async () => {
        throw Object.assign(new Error('Access Denied'), {
          name: 'AccessDenied',
          $metadata: { httpStatusCode: 403 },
        });
      },
    });
    const result = await probeObjectStore(store, { timeoutMs: 1000 });
    expect(result).toMatchObject({
      ok: false,
      steps: [{ step: 'write', ok: false, error: 'AccessDenied: Access Denied (HTTP 403)' }],
    });
  });

  it('bounds a store that never answers by the timeout, and still deletes what it wrote', async () => {
    const store = memoryStore({ get: () => new Promise(() => {}) });
    const started = Date.now();
    const result = await probeObjectStore(store, { timeoutMs: 50 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(stepsOf(result)).toEqual([
      ['write', true],
      ['read', false],
      ['delete', true],
    ]);
    expect(result.steps[1]!.error).toMatch(/timed out after 0.05 s/);
    expect(store.objects.size).toBe(0);
  });

  it('fails the comparison when different bytes come back', async () => {
    const store = memoryStore({ get: async () => new Uint8Array([1, 2, 3]) });
    const result = await probeObjectStore(store, { timeoutMs: 1000 });
    expect(result.ok).toBe(false);
    expect(result.steps[2]).toMatchObject({ step: 'compare', ok: false });
    expect(result.steps[2]!.error).toMatch(/3 bytes that differ/);
  });
});

describe('object store helpers', () => {
  it('joins a prefix and a key with one slash', () => {
    expect(prefixedKey('', 'k')).toBe('k');
    expect(prefixedKey('a/b/', 'k')).toBe('a/b/k');
    expect(prefixedKey('/a/', 'k')).toBe('a/k');
  });

  it('the filesystem store refuses a relative root and keys that leave the root', async () => {
    expect(() => filesystemStore('relative')).toThrow(/absolute/);
    const dir = await tempDir('fs-store');
    try {
      const store = filesystemStore(dir.path);
      const signal = new AbortController().signal;
      await expect(store.put('../escape', new Uint8Array([1]), signal)).rejects.toThrow(/leaves the root/);
      await store.put('sub/ok.bin', new Uint8Array([7]), signal);
      expect([...(await store.get('sub/ok.bin', signal))]).toEqual([7]);
      await store.delete('sub/ok.bin', signal);
      await expect(store.get('sub/ok.bin', signal)).rejects.toThrow(/ENOENT/);
    } finally {
      await dir.cleanup();
    }
  });
});
