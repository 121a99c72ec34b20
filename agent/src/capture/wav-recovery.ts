/**
 * After a crash or power loss mid-recording, the `.part` file holds the audio that
 * reached the disk but its header may be wrong and nobody hashed it. Make it a valid
 * WAV of the whole frames present, fsync, hash and rename it into place, so it can be
 * uploaded like any other recording.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { bytesPerSample, isBitDepth } from './pcm-format.js';
import { WAV_HEADER_BYTES, wavHeader } from './wav-writer.js';

export interface RecoveredWav {
  path: string;
  sizeBytes: number;
  sha256: string;
  durationMs: number;
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

/** Undefined when neither `<path>.part` nor `<path>` exists (nothing reached the disk). */
export async function recoverWav(path: string): Promise<RecoveredWav | undefined> {
  const partPath = `${path}.part`;
  if (await exists(partPath)) {
    await repairHeader(partPath);
    await rename(partPath, path);
    await syncPath(dirname(path));
  } else if (!(await exists(path))) {
    return undefined;
  }
  return describe(path);
}

async function repairHeader(partPath: string): Promise<void> {
  const file = await open(partPath, 'r+');
  try {
    const { size } = await file.stat();
    const header = Buffer.alloc(WAV_HEADER_BYTES);
    await file.read(header, 0, WAV_HEADER_BYTES, 0);
    const channels = header.readUInt16LE(22);
    const sampleRate = header.readUInt32LE(24);
    const bitDepth = header.readUInt16LE(34);
    if (
      size < WAV_HEADER_BYTES ||
      header.toString('ascii', 0, 4) !== 'RIFF' ||
      channels < 1 ||
      sampleRate < 1 ||
      !isBitDepth(bitDepth)
    ) {
      throw new Error(`${partPath} has no usable WAV header`);
    }
    const blockAlign = channels * bytesPerSample(bitDepth);
    const dataBytes = Math.floor((size - WAV_HEADER_BYTES) / blockAlign) * blockAlign;
    await file.truncate(WAV_HEADER_BYTES + dataBytes);
    await file.write(wavHeader(sampleRate, channels, dataBytes, bitDepth), 0, WAV_HEADER_BYTES, 0);
    await file.sync();
  } finally {
    await file.close();
  }
}

async function describe(path: string): Promise<RecoveredWav> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  let header: Buffer | undefined;
  for await (const chunk of createReadStream(path)) {
    const bytes = chunk as Buffer;
    header ??= bytes.subarray(0, WAV_HEADER_BYTES);
    sizeBytes += bytes.length;
    hash.update(bytes);
  }
  const byteRate = header && header.length >= 32 ? header.readUInt32LE(28) : 0;
  const dataBytes = Math.max(0, sizeBytes - WAV_HEADER_BYTES);
  return {
    path,
    sizeBytes,
    sha256: hash.digest('hex'),
    durationMs: byteRate > 0 ? Math.round((dataBytes * 1000) / byteRate) : 0,
  };
}

async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
