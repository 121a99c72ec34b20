/**
 * Writes an upload's body into its part file (opened by file-store.ts) quickly and in
 * bounded memory, hashing the bytes as they arrive:
 *
 * - the chunks the socket delivers (≤ 64 KiB each) are gathered, without copying, into
 *   batches of WRITE_BATCH_BYTES written with one `pwritev` each, one batch in flight
 *   while the next fills; the request is paused while MAX_QUEUED_BATCHES wait, so memory
 *   stays at a few MiB however big the file;
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
    let skip = bytesWritten;
    while (rest.length > 0 && skip >= rest[0]!.length) {
      skip -= rest[0]!.length;
      rest = rest.slice(1);
    }
    if (rest.length === 0) return;
    rest = [rest[0]!.subarray(skip), ...rest.slice(1)];
  }
}

/** Writes batches in order at increasing positions; a bounded number outstanding. */
class WriteBehind {
  private readonly outstanding: Promise<void>[] = [];
  private next: number;

  constructor(
    private readonly handle: FileHandle,
    offset: number,
  ) {
    this.next = offset;
  }

  /** Queues a write after the ones queued before (a failed write fails every later one). */
  enqueue(buffers: Buffer[], bytes: number): void {
    const at = this.next;
    this.next += bytes;
    const write = (this.outstanding.at(-1) ?? Promise.resolve()).then(() =>
      writeFully(this.handle, buffers, at),
    );
    this.outstanding.push(write);
    // Leaves the queue once settled; a failure is thrown by room() or drain().
    write.then(
      () => this.outstanding.splice(this.outstanding.indexOf(write), 1),
      () => {},
    );
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

  /** Adds a chunk; a full batch is queued and waits for room (throws a DiskFailure). */
  async add(chunk: Buffer): Promise<void> {
    this.buffers.push(chunk);
    this.bytes += chunk.length;
    this.lastChunkAt = performance.now();
    this.timer ??= setTimeout(() => this.idle(), IDLE_FLUSH_MS);
    if (this.bytes < WRITE_BATCH_BYTES) return;
    this.flush();
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
    if (this.bytes === 0) return;
    this.writer.enqueue(this.buffers, this.bytes);
    this.buffers = [];
    this.bytes = 0;
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
): Promise<PartWrite> {
  const hash = createHash('sha256');
  if (offset > 0) await hashPrefix(handle, offset, hash);
  const writer = new WriteBehind(handle, offset);
  let received = 0;
  try {
    const outcome = await stream(body, room, hash, writer, (bytes) => {
      received += bytes;
    });
    await writer.drain();
    await handle.datasync();
    return { outcome, received, size: (await handle.stat()).size, hash };
  } catch (error) {
    await writer.settle();
    throw error;
  }
}
