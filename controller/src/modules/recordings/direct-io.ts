/**
 * Direct I/O (O_DIRECT) for an upload's part: the bytes go from our memory to the disk
 * without passing through the page cache.
 *
 * Why: on the machines `npm run bench upload` runs on (VMs), writing a GiB into the page
 * cache cost 1.2–3.4 s of kernel time, spread over the libuv pool threads that share the
 * cores with the request's own thread and the client; the same GiB written with O_DIRECT
 * cost 0.1–0.2 s of kernel time and 0.3 s of copying into aligned memory, and the one
 * fdatasync at the end has nothing left to write back. An upload is written once and read
 * once much later, so it gains nothing from the cache, and no longer pushes the controller's
 * database pages out of it.
 *
 * O_DIRECT wants the memory address, the file position and the length aligned to the
 * device's block size. DIRECT_ALIGN (4096) covers every block size up to a page. Node's
 * Buffers are not aligned (malloc's header comes first), so each write is copied into a
 * slab of one WebAssembly.Memory, which V8 maps page-aligned; slabs are reused. Positions
 * and lengths are the writer's business (part-writer.ts): it writes the unaligned edges
 * through the page cache.
 *
 * Where the file system does not take O_DIRECT (the open fails, or a write answers
 * EINVAL), the part is written through the page cache as before.
 */
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { sliceBuffers } from './buffer-ranges.js';

/** Alignment of a direct write's memory, position and length. */
export const DIRECT_ALIGN = 4096;
/** Bytes copied and written per direct write. */
const SLAB_BYTES = 2 * 1024 * 1024;
/** Slabs in the pool: uploads beyond this many writing at once go through the page cache. */
const POOL_SLABS = 8;
const WASM_PAGE_BYTES = 64 * 1024;

export const alignDown = (position: number): number => position - (position % DIRECT_ALIGN);
export const alignUp = (position: number): number => alignDown(position + DIRECT_ALIGN - 1);

/** The pool's memory: one WebAssembly.Memory, which V8 maps page-aligned. */
function wasmMemory(bytes: number): ArrayBuffer {
  const pages = bytes / WASM_PAGE_BYTES;
  // A fixed maximum: the memory never grows, so its buffer is never detached.
  return new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer;
}

/** Page-aligned buffers for direct writes, allocated once on first use and lent out. */
export class SlabPool {
  private free: Buffer[] | undefined;

  constructor(private readonly memory: (bytes: number) => ArrayBuffer = wasmMemory) {}

  take(): Buffer | undefined {
    this.free ??= this.allocate();
    return this.free.pop();
  }

  give(slab: Buffer): void {
    this.free?.push(slab);
  }

  /**
   * The slabs; none where the memory cannot be had (V8 reserves guard pages beside a
   * WebAssembly.Memory, which a low `ulimit -v` refuses): every write then goes through
   * the page cache.
   */
  private allocate(): Buffer[] {
    try {
      const memory = this.memory(SLAB_BYTES * POOL_SLABS);
      return Array.from({ length: POOL_SLABS }, (_, i) => Buffer.from(memory, i * SLAB_BYTES, SLAB_BYTES));
    } catch {
      return [];
    }
  }
}

const sharedSlabs = new SlabPool();

/** Copies bytes [from, to) of the concatenated `buffers` into `target` at 0. */
function copyRange(buffers: readonly Buffer[], from: number, to: number, target: Buffer): void {
  let filled = 0;
  for (const slice of sliceBuffers(buffers, from, to)) filled += slice.copy(target, filled);
}

function isInvalid(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'EINVAL';
}

/** What a DirectWriter needs of its handle. */
export type DirectHandle = Pick<FileHandle, 'write' | 'close'>;

/** A second handle on a part, opened with O_DIRECT; see the file comment. */
export class DirectWriter {
  private refused = false;

  /** `handle` must be open with O_DIRECT (see open()); slabs from `slabs` (the process's pool). */
  constructor(
    private readonly handle: DirectHandle,
    private readonly slabs: SlabPool = sharedSlabs,
  ) {}

  /** The part opened for direct writes, or undefined where the platform or file system refuses. */
  static async open(path: string): Promise<DirectWriter | undefined> {
    if (constants.O_DIRECT === undefined) return undefined;
    try {
      return new DirectWriter(await open(path, constants.O_WRONLY | constants.O_DIRECT));
    } catch {
      return undefined;
    }
  }

  /**
   * Writes a prefix of `buffers` (`bytes` long, a multiple of DIRECT_ALIGN) at `position`
   * (aligned); returns how many bytes it wrote, a multiple of DIRECT_ALIGN. Fewer than
   * `bytes` (down to 0) when no slab is free or the file system refuses a direct write (it
   * is then not tried again on this part): the caller writes the rest through the page cache.
   * `beforeWriting` runs once a direct write is certain to be tried, before it. Throws a disk
   * error.
   */
  async write(
    buffers: readonly Buffer[],
    position: number,
    bytes: number,
    beforeWriting: () => Promise<void>,
  ): Promise<number> {
    if (this.refused) return 0;
    const slab = this.slabs.take();
    if (slab === undefined) return 0;
    let done = 0;
    let written = 0;
    try {
      await beforeWriting();
      while (done < bytes) {
        const length = Math.min(SLAB_BYTES, bytes - done);
        copyRange(buffers, done, done + length, slab);
        written = 0;
        while (written < length) {
          const { bytesWritten } = await this.handle.write(
            slab,
            written,
            length - written,
            position + done + written,
          );
          // A short direct write that breaks the alignment (or writes nothing) leaves the rest to the caller.
          if (bytesWritten === 0 || bytesWritten % DIRECT_ALIGN !== 0)
            return done + alignDown(written + bytesWritten);
          written += bytesWritten;
        }
        done += length;
        written = 0;
      }
      return done;
    } catch (error) {
      if (!isInvalid(error)) throw error;
      this.refused = true;
      return done + written;
    } finally {
      this.slabs.give(slab);
    }
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}
