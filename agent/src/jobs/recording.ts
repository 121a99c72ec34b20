/**
 * One recording: a WavWriter fed by the shared capture (through the PcmTap) from its start
 * to its end. The start is the first frame at or after `startAtMs` (at once when unset);
 * the end is `durationMs` of audio (sample-accurate), the last frame before `endAtMs`
 * (wall clock: scheduled windows, so back-to-back windows split the stream at one frame),
 * a stop, or a capture failure. A segment of a long recording starts at a frame index instead
 * (`startAtFrame`: the frame after the previous segment's last, replayed by the tap when it has
 * passed) and its outcome says which frame comes next. A stop may keep recording for a
 * post-roll first (`stopAfter`: exactly that much more audio). Only the selected channels go to the file. Whatever was
 * captured is finished and kept; a FLAC recording is encoded from the finished WAV (when the
 * encoder fails, the WAV is kept and the outcome says why).
 */
import type { CaptureError } from '../capture/capture.js';
import { encodeFlac } from '../capture/flac-encoder.js';
import { LoudnessMeter, type LoudnessSummary } from '../capture/loudness.js';
import {
  type BitDepth,
  bytesPerSample,
  DEFAULT_BIT_DEPTH,
  decodeSamples,
  fullScale,
} from '../capture/pcm-format.js';
import { frameIndexAt, frameTimeMs, type PcmBlock, type PcmTap } from '../capture/pcm-tap.js';
import { type WavResult, WavWriter } from '../capture/wav-writer.js';

export type RecordingEndReason = 'duration' | 'stopped' | 'capture-failed' | 'deadline';

export interface RecordingRequest {
  path: string;
  /** The capture format. */
  sampleRate: number;
  channels: number;
  /** Default 16. */
  bitDepth?: BitDepth;
  /** 0-based capture channels to keep, in file order; undefined = every channel. */
  keepChannels?: number[];
  /** The file's container (the recording profile's); default WAV. */
  container?: 'wav' | 'flac';
  /** Stop after exactly this much audio. */
  durationMs?: number;
  /** Wall clock: the first frame captured at or after this instant is the first recorded. */
  startAtMs?: number;
  /** Wall clock: the last frame captured before this instant is the last recorded. */
  endAtMs?: number;
  /** The capture frame (index since it started) to record first; wins over startAtMs. */
  startAtFrame?: number;
  /**
   * Slack past the planned end before the file is closed anyway (a capture that stalls
   * without failing). Default 60 s.
   */
  deadlineSlackMs?: number;
  /** Called once, with the wall-clock time of the first frame written. */
  onFirstFrame?: (atMs: number) => void;
  now?: () => number;
}

export interface RecordingOutcome {
  result: WavResult;
  endedBy: RecordingEndReason;
  /** Why the file is a WAV although FLAC was asked for. */
  encodingError?: string;
  /** Integrated loudness, loudness range and maximum true peak of what was written. */
  loudness: LoudnessSummary;
  /** Ended by its duration: the next capture frame (index) and its wall-clock time. */
  next?: { frame: number; atMs: number };
}

/** Longest delay setTimeout takes (about 24.8 days). */
const MAX_TIMER_MS = 2_147_483_647;

/** The frames of `block` in [from, to) keeping only `keep` (0-based channels), interleaved. */
export function selectFrames(block: PcmBlock, from: number, to: number, keep: number[] | undefined): Buffer {
  const sampleBytes = bytesPerSample(block.bitDepth);
  const frameBytes = block.channels * sampleBytes;
  if (!keep) return block.data.subarray(from * frameBytes, to * frameBytes);
  const out = Buffer.alloc((to - from) * keep.length * sampleBytes);
  let o = 0;
  for (let frame = from; frame < to; frame++) {
    const base = frame * frameBytes;
    for (const channel of keep) {
      const at = base + channel * sampleBytes;
      o += block.data.copy(out, o, at, at + sampleBytes);
    }
  }
  return out;
}

export class Recording {
  private writer: WavWriter | undefined;
  /** Measures what is written, as it is written (no second pass over the file). */
  private loudness: LoudnessMeter | undefined;
  /** The written PCM decoded for the loudness meter (grown as needed). */
  private samples = new Float32Array(0);
  private finishing: Promise<RecordingOutcome> | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private started = false;
  private next: RecordingOutcome['next'];
  /** Set by stopAfter: the file ends once it holds this many frames. */
  private stopAtFrames: number | undefined;
  private postRollTimer: NodeJS.Timeout | undefined;
  private resolveDone!: (outcome: RecordingOutcome) => void;
  private rejectDone!: (error: unknown) => void;
  /** Settles once the file is finished (or finishing failed). */
  readonly done: Promise<RecordingOutcome>;
  private resolveEnded!: (end: Pick<RecordingOutcome, 'endedBy' | 'next'>) => void;
  /** Settles as soon as the last frame is taken, before the file is finished (never rejects). */
  readonly ended: Promise<Pick<RecordingOutcome, 'endedBy' | 'next'>>;

  constructor(
    private readonly tap: PcmTap,
    private readonly request: RecordingRequest,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // Callers may only look at `done` after stop(); never an unhandled rejection.
    this.done.catch(() => {});
    this.ended = new Promise((resolve) => {
      this.resolveEnded = resolve;
    });
  }

  get framesRecorded(): number {
    return this.writer?.frames ?? 0;
  }

  /** Opens the file and starts taking audio (from startAtMs when set). */
  async start(): Promise<void> {
    const { path, sampleRate, channels, keepChannels, durationMs, endAtMs } = this.request;
    const now = this.request.now ?? Date.now;
    const writer = new WavWriter({
      path,
      sampleRate,
      channels: keepChannels?.length ?? channels,
      bitDepth: this.request.bitDepth,
      maxDurationMs: durationMs,
    });
    await writer.open();
    this.writer = writer;
    this.loudness = new LoudnessMeter(sampleRate, keepChannels?.length ?? channels, { summary: true });
    this.unsubscribe = this.tap.subscribe(
      {
        block: (block) => this.onBlock(block),
        fault: (error) => this.onFault(error),
      },
      { fromFrame: this.request.startAtFrame },
    );
    // The replayed history may already have finished it.
    if (this.finishing) this.unsubscribe();
    const slackMs = this.request.deadlineSlackMs ?? 60_000;
    const plannedEndMs =
      endAtMs ?? (durationMs === undefined ? undefined : (this.request.startAtMs ?? now()) + durationMs);
    if (plannedEndMs !== undefined) {
      const delayMs = Math.min(MAX_TIMER_MS, Math.max(0, plannedEndMs - now() + slackMs));
      this.deadline = setTimeout(() => void this.finish('deadline'), delayMs);
    }
  }

  /** Ends the recording now; resolves with the finished file. */
  stop(): Promise<RecordingOutcome> {
    return this.finish('stopped');
  }

  /**
   * Ends the recording after exactly `ms` more audio (a post-roll), or now when `ms` is 0 or
   * nothing has been recorded yet. A later call changes nothing; stop() still ends it at once.
   */
  stopAfter(ms: number): void {
    const writer = this.writer;
    if (this.finishing || this.stopAtFrames !== undefined) return;
    if (!writer || !this.started || ms <= 0) {
      void this.stop().catch(() => {});
      return;
    }
    this.stopAtFrames = writer.frames + Math.round((this.request.sampleRate * ms) / 1000);
    // A capture that stalls does not hold the file open past the post-roll and its slack.
    const slackMs = this.request.deadlineSlackMs ?? 60_000;
    this.postRollTimer = setTimeout(() => void this.finish('stopped').catch(() => {}), ms + slackMs);
  }

  private onBlock(block: PcmBlock): void {
    const writer = this.writer;
    if (!writer || this.finishing) return;
    const { endAtMs, keepChannels } = this.request;
    if (
      block.channels !== this.request.channels ||
      block.sampleRate !== this.request.sampleRate ||
      block.bitDepth !== (this.request.bitDepth ?? DEFAULT_BIT_DEPTH)
    ) {
      // The capture restarted at another format: this file cannot take it.
      void this.finish('capture-failed');
      return;
    }
    const from = this.started ? 0 : this.firstIndexIn(block);
    if (from >= block.frames) return;
    let to = endAtMs === undefined ? block.frames : frameIndexAt(block, endAtMs);
    if (this.stopAtFrames !== undefined) to = Math.min(to, from + this.stopAtFrames - writer.frames);
    if (to > from) {
      if (!this.started) {
        this.started = true;
        this.request.onFirstFrame?.(Math.round(frameTimeMs(block, from)));
      }
      const before = writer.frames;
      const selected = selectFrames(block, from, to, keepChannels);
      this.measure(selected.subarray(0, writer.write(selected)));
      const nextIndex = from + (writer.frames - before);
      this.next = { frame: block.index + nextIndex, atMs: frameTimeMs(block, nextIndex) };
    }
    if (this.stopAtFrames !== undefined && writer.frames >= this.stopAtFrames) {
      void this.finish('stopped');
    } else if (writer.isFull || (endAtMs !== undefined && block.endMs >= endAtMs)) {
      void this.finish('duration');
    } else if (writer.failed) {
      void this.finish('stopped'); // finish() rethrows the write error
    }
  }

  private measure(pcm: Buffer): void {
    const meter = this.loudness;
    if (!meter || pcm.length === 0) return;
    const bitDepth = this.request.bitDepth ?? DEFAULT_BIT_DEPTH;
    const channels = this.request.keepChannels?.length ?? this.request.channels;
    const count = pcm.length / bytesPerSample(bitDepth);
    if (this.samples.length < count) this.samples = new Float32Array(count);
    decodeSamples(pcm, 0, count, bitDepth, this.samples);
    meter.addFrames(this.samples, 0, Math.floor(count / channels), 1 / fullScale(bitDepth));
  }

  /** Where in `block` the recording begins (frames.length: not in this block). */
  private firstIndexIn(block: PcmBlock): number {
    const { startAtFrame, startAtMs } = this.request;
    if (startAtFrame !== undefined) return Math.min(block.frames, Math.max(0, startAtFrame - block.index));
    return startAtMs === undefined ? 0 : frameIndexAt(block, startAtMs);
  }

  private onFault(_error: CaptureError): void {
    void this.finish('capture-failed');
  }

  /** The finished WAV in the container asked for; an empty file stays a WAV (nothing to encode). */
  private async encoded(outcome: RecordingOutcome): Promise<RecordingOutcome> {
    if (this.request.container !== 'flac' || outcome.result.durationMs === 0) return outcome;
    try {
      return { ...outcome, result: await encodeFlac(outcome.result) };
    } catch (error) {
      return { ...outcome, encodingError: (error as Error).message };
    }
  }

  private finish(endedBy: RecordingEndReason): Promise<RecordingOutcome> {
    this.finishing ??= (async () => {
      clearTimeout(this.deadline);
      clearTimeout(this.postRollTimer);
      this.unsubscribe?.();
      const writer = this.writer;
      const next = endedBy === 'duration' && writer?.isFull ? this.next : undefined;
      this.resolveEnded({ endedBy, ...(next ? { next } : {}) });
      if (!writer) throw new Error('recording was never started');
      try {
        const result = await writer.finish();
        const loudness = this.loudness!.summary();
        const outcome = await this.encoded({ result, endedBy, loudness, ...(next ? { next } : {}) });
        this.resolveDone(outcome);
        return outcome;
      } catch (error) {
        this.rejectDone(error);
        throw error;
      }
    })();
    return this.finishing;
  }
}
