/**
 * Streams PCM (16- or 24-bit, pcm-format.ts) into a WAV file durably: `<path>.part` → fsync → atomic rename →
 * fsync of the directory, and reports the SHA-256 of the final bytes.
 *
 * Hashing: the header sits in front of the data and holds the data size, and SHA-256
 * can only be fed front to back, so the header must be final before the first byte is
 * hashed. When the length is known up-front (`maxDurationMs`, the scheduled-recording
 * case) we write the final header first and hash header + data as they are written:
 * no second pass. If the recording then ends early, or has no declared length, the
 * header is patched at the end and the file is hashed by streaming it back from disk
 * (one sequential read, constant memory). Either way the digest covers exactly the
 * bytes of the renamed file, so it equals `sha256sum` of it.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type BitDepth, bytesPerSample, DEFAULT_BIT_DEPTH } from './pcm-format.js';

export interface WavWriterOptions {
  /** Final path; data goes to `<path>.part` until finish(). */
  path: string;
  sampleRate: number;
  channels: number;
  /** Bits per sample of the PCM written; default 16. */
  bitDepth?: BitDepth;
  /** Stop accepting samples after exactly this much audio (sample-accurate). */
  maxDurationMs?: number;
  /** fsync after this many bytes since the last one. Default 1 MiB. */
  fsyncEveryBytes?: number;
}

export interface WavResult {
  path: string;
  sizeBytes: number;
  sha256: string;
  durationMs: number;
  sampleRate: number;
  channels: number;
  bitDepth: BitDepth;
}

export const WAV_HEADER_BYTES = 44;
/** RIFF sizes are 32-bit; the RIFF size field is data + 36. */
const MAX_DATA_BYTES = 0xffff_ffff - 36;

/**
 * A canonical 44-byte PCM WAV header. 24-bit too is plain WAVE_FORMAT_PCM (what sox, ffmpeg and
 * libsndfile read; WAVE_FORMAT_EXTENSIBLE adds only a channel mask we do not know).
 */
export function wavHeader(
  sampleRate: number,
  channels: number,
  dataBytes: number,
  bitDepth: BitDepth = DEFAULT_BIT_DEPTH,
): Buffer {
  const blockAlign = channels * bytesPerSample(bitDepth);
  const header = Buffer.alloc(WAV_HEADER_BYTES);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * blockAlign, 28);
  header.writeUInt16LE(blockAlign, 32);
  header.writeUInt16LE(bitDepth, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(dataBytes, 40);
  return header;
}

/**
 * Lifecycle: `await open()`, `write(chunk)` any number of times (synchronous: chunks
 * are queued and written in order), then `await finish()` or `await abort()`.
 * A write failure is kept and thrown by finish().
 */
export class WavWriter {
  readonly partPath: string;
  private readonly blockAlign: number;
  private readonly maxDataBytes: number;
  private readonly declaredDataBytes: number | undefined;
  private readonly fsyncEveryBytes: number;
  private file: FileHandle | undefined;
  private hash: Hash | undefined;
  /** Data bytes accepted by write(); the queue may not have reached the disk yet. */
  private acceptedBytes = 0;
  private bytesSinceSync = 0;
  private carry: Buffer = Buffer.alloc(0);
  private queue: Promise<void> = Promise.resolve();
  private failure: unknown;
  private state: 'new' | 'open' | 'closing' | 'done' = 'new';

  constructor(private readonly options: WavWriterOptions) {
    this.partPath = `${options.path}.part`;
    this.blockAlign = options.channels * bytesPerSample(options.bitDepth);
    const maxWholeFrames = Math.floor(MAX_DATA_BYTES / this.blockAlign);
    if (options.maxDurationMs !== undefined) {
      const frames = Math.round((options.sampleRate * options.maxDurationMs) / 1000);
      this.declaredDataBytes = Math.min(frames, maxWholeFrames) * this.blockAlign;
      this.maxDataBytes = this.declaredDataBytes;
    } else {
      this.maxDataBytes = maxWholeFrames * this.blockAlign;
    }
    this.fsyncEveryBytes = options.fsyncEveryBytes ?? 1024 * 1024;
  }

  /** Audio frames (one sample per channel) accepted so far. */
  get frames(): number {
    return this.acceptedBytes / this.blockAlign;
  }

  /** True once the maximum duration (or the WAV size limit) has been reached. */
  get isFull(): boolean {
    return this.acceptedBytes >= this.maxDataBytes;
  }

  /** A queued write failed; finish() will throw it. Further chunks are dropped. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  async open(): Promise<void> {
    if (this.state !== 'new') throw new Error('WavWriter already opened');
    this.file = await open(this.partPath, 'w');
    this.state = 'open';
    const header = this.header(this.declaredDataBytes ?? 0);
    if (this.declaredDataBytes !== undefined) this.hash = createHash('sha256').update(header);
    this.enqueue(header);
  }

  /** Queues a chunk; bytes past the maximum duration are dropped. Returns bytes accepted. */
  write(chunk: Buffer): number {
    if (this.state !== 'open') throw new Error('WavWriter is not open');
    if (this.isFull) return 0;
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const room = this.maxDataBytes - this.acceptedBytes;
    const wholeBytes = Math.min(room, data.length - (data.length % this.blockAlign));
    // Once full the rest is dropped; otherwise keep the split frame for the next chunk.
    // Copies: the caller may reuse its buffer before the queued write runs.
    this.carry = wholeBytes === room ? Buffer.alloc(0) : Buffer.from(data.subarray(wholeBytes));
    if (wholeBytes === 0) return 0;
    const accepted = Buffer.from(data.subarray(0, wholeBytes));
    this.acceptedBytes += wholeBytes;
    this.hash?.update(accepted);
    this.enqueue(accepted);
    return wholeBytes;
  }

  /** Flushes, finalises the header, fsyncs, renames into place and hashes. */
  async finish(): Promise<WavResult> {
    if (this.state !== 'open') throw new Error('WavWriter is not open');
    this.state = 'closing';
    await this.queue;
    let sha256: string;
    try {
      if (this.failure !== undefined) throw this.failure;
      const file = this.file!;
      const dataBytes = this.acceptedBytes; // a trailing partial frame (carry) is dropped
      if (dataBytes !== this.declaredDataBytes) {
        this.hash = undefined; // the header it covered is wrong now
        const header = this.header(dataBytes);
        await file.write(header, 0, header.length, 0);
      }
      await file.sync();
      await file.close();
      this.file = undefined;
      sha256 = this.hash ? this.hash.digest('hex') : await hashFile(this.partPath);
      await rename(this.partPath, this.options.path);
    } catch (error) {
      await this.discard();
      throw error;
    }
    await syncDirectory(dirname(this.options.path));
    this.state = 'done';
    return {
      path: this.options.path,
      sizeBytes: WAV_HEADER_BYTES + this.acceptedBytes,
      sha256,
      durationMs: Math.round((this.frames * 1000) / this.options.sampleRate),
      sampleRate: this.options.sampleRate,
      channels: this.options.channels,
      bitDepth: this.options.bitDepth ?? DEFAULT_BIT_DEPTH,
    };
  }

  private header(dataBytes: number): Buffer {
    const { sampleRate, channels, bitDepth } = this.options;
    return wavHeader(sampleRate, channels, dataBytes, bitDepth);
  }

  /** Closes and deletes the `.part` file; nothing is left behind. */
  async abort(): Promise<void> {
    if (this.state === 'done') return;
    this.state = 'closing';
    await this.queue;
    await this.discard();
  }

  private async discard(): Promise<void> {
    await this.file?.close().catch(() => {});
    this.file = undefined;
    await unlink(this.partPath).catch(() => {});
    this.state = 'done';
  }

  private enqueue(buffer: Buffer): void {
    this.queue = this.queue.then(async () => {
      if (this.failure !== undefined || !this.file) return;
      try {
        await this.writeAll(this.file, buffer);
        this.bytesSinceSync += buffer.length;
        if (this.bytesSinceSync >= this.fsyncEveryBytes) {
          this.bytesSinceSync = 0;
          await this.file.sync();
        }
      } catch (error) {
        this.failure = error;
      }
    });
  }

  private async writeAll(file: FileHandle, buffer: Buffer): Promise<void> {
    let offset = 0;
    while (offset < buffer.length) {
      const { bytesWritten } = await file.write(buffer, offset, buffer.length - offset);
      offset += bytesWritten;
    }
  }
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function syncDirectory(path: string): Promise<void> {
  const dir = await open(path, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
