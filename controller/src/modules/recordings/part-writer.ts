/**
 * Writes an upload's body into its part file (opened by file-store.ts) quickly and in
 * bounded memory, hashing the bytes as they arrive:
 *
 * - the chunks the socket delivers (≤ 64 KiB each) are gathered, without copying, into
 *   batches of about WRITE_BATCH_BYTES that end on a DIRECT_ALIGN boundary of the file, one
 *   batch in flight while the next fills; the request is paused while MAX_QUEUED_BATCHES
 *   wait, so memory stays at a few MiB however big the file;
 * - a batch's aligned middle is written with O_DIRECT where the part's file system takes it
 *   (direct-io.ts: why, and how), its unaligned edges (the start of a resumed upload, the
 *   end of the body, a batch written early because the body paused) with `pwritev` through
 *   the page cache, as is everything where O_DIRECT is refused;
 * - one fdatasync at the end (periodic background fdatasyncs to start the writeback early
 *   measured no better in `npm run bench upload`, and each one is a journal commit);
 * - the SHA-256 sees each byte once, on arrival, in the order written. A resumed upload
 *   (offset > 0) first hashes the part's first `offset` bytes, read back from the disk
 *   (made durable by the request that wrote them), so the digest covers the whole file.
 *
 * What the caller gets back is durable: the part is fdatasynced and its size read with
 * fstat before the result is returned, whatever the outcome.
 */
import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { sliceBuffers } from './buffer-ranges.js';
import { alignDown, alignUp, type DirectWriter } from './direct-io.js';

const MIB = 1024 * 1024;
/** Bytes gathered from the request for one write. */
export const WRITE_BATCH_BYTES = 2 * MIB;
/** Batches written or waiting before the request is paused (one in flight, one filling behind it). */
const MAX_QUEUED_BATCHES = 2;
/** A partial batch that gets no more bytes for this long is written anyway. */
const IDLE_FLUSH_MS = 20;
/** Read size when hashing a resumed upload's earlier bytes. */
const PREFIX_READ_BYTES = 4 * MIB;

export type PartOutcome = 'ended' | 'interrupted' | 'too-large';

export interface PartWrite {
  outcome: PartOutcome;
  /** Bytes of the request body that fitted the declared room (for the upload metric). */
  received: number;
  /** The part's size once synced. */
  size: number;
  /** Bytes of this request written with O_DIRECT, around the page cache (direct-io.ts). */
  direct: number;
  /** SHA-256 over bytes [0, size) of the part; meaningful only when the outcome is `ended`. */
  hash: Hash;
}

/** The body is larger than the room the declared total leaves. */
class BodyTooLarge extends Error {}

/** A write failed: the disk's failure, not the client's. */
class DiskFailure extends Error {
  constructor(readonly failure: unknown) {
    super('the part could not be written');
  }
}

/** A pwritev that goes on after a short write. */
async function writeFully(handle: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let rest = buffers;
  let at = position;
  for (;;) {
    const { bytesWritten } = await handle.writev(rest, at);
    at += bytesWritten;
    rest = sliceBuffers(rest, bytesWritten);
    if (rest.length === 0) return;
  }
}

/** Writes batches in order at increasing positions; a bounded number outstanding. */
class WriteBehind {
  private readonly outstanding: Promise<void>[] = [];
  private nextPosition: number;
  /** Bytes written with O_DIRECT so far. */
  directBytes = 0;
  /** Bytes went through the page cache since the part was last synced. */
  private cached = false;

  constructor(
    private readonly handle: FileHandle,
    private readonly direct: DirectWriter | undefined,
    offset: number,
  ) {
    this.nextPosition = offset;
  }

  /** Where the next queued batch will be written. */
  get next(): number {
    return this.nextPosition;
  }

  /** Queues a write after the ones queued before (a failed write fails every later one). */
  enqueue(buffers: Buffer[], bytes: number): void {
    const at = this.nextPosition;
    this.nextPosition += bytes;
    const write = (this.outstanding.at(-1) ?? Promise.resolve()).then(() =>
      this.writeRange(buffers, at, bytes),
    );
    this.outstanding.push(write);
    // Leaves the queue once settled; a failure is thrown by room() or drain().
    write.then(
      () => this.outstanding.splice(this.outstanding.indexOf(write), 1),
      () => {},
    );
  }

  /**
   * Writes `bytes` of `buffers` at `position`: the aligned middle through `direct` when there
   * is one (as much of it as it takes), everything else through the page cache.
   *
   * A direct write that extends the file has the file system record the new size at once,
   * while bytes before it written through the page cache may still be only in memory: a
   * power cut would then leave a part whose size counts bytes it never got (zeros), and the
   * agent would resume after them. So those bytes are synced first (rare: a resumed upload's
   * first page, a batch written early because the body paused, a write with no slab free).
   */
  private async writeRange(buffers: Buffer[], position: number, bytes: number): Promise<void> {
    const start = alignUp(position) - position;
    const end = alignDown(position + bytes) - position;
    if (this.direct === undefined || end <= start) return this.writeCached(buffers, position);
    if (start > 0) await this.writeCached(sliceBuffers(buffers, 0, start), position);
    const directly = await this.direct.write(
      sliceBuffers(buffers, start, end),
      position + start,
      end - start,
      () => this.syncCached(),
    );
    this.directBytes += directly;
    const wrote = start + directly;
    if (wrote < bytes) await this.writeCached(sliceBuffers(buffers, wrote), position + wrote);
  }

  private async writeCached(buffers: Buffer[], position: number): Promise<void> {
    this.cached = true;
    await writeFully(this.handle, buffers, position);
  }

  /** Syncs what went through the page cache since the last sync, if anything did. */
  private async syncCached(): Promise<void> {
    if (!this.cached) return;
    await this.handle.datasync();
    this.cached = false;
  }

  /** Resolves once fewer than MAX_QUEUED_BATCHES writes are outstanding; throws a disk error. */
  async room(): Promise<void> {
    while (this.outstanding.length >= MAX_QUEUED_BATCHES) await this.outstanding[0];
  }

  /** Waits for every queued write; throws the first disk error. */
  async drain(): Promise<void> {
    while (this.outstanding.length > 0) await this.outstanding[0];
  }

  /** Lets every started write settle (after a failure, before the part is closed). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.outstanding);
  }
}

/** Hashes the part's first `bytes` bytes (what earlier requests of a resumed upload wrote). */
async function hashPrefix(handle: FileHandle, bytes: number, hash: Hash): Promise<void> {
  const buffer = Buffer.allocUnsafe(Math.min(PREFIX_READ_BYTES, bytes));
  for (let at = 0; at < bytes; ) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, bytes - at), at);
    if (bytesRead === 0) throw new Error(`the part ended at ${at} bytes, before the ${bytes} it held`);
    hash.update(buffer.subarray(0, bytesRead));
    at += bytesRead;
  }
}

/**
 * Gathers the body's chunks into batches for `writer`. A batch that stops growing (the
 * client paused or stalled) is written after IDLE_FLUSH_MS, so what arrived reaches the
 * part (and the status query) without waiting for the rest of the batch.
 */
class Batcher {
  private buffers: Buffer[] = [];
  private bytes = 0;
  private lastChunkAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly writer: WriteBehind) {}

  /**
   * Adds a chunk; a full batch is queued, up to the last DIRECT_ALIGN boundary of the file
   * it reaches (the bytes after it start the next batch), and waits for room (throws a
   * DiskFailure).
   */
  async add(chunk: Buffer): Promise<void> {
    this.buffers.push(chunk);
    this.bytes += chunk.length;
    this.lastChunkAt = performance.now();
    this.timer ??= setTimeout(() => this.idle(), IDLE_FLUSH_MS);
    if (this.bytes < WRITE_BATCH_BYTES) return;
    this.queue(alignDown(this.writer.next + this.bytes) - this.writer.next);
    await this.writer.room().catch((error: unknown) => {
      throw new DiskFailure(error);
    });
  }

  /** Stops the idle timer (what is gathered stays unwritten unless flushed). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Queues what is gathered and stops the idle timer. */
  flush(): void {
    this.stop();
    this.queue(this.bytes);
  }

  /** Queues the first `bytes` gathered; the rest stays gathered. */
  private queue(bytes: number): void {
    if (bytes === 0) return;
    this.writer.enqueue(sliceBuffers(this.buffers, 0, bytes), bytes);
    this.buffers = sliceBuffers(this.buffers, bytes);
    this.bytes -= bytes;
  }

  private idle(): void {
    this.timer = undefined;
    const quietFor = performance.now() - this.lastChunkAt;
    if (quietFor >= IDLE_FLUSH_MS) this.flush();
    else if (this.bytes > 0) this.timer = setTimeout(() => this.idle(), IDLE_FLUSH_MS - quietFor);
  }
}

/** Streams the body into the part's batches; the outcome, or throws a disk error. */
async function stream(
  body: AsyncIterable<Buffer>,
  room: number,
  hash: Hash,
  writer: WriteBehind,
  counted: (bytes: number) => void,
): Promise<PartOutcome> {
  const batcher = new Batcher(writer);
  let received = 0;
  let outcome: PartOutcome = 'ended';
  try {
    for await (const chunk of body) {
      received += chunk.length;
      if (received > room) throw new BodyTooLarge();
      counted(chunk.length);
      hash.update(chunk);
      await batcher.add(chunk);
    }
  } catch (error) {
    if (error instanceof DiskFailure) {
      batcher.stop();
      throw error.failure;
    }
    outcome = error instanceof BodyTooLarge ? 'too-large' : 'interrupted';
  }
  // What arrived before the end or the cut is kept (the agent resumes after it); a
  // too-large body is cut back to its offset by the caller.
  batcher.flush();
  return outcome;
}

/**
 * Writes `body` into the part from `offset` (the part's current size) with at most
 * `room` bytes; see the file comment. Throws only for a disk error (after settling).
 */
export async function writePartBody(
  handle: FileHandle,
  offset: number,
  room: number,
  body: AsyncIterable<Buffer>,
  direct?: DirectWriter,
): Promise<PartWrite> {
  const hash = createHash('sha256');
  if (offset > 0) await hashPrefix(handle, offset, hash);
  const writer = new WriteBehind(handle, direct, offset);
  let received = 0;
  try {
    const outcome = await stream(body, room, hash, writer, (bytes) => {
      received += bytes;
    });
    await writer.drain();
    await handle.datasync();
    return { outcome, received, size: (await handle.stat()).size, direct: writer.directBytes, hash };
  } catch (error) {
    await writer.settle();
    throw error;
  }
}
