/**
 * Copying recording files to the two object stores for real: a directory, and an S3-compatible
 * server (s3rver) in one PutObject and as a multipart upload; a multipart upload cut off after a
 * part resumes from the parts it kept; a copy changed behind our back fails verification.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objectStoreFor } from '../../controller/src/modules/storage/index.js';
import {
  CopyMismatchError,
  type LocalFile,
  type MultipartState,
  type ObjectStore,
} from '../../controller/src/modules/storage/object-store.js';
import { PART_BYTES } from '../../controller/src/modules/storage/s3-store.js';
import { startS3, type TestS3 } from '../support/s3.js';
import { type TempDir, tempDir } from '../support/tmp.js';

const never = new AbortController().signal;

async function localFile(dir: string, name: string, size: number): Promise<LocalFile> {
  const bytes = randomBytes(size);
  const path = join(dir, name);
  await writeFile(path, bytes);
  return { path, size, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Progress kept in memory, as the queue keeps it in its row. */
function kept(resume: MultipartState | null = null) {
  const saves: { state: MultipartState | null; bytesSent: number }[] = [];
  return {
    saves,
    progress: {
      resume,
      save: async (state: MultipartState | null, bytesSent: number) => void saves.push({ state, bytesSent }),
    },
  };
}

describe('object store uploads', () => {
  let dir: TempDir;
  let s3: TestS3;
  let bucket: ObjectStore;
  let folder: ObjectStore;

  beforeAll(async () => {
    dir = await tempDir('object-store-upload');
    s3 = await startS3(['copies']);
    bucket = objectStoreFor(
      {
        kind: 's3',
        endpoint: s3.endpoint,
        region: 'us-east-1',
        bucket: 'copies',
        prefix: 'earshot',
        forcePathStyle: true,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
      },
      { timeoutMs: 10_000 },
    );
    folder = objectStoreFor({ kind: 'filesystem', root: dir.path }, { timeoutMs: 10_000 });
  });
  afterAll(async () => {
    bucket?.close();
    await s3?.stop();
    await dir?.cleanup();
  });

  it('a directory: copied under a temporary name, renamed, read back; a changed copy is caught', async () => {
    const file = await localFile(dir.path, 'small.wav', 100_000);
    expect(await folder.upload('recordings/n1/a.wav', file, kept().progress, never)).toEqual({
      verifiedBy: 'reread',
    });
    expect(await readFile(join(dir.path, 'recordings/n1/a.wav'))).toEqual(await readFile(file.path));
    await writeFile(join(dir.path, 'recordings/n1/a.wav'), randomBytes(100_000));
    await expect(folder.verify('recordings/n1/a.wav', file, never)).rejects.toBeInstanceOf(CopyMismatchError);
    await expect(folder.upload('../outside.wav', file, kept().progress, never)).rejects.toThrow(
      /leaves the root/,
    );
  });

  it('S3: a small file in one PutObject, verified (read back when the server keeps no checksum)', async () => {
    const file = await localFile(dir.path, 'one.wav', 300_000);
    const outcome = await bucket.upload('recordings/n1/one.wav', file, kept().progress, never);
    expect(['checksum', 'reread']).toContain(outcome.verifiedBy);
    await bucket.verify('recordings/n1/one.wav', file, never);
  });

  it('S3: a large file in parts; cut off after the first part, it resumes with the rest only', async () => {
    const file = await localFile(dir.path, 'big.wav', 2 * PART_BYTES + 12_345);
    const first = kept();
    const cut = new AbortController();
    const saving = first.progress.save;
    first.progress.save = async (state, bytesSent) => {
      await saving(state, bytesSent);
      if (state && state.parts.length === 1) cut.abort(new Error('the controller stopped'));
    };
    await expect(bucket.upload('recordings/n1/big.wav', file, first.progress, cut.signal)).rejects.toThrow();
    const last = first.saves.at(-1)!;
    expect(last.state!.parts.map((p) => p.n)).toEqual([1]);
    expect(last.bytesSent).toBe(PART_BYTES);

    const resumed = kept(last.state);
    await bucket.upload('recordings/n1/big.wav', file, resumed.progress, never);
    // Parts 2 and 3 only, then the completion (null: nothing left to resume).
    expect(resumed.saves.map((s) => s.state?.parts.map((p) => p.n) ?? null)).toEqual([
      [1, 2],
      [1, 2, 3],
      null,
    ]);
    await bucket.verify('recordings/n1/big.wav', file, never);
    const stored = await readFile(
      join(s3.directory, 'copies', 'earshot/recordings/n1/big.wav._S3rver_object'),
    );
    expect(createHash('sha256').update(stored).digest('hex')).toBe(file.sha256);
  });

  it('S3: an object changed behind our back, or gone, fails verification', async () => {
    const file = await localFile(dir.path, 'changed.wav', 50_000);
    await bucket.upload('recordings/n1/changed.wav', file, kept().progress, never);
    await bucket.put('recordings/n1/changed.wav', randomBytes(50_000), never);
    await expect(bucket.verify('recordings/n1/changed.wav', file, never)).rejects.toBeInstanceOf(
      CopyMismatchError,
    );
    await bucket.delete('recordings/n1/changed.wav', never);
    await expect(bucket.verify('recordings/n1/changed.wav', file, never)).rejects.toBeInstanceOf(
      CopyMismatchError,
    );
  });
});
