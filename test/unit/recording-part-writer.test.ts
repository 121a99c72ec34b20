import { createHash, randomBytes, randomInt } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
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
        expect(held, `a ${file.length}-byte file cut at ${cuts}`).toBe(cutAt);
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
      expect((await part()).equals(file), `a ${file.length}-byte file cut at ${cuts}`).toBe(true);
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

/**
 * The writer's side of O_DIRECT on any file system: the "direct" handle is a plain one that
 * checks what O_DIRECT demands of each write (memory, position and length aligned) and
 * records it, and the part's handle records its page-cache writes and its syncs.
 */
describe('what the writer asks of O_DIRECT, on any file system', () => {
  let dir: TempDir;
  let path: string;
  let events: string[];
  let handle: FileHandle;
  let plain: FileHandle;
  beforeEach(async () => {
    dir = await tempDir('part-writer-contract');
    path = join(dir.path, 'part');
    events = [];
    const real = await open(path, 'w+');
    plain = await open(path, 'r+');
    // The part's handle, recording what goes through the page cache and each sync.
    handle = new Proxy(real, {
      get(target, key) {
        if (key === 'writev') events.push('cached');
        if (key === 'datasync') events.push('sync');
        const value = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  });
  afterEach(async () => {
    await plain.close();
    await handle.close();
    await dir.cleanup();
  });

  /** A direct handle that checks O_DIRECT's alignment and then writes what `answer` lets it. */
  function checkingHandle(answer: (call: number, length: number) => number | Error = (_, length) => length) {
    let calls = 0;
    const write = async (buffer: Buffer, offset: number, length: number, position: number) => {
      const memory = buffer.byteOffset + offset;
      if (memory % DIRECT_ALIGN || position % DIRECT_ALIGN || length % DIRECT_ALIGN || length === 0)
        throw new Error(`unaligned direct write: memory ${memory}, position ${position}, length ${length}`);
      const allowed = answer(calls++, length);
      if (allowed instanceof Error) throw allowed;
      events.push('direct');
      return plain.write(buffer, offset, allowed, position);
    };
    return { write: write as DirectHandle['write'], close: async () => {} };
  }

  /** Every direct write comes after a sync of any page-cache write before it. */
  function expectSyncedBeforeDirect(): void {
    let unsynced = false;
    for (const event of events) {
      if (event === 'cached') unsynced = true;
      if (event === 'sync') unsynced = false;
      if (event === 'direct') expect(unsynced, events.join(' ')).toBe(false);
    }
  }

  it('aligns every direct write, and syncs page-cache bytes before a direct write lands after them', async () => {
    const file = randomBytes(4 * WRITE_BATCH_BYTES);
    const offset = 123_457; // a resumed upload: its first page through the page cache
    await writeFile(path, file.subarray(0, offset));
    let release!: () => void;
    const paused = new Promise<void>((resolve) => {
      release = resolve;
    });
    async function* pausing(): AsyncGenerator<Buffer> {
      yield* randomChunks(file.subarray(offset, 3 * WRITE_BATCH_BYTES + 5));
      await paused; // the body pauses: what arrived is written early, ending unaligned
      yield* randomChunks(file.subarray(3 * WRITE_BATCH_BYTES + 5));
    }
    setTimeout(release, 100);
    const result = await writePartBody(
      handle,
      offset,
      file.length - offset,
      pausing(),
      new DirectWriter(checkingHandle()),
    );
    expect(result).toMatchObject({ outcome: 'ended', size: file.length });
    expect(result.hash.digest('hex')).toBe(sha256(file));
    expect((await readFile(path)).equals(file)).toBe(true);
    expect(result.direct).toBeGreaterThan(3 * WRITE_BATCH_BYTES);
    expect(events).toContain('cached');
    expectSyncedBeforeDirect();
  });

  it('with no slab free, writes through the page cache without a sync per batch', async () => {
    const pool = new SlabPool();
    const taken = Array.from({ length: 8 }, () => pool.take());
    expect(pool.take()).toBeUndefined();
    const file = randomBytes(3 * WRITE_BATCH_BYTES + 1);
    const result = await writePartBody(
      handle,
      0,
      file.length,
      chunks(file),
      new DirectWriter(checkingHandle(), pool),
    );
    expect(result).toMatchObject({ outcome: 'ended', size: file.length, direct: 0 });
    expect((await readFile(path)).equals(file)).toBe(true);
    expect(events.filter((event) => event === 'sync')).toEqual(['sync']); // the one at the end
    for (const slab of taken) if (slab) pool.give(slab);
  });

  it('a short direct write that breaks the alignment leaves the rest to the page cache, and nothing is lost', async () => {
    const file = randomBytes(3 * WRITE_BATCH_BYTES);
    // The first direct write stops 1,000 bytes short of a page boundary.
    const direct = new DirectWriter(checkingHandle((call, length) => (call === 0 ? length - 5_096 : length)));
    const result = await writePartBody(handle, 0, file.length, chunks(file), direct);
    expect(result).toMatchObject({ outcome: 'ended', size: file.length });
    expect((await readFile(path)).equals(file)).toBe(true);
    expectSyncedBeforeDirect();
  });

  it('EINVAL after some direct writes: the rest through the page cache, the direct ones counted', async () => {
    const file = randomBytes(4 * WRITE_BATCH_BYTES);
    const einval = Object.assign(new Error('EINVAL: invalid argument, write'), { code: 'EINVAL' });
    let directCalls = 0;
    const direct = new DirectWriter(
      checkingHandle((call, length) => {
        directCalls = call + 1;
        return call < 2 ? length : einval;
      }),
    );
    const result = await writePartBody(handle, 0, file.length, chunks(file), direct);
    expect(result).toMatchObject({ outcome: 'ended', size: file.length });
    expect(result.direct).toBe(2 * WRITE_BATCH_BYTES);
    expect(directCalls).toBe(3); // refused once, then not tried again
    expect((await readFile(path)).equals(file)).toBe(true);
  });
});
