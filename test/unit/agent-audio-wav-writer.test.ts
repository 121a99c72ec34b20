import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WAV_HEADER_BYTES, WavWriter } from '../../agent/src/capture/wav-writer.js';
import { type TempDir, tempDir } from '../support/tmp.js';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir('wav');
});
afterEach(async () => {
  await dir.cleanup();
});

/** Deterministic interleaved s16le frames: sample k of the stream has value k mod 30000. */
function ramp(frames: number, channels: number, start = 0): Buffer {
  const buf = Buffer.alloc(frames * channels * 2);
  for (let i = 0; i < frames * channels; i++) buf.writeInt16LE((start + i) % 30000, i * 2);
  return buf;
}

/** Feeds `pcm` in chunks of 1..maxChunk bytes, splitting samples and frames anywhere. */
function feed(writer: WavWriter, pcm: Buffer, maxChunk: number): void {
  let seed = 7;
  for (let offset = 0; offset < pcm.length; ) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    const size = 1 + (seed % maxChunk);
    writer.write(pcm.subarray(offset, offset + size));
    offset += size;
  }
}

function parseHeader(file: Buffer) {
  return {
    riff: file.toString('ascii', 0, 4),
    riffSize: file.readUInt32LE(4),
    wave: file.toString('ascii', 8, 12),
    fmt: file.toString('ascii', 12, 16),
    fmtSize: file.readUInt32LE(16),
    format: file.readUInt16LE(20),
    channels: file.readUInt16LE(22),
    sampleRate: file.readUInt32LE(24),
    byteRate: file.readUInt32LE(28),
    blockAlign: file.readUInt16LE(32),
    bitsPerSample: file.readUInt16LE(34),
    data: file.toString('ascii', 36, 40),
    dataSize: file.readUInt32LE(40),
  };
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('WavWriter', () => {
  it('writes a correct header, the data, and the sha256 of the final file (open-ended length)', async () => {
    const path = join(dir.path, 'open-ended.wav');
    const writer = new WavWriter({ path, sampleRate: 16_000, channels: 2, fsyncEveryBytes: 4096 });
    await writer.open();
    const pcm = ramp(12_345, 2);
    feed(writer, pcm, 5000);
    const result = await writer.finish();

    const file = await readFile(path);
    expect(parseHeader(file)).toEqual({
      riff: 'RIFF',
      riffSize: 36 + pcm.length,
      wave: 'WAVE',
      fmt: 'fmt ',
      fmtSize: 16,
      format: 1,
      channels: 2,
      sampleRate: 16_000,
      byteRate: 64_000,
      blockAlign: 4,
      bitsPerSample: 16,
      data: 'data',
      dataSize: pcm.length,
    });
    expect(file.subarray(WAV_HEADER_BYTES).equals(pcm)).toBe(true);
    expect(result).toEqual({
      path,
      sizeBytes: file.length,
      sha256: sha256(file),
      durationMs: Math.round((12_345 * 1000) / 16_000),
      sampleRate: 16_000,
      channels: 2,
      bitDepth: 16,
    });
    expect(await readdir(dir.path)).toEqual(['open-ended.wav']);
  });

  it('writes 24-bit PCM: 3-byte samples, its block align and byte rate, frames never split', async () => {
    const path = join(dir.path, 'deep.wav');
    const writer = new WavWriter({ path, sampleRate: 48_000, channels: 2, bitDepth: 24, maxDurationMs: 100 });
    await writer.open();
    const pcm = Buffer.alloc(6000 * 2 * 3);
    for (let i = 0; i < 6000 * 2; i++) pcm.writeIntLE((i * 997) % 2 ** 23, i * 3, 3);
    feed(writer, pcm, 101);
    expect(writer.frames).toBe(4800);
    const result = await writer.finish();
    const file = await readFile(path);
    expect(parseHeader(file)).toMatchObject({
      channels: 2,
      sampleRate: 48_000,
      byteRate: 48_000 * 6,
      blockAlign: 6,
      bitsPerSample: 24,
      dataSize: 4800 * 6,
    });
    expect(file.subarray(WAV_HEADER_BYTES).equals(pcm.subarray(0, 4800 * 6))).toBe(true);
    expect(result).toMatchObject({ durationMs: 100, bitDepth: 24, sha256: sha256(file) });
  });

  it('stops after exactly maxDurationMs of samples, splitting the last chunk mid-frame', async () => {
    const path = join(dir.path, 'exact.wav');
    // 250 ms at 48 kHz = 12 000 frames; 3 channels so chunks split samples and frames.
    const writer = new WavWriter({ path, sampleRate: 48_000, channels: 3, maxDurationMs: 250 });
    await writer.open();
    const pcm = ramp(20_000, 3);
    feed(writer, pcm, 777);
    expect(writer.isFull).toBe(true);
    expect(writer.frames).toBe(12_000);
    expect(writer.write(ramp(10, 3))).toBe(0);
    const result = await writer.finish();

    const file = await readFile(path);
    expect(parseHeader(file).dataSize).toBe(12_000 * 6);
    expect(parseHeader(file).riffSize).toBe(36 + 12_000 * 6);
    expect(file.subarray(WAV_HEADER_BYTES).equals(pcm.subarray(0, 12_000 * 6))).toBe(true);
    expect(result.durationMs).toBe(250);
    expect(result.sizeBytes).toBe(file.length);
    // Hashed while writing (the final header was known up-front): still the file's hash.
    expect(result.sha256).toBe(sha256(file));
    expect(await readdir(dir.path)).toEqual(['exact.wav']);
  });

  it('patches the header and still hashes the final bytes when a fixed-length recording ends early', async () => {
    const path = join(dir.path, 'early.wav');
    const writer = new WavWriter({ path, sampleRate: 8000, channels: 1, maxDurationMs: 10_000 });
    await writer.open();
    const pcm = ramp(1000, 1);
    // A trailing half sample (odd byte) never reaches the file.
    feed(writer, Buffer.concat([pcm, Buffer.from([0x7f])]), 300);
    const result = await writer.finish();

    const file = await readFile(path);
    expect(parseHeader(file).dataSize).toBe(2000);
    expect(file.length).toBe(WAV_HEADER_BYTES + 2000);
    expect(result).toMatchObject({ sizeBytes: file.length, sha256: sha256(file), durationMs: 125 });
  });

  it('abort() leaves nothing behind', async () => {
    const writer = new WavWriter({ path: join(dir.path, 'gone.wav'), sampleRate: 8000, channels: 1 });
    await writer.open();
    writer.write(ramp(100, 1));
    expect(await readdir(dir.path)).toEqual(['gone.wav.part']);
    await writer.abort();
    expect(await readdir(dir.path)).toEqual([]);
  });

  it('open() fails cleanly when the folder does not exist', async () => {
    const writer = new WavWriter({ path: join(dir.path, 'sub', 'x.wav'), sampleRate: 8000, channels: 1 });
    await expect(writer.open()).rejects.toThrow(/ENOENT/);
    expect(await readdir(dir.path)).toEqual([]);
  });
});
