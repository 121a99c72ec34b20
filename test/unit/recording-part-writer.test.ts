import { createHash, randomBytes, randomInt } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  alignDown,
  DIRECT_ALIGN,
  type DirectHandle,
  DirectWriter,
  SlabPool,
} from '../../controller/src/modules/recordings/direct-io.js';
import { RecordingFileStore } from '../../controller/src/modules/recordings/file-store.js';
import { WRITE_BATCH_BYTES, writePartBody } from '../../controller/src/modules/recordings/part-writer.js';
import { type TempDir, tempDir } from '../support/tmp.js';

const NODE = 'node-1';
const REC = 'rec-1';
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** The bytes in socket-sized chunks (64 KiB, the last one shorter). */
async function* chunks(bytes: Buffer, size = 64 * 1024): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

/** The bytes in chunks of random sizes (1 byte to 70 kB). */
async function* randomChunks(bytes: Buffer): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; ) {
    const size = randomInt(1, 70_000);
    yield bytes.subarray(at, at + size);
    at += size;
  }
}

/** The first `cutAt` bytes, then the connection fails. */
async function* cutOff(bytes: Buffer, cutAt: number): AsyncGenerator<Buffer> {
  yield* chunks(bytes.subarray(0, cutAt));
  throw new Error('aborted');
}

describe('receiving an upload into its part', () => {
  let dir: TempDir;
  let files: RecordingFileStore;
  beforeEach(async () => {
    dir = await tempDir('part-writer');
    files = new RecordingFileStore(dir.path);
  });
  afterEach(() => dir.cleanup());

  const part = () => readFile(files.partPath(NODE, REC));

  it('writes every byte across several batches and hashes them on arrival', async () => {
    const file = randomBytes(2 * WRITE_BATCH_BYTES + 12_345);
    const result = await files.receivePart(NODE, REC, 0, file.length, chunks(file));
    expect(result).toMatchObject({ outcome: 'ended', received: file.length, size: file.length });
    expect(result.hash.digest('hex')).toBe(sha256(file));
    expect((await part()).equals(file)).toBe(true);
  });

  it('keeps what arrived of a cut body, and a resumed upload hashes the bytes held before it too', async () => {
    const file = randomBytes(WRITE_BATCH_BYTES + 300_001);
    const cutAt = WRITE_BATCH_BYTES + 3 * 64 * 1024;
    const first = await files.receivePart(NODE, REC, 0, file.length, cutOff(file, cutAt));
    expect(first).toMatchObject({ outcome: 'interrupted', size: cutAt });
    expect(await files.partSize(NODE, REC)).toBe(cutAt);

    const rest = await files.receivePart(NODE, REC, cutAt, file.length - cutAt, chunks(file.subarray(cutAt)));
    expect(rest).toMatchObject({ outcome: 'ended', received: file.length - cutAt, size: file.length });
    // The digest covers the whole part, not just this request's bytes.
    expect(rest.hash.digest('hex')).toBe(sha256(file));
    expect((await part()).equals(file)).toBe(true);
  });

  it('a resumed upload whose earlier bytes differ does not hash to the file', async () => {
    const file = randomBytes(200_000);
    const other = Buffer.from(file);
    other[10] = (other[10]! + 1) % 256;
    await files.receivePart(NODE, REC, 0, file.length, cutOff(other, 100_000));
    const rest = await files.receivePart(NODE, REC, 100_000, 100_000, chunks(file.subarray(100_000)));
    expect(rest.outcome).toBe('ended');
    expect(rest.hash.digest('hex')).not.toBe(sha256(file));
  });

  it('stops at a body larger than the room left', async () => {
    const file = randomBytes(300_000);
    const result = await files.receivePart(NODE, REC, 0, 200_000, chunks(file));
    expect(result.outcome).toBe('too-large');
    expect(result.size).toBeLessThanOrEqual(200_000);
  });

  it('writes a partial batch once the body pauses, without waiting for the rest', async () => {
    const file = randomBytes(300_000);
    let release!: () => void;
    const paused = new Promise<void>((resolve) => {
      release = resolve;
    });
    async function* stalling(): AsyncGenerator<Buffer> {
      yield* chunks(file.subarray(0, 100_000));
      await paused;
      yield* chunks(file.subarray(100_000));
    }
    const receiving = files.receivePart(NODE, REC, 0, file.length, stalling());
    const deadline = Date.now() + 5_000;
    while ((await files.partSize(NODE, REC)) < 100_000 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await files.partSize(NODE, REC)).toBe(100_000);
    release();
    const result = await receiving;
    expect(result).toMatchObject({ outcome: 'ended', size: file.length });
    expect(result.hash.digest('hex')).toBe(sha256(file));
  });

  it('an empty body leaves the part as it was', async () => {
    const file = randomBytes(50_000);
    await files.receivePart(NODE, REC, 0, file.length, cutOff(file, 50_000));
    const result = await files.receivePart(NODE, REC, 50_000, 0, chunks(Buffer.alloc(0)));
    expect(result).toMatchObject({ outcome: 'ended', size: 50_000 });
    expect(result.hash.digest('hex')).toBe(sha256(file));
  });
});

describe('direct writes (O_DIRECT) of a part', () => {
  let dir: TempDir;
  let files: RecordingFileStore;
  let supported: boolean;
  beforeEach(async () => {
    dir = await tempDir('part-writer-direct');
    files = new RecordingFileStore(dir.path);
    // Whether this file system takes O_DIRECT at all (Linux's ext4, xfs, btrfs and tmpfs do),
    // asked of the kernel directly, not of the code under test.
    const probe = await open(
      `${dir.path}/probe`,
      constants.O_CREAT | constants.O_WRONLY | (constants.O_DIRECT ?? 0),
    ).then(
      (handle) => handle,
      () => undefined,
    );
    supported = probe !== undefined && constants.O_DIRECT !== undefined;
    await probe?.close();
  });
  afterEach(() => dir.cleanup());

  const part = () => readFile(files.partPath(NODE, REC));

  it('writes every aligned byte around the page cache and the unaligned end through it', async () => {
    const file = randomBytes(2 * WRITE_BATCH_BYTES + 12_345);
    const result = await files.receivePart(NODE, REC, 0, file.length, chunks(file));
    expect(result).toMatchObject({ outcome: 'ended', size: file.length });
    expect(result.direct).toBe(supported ? alignDown(file.length) : 0);
    expect(result.hash.digest('hex')).toBe(sha256(file));
    expect((await part()).equals(file)).toBe(true);
  });

  it('a resumed upload at an unaligned offset writes its start through the page cache, then directly', async () => {
    const file = randomBytes(3 * WRITE_BATCH_BYTES);
    const cutAt = WRITE_BATCH_BYTES + 3 * 64 * 1024 + 1_001;
    await files.receivePart(NODE, REC, 0, file.length, cutOff(file, cutAt));
    const rest = await files.receivePart(NODE, REC, cutAt, file.length - cutAt, chunks(file.subarray(cutAt)));
    expect(rest).toMatchObject({ outcome: 'ended', size: file.length });
    expect(rest.direct).toBe(supported ? alignDown(file.length) - (alignDown(cutAt) + DIRECT_ALIGN) : 0);
    expect(rest.hash.digest('hex')).toBe(sha256(file));
    expect((await part()).equals(file)).toBe(true);
  });

  it('any chunk sizes, cuts and resumes leave exactly the file', async () => {
    for (let round = 0; round < 12; round++) {
      const file = randomBytes(randomInt(1, 5 * WRITE_BATCH_BYTES));
      const cuts = [randomInt(0, file.length), randomInt(0, file.length)].sort((a, b) => a - b);
      let held = 0;
      for (const cutAt of cuts) {
        const first = await files.receivePart(
          NODE,
          REC,
          held,
          file.length - held,
          cutOff(file.subarray(held), cutAt - held),
        );
        held = first.size;
        expect(held).toBe(cutAt);
      }
      const last = await files.receivePart(
        NODE,
        REC,
        held,
        file.length - held,
        randomChunks(file.subarray(held)),
      );
      expect(last).toMatchObject({ outcome: 'ended', size: file.length });
      expect(last.hash.digest('hex')).toBe(sha256(file));
      expect((await part()).equals(file)).toBe(true);
      await files.deletePart(NODE, REC);
    }
  });

  it('where the file system refuses a direct write (EINVAL), the part is written through the page cache', async () => {
    const path = files.partPath(NODE, REC);
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(path, 'w');
    let refused = 0;
    const refusing: DirectHandle = {
      write: async () => {
        refused++;
        throw Object.assign(new Error('EINVAL: invalid argument, write'), { code: 'EINVAL' });
      },
      close: async () => {},
    };
    const file = randomBytes(3 * WRITE_BATCH_BYTES + 777);
    try {
      const result = await writePartBody(handle, 0, file.length, chunks(file), new DirectWriter(refusing));
      expect(result).toMatchObject({ outcome: 'ended', size: file.length, direct: 0 });
      expect(result.hash.digest('hex')).toBe(sha256(file));
    } finally {
      await handle.close();
    }
    // Refused once; not tried again on this part.
    expect(refused).toBe(1);
    expect((await part()).equals(file)).toBe(true);
  });

  it('without memory for the slabs (a low ulimit -v refuses it), the part is written through the page cache', async () => {
    const path = files.partPath(NODE, REC);
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(path, 'w');
    const noMemory = new SlabPool(() => {
      throw new RangeError('WebAssembly.Memory(): could not allocate memory');
    });
    const directHandle = await open(path, constants.O_WRONLY | (supported ? constants.O_DIRECT : 0));
    const file = randomBytes(2 * WRITE_BATCH_BYTES + 99);
    try {
      const direct = new DirectWriter(directHandle, noMemory);
      const result = await writePartBody(handle, 0, file.length, chunks(file), direct);
      expect(result).toMatchObject({ outcome: 'ended', size: file.length, direct: 0 });
    } finally {
      await directHandle.close();
      await handle.close();
    }
    expect((await part()).equals(file)).toBe(true);
  });

  it("any other failure of a direct write is the disk's, and fails the request", async () => {
    const path = files.partPath(NODE, REC);
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(path, 'w');
    // Open for reading only: the kernel answers a write with EBADF.
    const readOnly = await open(path, 'r');
    const file = randomBytes(2 * WRITE_BATCH_BYTES);
    try {
      await expect(
        writePartBody(handle, 0, file.length, chunks(file), new DirectWriter(readOnly)),
      ).rejects.toMatchObject({ code: 'EBADF' });
    } finally {
      await readOnly.close();
      await handle.close();
    }
  });
});
