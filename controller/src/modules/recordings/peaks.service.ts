/**
 * A recording's waveform peaks (peaks.ts), computed on the controller from its stored file and
 * cached next to it as `<id>.peaks.json`, so a browser draws a 2-hour recording from a few
 * kilobytes instead of downloading it. The file is decoded by sox (WAV or FLAC, any bit depth)
 * to 16-bit frames on a pipe and folded as it streams: memory stays at the bucket table. One
 * computation per recording at a time; later asks read the cache (checked against the file's
 * SHA-256, so a replaced file is computed again). The cache outlives retention's removal of the
 * local file (a waveform without the audio) and is removed with the recording. Each recording's
 * peaks are computed as it completes (`peaksWarmer`, one at a time), so even a 2-hour
 * recording's first view reads a cache.
 */
import { execFile, spawn } from 'node:child_process';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { ERROR_CODES } from '../../../../shared/src/errors.js';
import type { ChangeFeed } from '../../core/change-feed.js';
import { AppError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Principal } from '../../core/principal.js';
import { trusted, type Visible } from '../../core/visible.js';
import type { Component } from '../../platform/module.js';
import type { RecordingFileStore } from './file-store.js';
import { foldPeaks, PEAK_BUCKETS, PeakAccumulator, type PeakTable } from './peaks.js';
import type { RecordingRow } from './recordings.repository.js';
import type { RecordingsService } from './recordings.service.js';

const run = promisify(execFile);

/** What the cache file holds. */
interface CachedPeaks extends PeakTable {
  version: 1;
  sha256: string | null;
  frames: number;
  sampleRate: number;
  channels: number;
}

export interface RecordingPeaks {
  recordingId: string;
  points: number;
  durationMs: number | null;
  sampleRate: number;
  channels: number;
  min: number[];
  max: number[];
}

export class PeaksService {
  /** Computations under way, by recording id (a second ask waits for the first). */
  private readonly computing = new Map<string, Promise<CachedPeaks>>();

  constructor(
    private readonly recordings: Pick<RecordingsService, 'visibleRecording' | 'completeFileSize'>,
    private readonly files: RecordingFileStore,
    /** A recording by id, whoever asks (the warmer acts for the controller itself). */
    private readonly find: (id: string) => Promise<RecordingRow | null>,
  ) {}

  /** Computes and caches a completed recording's peaks ahead of a first view (nothing when gone or incomplete). */
  async warm(recordingId: string, signal?: AbortSignal): Promise<void> {
    const recording = await this.find(recordingId);
    if (recording?.state !== 'completed' || !recording.filePath || recording.localRemovedAt) return;
    await this.table(trusted(recording, 'peaks computed as a recording completes'), signal);
    // Deleted meanwhile: its cache must not outlive it.
    if (!(await this.find(recordingId))) await this.files.deleteFiles(recording.nodeId, recordingId, null);
  }

  /** `points` peaks of a recording the caller may read (404 outside their scope, 409 without a file). */
  async peaks(principal: Principal, recordingId: string, points: number): Promise<RecordingPeaks> {
    const recording = await this.recordings.visibleRecording(principal, 'recording:read', recordingId);
    const table = await this.table(recording);
    const folded = foldPeaks(table, points);
    return {
      recordingId,
      points: folded.min.length,
      durationMs: recording.durationMs ?? Math.round((table.frames / table.sampleRate) * 1000),
      sampleRate: table.sampleRate,
      channels: table.channels,
      ...folded,
    };
  }

  private async table(recording: Visible<RecordingRow>, signal?: AbortSignal): Promise<CachedPeaks> {
    const cachePath = this.files.peaksPath(recording.nodeId, recording.id);
    const cached = await readCache(cachePath);
    if (cached && cached.sha256 === recording.sha256) return cached;
    const { filePath } = await this.recordings.completeFileSize(recording);
    let pending = this.computing.get(recording.id);
    if (!pending) {
      pending = computePeaks(this.files.absolute(filePath), recording.sha256, signal)
        .then(async (table) => {
          const temporary = `${cachePath}.${process.pid}.tmp`;
          await writeFile(temporary, JSON.stringify(table));
          await rename(temporary, cachePath);
          return table;
        })
        .finally(() => this.computing.delete(recording.id));
      this.computing.set(recording.id, pending);
    }
    return pending;
  }
}

async function readCache(path: string): Promise<CachedPeaks | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as CachedPeaks;
    return parsed.version === 1 && Array.isArray(parsed.min) ? parsed : undefined;
  } catch {
    return undefined; // none yet, or unreadable: computed again
  }
}

/**
 * A stored file sox cannot read as audio (an agent uploaded something else under a valid
 * checksum): the caller's request is fine, the recording cannot give peaks. Not a 5xx.
 */
function undecodable(): AppError {
  return new AppError(
    422,
    ERROR_CODES.unprocessable,
    "The recording's stored file cannot be decoded as WAV or FLAC audio, so it has no waveform; download it to inspect it.",
  );
}

/** What sox says of a file: frames (per channel), channels, sample rate. */
async function soxInfo(path: string): Promise<{ frames: number; channels: number; sampleRate: number }> {
  const ask = async (flag: string) =>
    Number(
      (
        await run('soxi', [flag, path]).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw undecodable();
          throw new AppError(
            503,
            ERROR_CODES.unavailable,
            'Waveform peaks need sox on the controller (Debian: apt-get install sox), which is not installed.',
          );
        })
      ).stdout.trim(),
    );
  const [frames, channels, sampleRate] = [await ask('-s'), await ask('-c'), await ask('-r')];
  if (!(channels > 0 && sampleRate > 0)) throw undecodable();
  return { frames, channels, sampleRate };
}

/** Decodes the file once through sox to 16-bit frames and folds them into PEAK_BUCKETS spans. */
export async function computePeaks(
  path: string,
  sha256: string | null,
  signal?: AbortSignal,
): Promise<CachedPeaks> {
  const { frames, channels, sampleRate } = await soxInfo(path);
  const totalFrames = Math.max(1, frames);
  const peaks = new PeakAccumulator(totalFrames, channels, Math.min(PEAK_BUCKETS, totalFrames));
  // -D: no dither when a 24-bit file is reduced to 16 bits (peaks must not gain noise).
  const sox = spawn('sox', ['-V1', '-D', path, '-t', 'raw', '-e', 'signed-integer', '-b', '16', '-L', '-'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(signal ? { signal } : {}),
  });
  sox.stderr.resume(); // drained, not kept: a failure is told as undecodable()
  const exited = new Promise<number | null>((resolve, reject) => {
    sox.once('error', reject);
    sox.once('close', resolve);
  });
  // An abort (the warmer stopping) fails `exited` while the loop below still reads: handled here
  // so it is never an unhandled rejection; awaited below, it still throws.
  exited.catch(() => undefined);
  for await (const chunk of sox.stdout) peaks.push(chunk as Buffer);
  const code = await exited;
  if (code !== 0) throw undecodable(); // sox's own words name server paths: not for the caller
  return { version: 1, sha256, frames: peaks.frames, sampleRate, channels, ...peaks.table() };
}

/** Most completed recordings waiting for their peaks (more are computed on first view instead). */
const WARM_QUEUE_LIMIT = 1000;

/**
 * Computes each recording's peaks as it completes (heard on the change feed), one recording at
 * a time; stopping drops the queue and ends a computation under way.
 */
export function peaksWarmer(peaks: PeaksService, feed: ChangeFeed, log: Pick<Logger, 'warn'>): Component {
  const queue: string[] = [];
  const abort = new AbortController();
  let running: Promise<void> | undefined;
  let unsubscribe: (() => void) | undefined;
  const next = () => {
    if (running || abort.signal.aborted) return;
    const id = queue.shift();
    if (id === undefined) return;
    running = peaks
      .warm(id, abort.signal)
      .catch((err: unknown) => {
        if (!abort.signal.aborted) log.warn({ err, recordingId: id }, 'waveform peaks not computed ahead');
      })
      .finally(() => {
        running = undefined;
        next();
      });
  };
  return {
    name: 'waveform peaks',
    start: async () => {
      unsubscribe = feed.subscribe((change) => {
        if (change.type !== 'recording.state' || change.data.state !== 'completed') return;
        if (queue.length < WARM_QUEUE_LIMIT && !queue.includes(change.subject.id))
          queue.push(change.subject.id);
        next();
      });
    },
    stop: async () => {
      unsubscribe?.();
      queue.length = 0;
      abort.abort();
      await running;
    },
  };
}
