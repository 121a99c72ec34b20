/**
 * FLAC for recording profiles that ask for it: the finished WAV is encoded losslessly by sox
 * (already the capture tool, so no new dependency: sox links libFLAC, the reference encoder)
 * into `<name>.flac.part` → fsync → atomic rename → fsync of the directory, then the WAV is
 * removed. Encoding the finished file rather than the live stream keeps the WAV writer's
 * guarantees (sample-accurate length, crash recovery of the part) for FLAC recordings too: a
 * crash before the rename leaves the WAV, which is uploaded as it is.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { SOX_INSTALL_HINT } from './capture.js';
import type { WavResult } from './wav-writer.js';

const run = promisify(execFile);

/** The FLAC file's path for a WAV path (`x.wav` → `x.flac`). */
export function flacPathFor(wavPath: string): string {
  return wavPath.replace(/\.wav$/i, '') + '.flac';
}

/**
 * Encodes `wav` to FLAC beside it and removes the WAV; the result describes the FLAC file.
 * `-D`: no dither, so the samples are kept exactly (a FLAC decodes to the WAV's samples).
 */
export async function encodeFlac(wav: WavResult, sox = 'sox'): Promise<WavResult> {
  const path = flacPathFor(wav.path);
  const part = `${path}.part`;
  try {
    await run(sox, ['-D', '-V1', wav.path, '-t', 'flac', part], { timeout: 10 * 60_000 });
  } catch (error) {
    await unlink(part).catch(() => {});
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error(`sox is not installed or not on PATH (${SOX_INSTALL_HINT})`);
    throw new Error(`FLAC encoding failed: ${(e.stderr || e.message).trim()}`);
  }
  const file = await open(part, 'r+');
  try {
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(part, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
  await unlink(wav.path);
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return { ...wav, path, sizeBytes: (await stat(path)).size, sha256: hash.digest('hex') };
}
