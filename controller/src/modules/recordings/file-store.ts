/**
 * Recording files on the controller's disk: `<dataDir>/recordings/<nodeId>/<id>.wav` (or `.flac`,
 * as the file turned out to be), with `<id>.wav.part` while an upload is in progress. Only this file touches the
 * recordings folder; paths are built from validated ids (node ids and recording ids
 * are `[A-Za-z0-9_-]`), never from request text.
 */
import { createHash } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, open, rename, stat, truncate, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { AUDIO_PROBE_BYTES, type AudioFacts, audioFacts, type Container } from './audio-facts.js';
import { DirectWriter } from './direct-io.js';
import { type PartWrite, writePartBody } from './part-writer.js';

export { wavDurationMs } from './audio-facts.js';

const SAFE_ID = /^[A-Za-z0-9_-]{1,64}$/;

function checkId(kind: string, id: string): string {
  if (!SAFE_ID.test(id)) throw new Error(`unsafe ${kind} id for a file path: ${JSON.stringify(id)}`);
  return id;
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

export class RecordingFileStore {
  constructor(private readonly dataDir: string) {}

  /** Relative to the data dir; what the database stores. */
  relativePath(nodeId: string, recordingId: string, container: Container = 'wav'): string {
    return join('recordings', checkId('node', nodeId), `${checkId('recording', recordingId)}.${container}`);
  }

  absolute(relativePath: string): string {
    return join(this.dataDir, relativePath);
  }

  partPath(nodeId: string, recordingId: string): string {
    return `${this.absolute(this.relativePath(nodeId, recordingId))}.part`;
  }

  /** The recording's cached waveform peaks (peaks.service.ts), beside its file. */
  peaksPath(nodeId: string, recordingId: string): string {
    return join(
      this.dataDir,
      'recordings',
      checkId('node', nodeId),
      `${checkId('recording', recordingId)}.peaks.json`,
    );
  }

  /** Bytes held of an unfinished upload (0 when there is none). */
  async partSize(nodeId: string, recordingId: string): Promise<number> {
    try {
      return (await stat(this.partPath(nodeId, recordingId))).size;
    } catch (error) {
      if (isMissing(error)) return 0;
      throw error;
    }
  }

  /**
   * Writes an upload's body into the part from `offset` (which the caller checked is the
   * part's size), at most `room` bytes, hashing on arrival (part-writer.ts). The part is
   * durable (fdatasync) when this returns, whatever the outcome; throws for a disk error.
   */
  async receivePart(
    nodeId: string,
    recordingId: string,
    offset: number,
    room: number,
    body: AsyncIterable<Buffer>,
  ): Promise<PartWrite> {
    const path = this.partPath(nodeId, recordingId);
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(path, offset === 0 ? 'w' : 'r+');
    const direct = await DirectWriter.open(path);
    try {
      return await writePartBody(handle, offset, room, body, direct);
    } finally {
      try {
        await direct?.close();
      } finally {
        await handle.close();
      }
    }
  }

  async truncatePart(nodeId: string, recordingId: string, size: number): Promise<void> {
    await truncate(this.partPath(nodeId, recordingId), size);
  }

  async deletePart(nodeId: string, recordingId: string): Promise<void> {
    await unlink(this.partPath(nodeId, recordingId)).catch((error: unknown) => {
      if (!isMissing(error)) throw error;
    });
  }

  /** SHA-256 of the whole part, read back from disk in one sequential pass. */
  async hashPart(nodeId: string, recordingId: string): Promise<string> {
    const hash = createHash('sha256');
    await pipeline(createReadStream(this.partPath(nodeId, recordingId)), hash);
    return hash.digest('hex');
  }

  /** Renames the (synced) part to its final name (by its container) atomically and syncs the folder entry. */
  async promotePart(nodeId: string, recordingId: string, container: Container = 'wav'): Promise<string> {
    const relative = this.relativePath(nodeId, recordingId, container);
    const finalPath = this.absolute(relative);
    await rename(this.partPath(nodeId, recordingId), finalPath);
    const dir = await open(dirname(finalPath), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    return relative;
  }

  /** What the part holds (WAV or FLAC: format and duration), or null when it is neither. */
  async partFacts(nodeId: string, recordingId: string): Promise<AudioFacts | null> {
    const path = this.partPath(nodeId, recordingId);
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      const buffer = Buffer.alloc(Math.min(AUDIO_PROBE_BYTES, size));
      await handle.read(buffer, 0, buffer.length, 0);
      return audioFacts(buffer, size);
    } finally {
      await handle.close();
    }
  }

  /** Removes a recording's file, any unfinished upload of it and its cached peaks (gone already is fine). */
  async deleteFiles(nodeId: string, recordingId: string, relativePath: string | null): Promise<void> {
    const paths = [
      this.partPath(nodeId, recordingId),
      this.peaksPath(nodeId, recordingId),
      ...(relativePath ? [this.absolute(relativePath)] : []),
    ];
    for (const path of paths)
      await unlink(path).catch((error: unknown) => {
        if (!isMissing(error)) throw error;
      });
  }

  async fileSize(relativePath: string): Promise<number | undefined> {
    try {
      return (await stat(this.absolute(relativePath))).size;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  readRange(relativePath: string, start: number, endInclusive: number): ReadStream {
    return createReadStream(this.absolute(relativePath), { start, end: endInclusive });
  }
}
