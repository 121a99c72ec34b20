import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.js';
import { tempDir } from '../support/tmp.js';

describe('test support: freePort', () => {
  it('returns a port that can then be bound on loopback', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(port).toBeLessThan(65536);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});

describe('test support: tempDir', () => {
  it('creates a directory under the OS temp dir and removes it with its contents', async () => {
    const dir = await tempDir('unit test/x');
    expect(dir.path.startsWith(tmpdir())).toBe(true);
    expect(dir.path).toContain('earshot-unit_test_x-');
    await writeFile(join(dir.path, 'f.txt'), 'hello');
    await dir.cleanup();
    expect(existsSync(dir.path)).toBe(false);
    await dir.cleanup();
  });
});
