import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  controllerSecretBox,
  loadOrCreateKeyFile,
  parseSecretKey,
  SecretBox,
  SecretBoxError,
} from '../../controller/src/crypto/secret-box.js';
import { tempDir } from '../support/tmp.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});
async function dir(): Promise<string> {
  const d = await tempDir('secret-box');
  cleanups.push(() => d.cleanup());
  return d.path;
}

describe('SecretBox', () => {
  const box = new SecretBox(Buffer.alloc(32, 1));

  it('round-trips, with a fresh IV each time, and never contains the plaintext', () => {
    const a = box.seal('whsec_plain', 'guild:1');
    const b = box.seal('whsec_plain', 'guild:1');
    expect(a).not.toBe(b);
    expect(a).not.toContain('whsec_plain');
    expect(a).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(box.open(a, 'guild:1')).toBe('whsec_plain');
  });

  it('refuses another AAD, another key, and tampering', () => {
    const sealed = box.seal('whsec_plain', 'guild:1');
    expect(() => box.open(sealed, 'guild:2')).toThrow(SecretBoxError);
    expect(() => new SecretBox(Buffer.alloc(32, 2)).open(sealed, 'guild:1')).toThrow(SecretBoxError);
    const parts = sealed.split('.');
    parts[3] = Buffer.from('tampered').toString('base64url');
    expect(() => box.open(parts.join('.'), 'guild:1')).toThrow(SecretBoxError);
    expect(() => box.open('garbage', 'guild:1')).toThrow(SecretBoxError);
  });

  it('parses only 32-byte base64 keys', () => {
    expect(parseSecretKey(Buffer.alloc(32, 3).toString('base64'))).toEqual(Buffer.alloc(32, 3));
    expect(parseSecretKey(Buffer.alloc(32, 3).toString('base64url'))).toEqual(Buffer.alloc(32, 3));
    expect(parseSecretKey(Buffer.alloc(31).toString('base64'))).toBeUndefined();
    expect(parseSecretKey('not base64!')).toBeUndefined();
  });
});

describe('the key file', () => {
  it('is created once with mode 0600 and reused', async () => {
    const dataDir = await dir();
    const first = await loadOrCreateKeyFile(dataDir);
    const second = await loadOrCreateKeyFile(dataDir);
    expect(first).toEqual(second);
    expect(first.length).toBe(32);
    expect((await stat(join(dataDir, 'secret.key'))).mode & 0o777).toBe(0o600);
  });

  it('two concurrent first uses agree on one key', async () => {
    const dataDir = await dir();
    const [a, b] = await Promise.all([loadOrCreateKeyFile(dataDir), loadOrCreateKeyFile(dataDir)]);
    expect(a).toEqual(b);
  });

  it('a configured key wins and no file is written', async () => {
    const dataDir = await dir();
    const configuredKey = Buffer.alloc(32, 5).toString('base64');
    const box = await controllerSecretBox({ configuredKey, dataDir })();
    expect(new SecretBox(Buffer.alloc(32, 5)).open(box.seal('x', 'a'), 'a')).toBe('x');
    await expect(readFile(join(dataDir, 'secret.key'))).rejects.toThrow();
  });
});
