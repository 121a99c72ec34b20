/**
 * One recording: a WavWriter fed by the shared capture (through the PcmTap) from its start
 * to its end. The start is the first frame at or after `startAtMs` (at once when unset);
 * the end is `durationMs` of audio (sample-accurate), the last frame before `endAtMs`
 * (wall clock: scheduled windows, so back-to-back windows split the stream at one frame),
 * a stop, or a capture failure. Only the selected channels go to the file. Whatever was
 * captured is finished and kept; a FLAC recording is encoded from the finished WAV (when the
 * encoder fails, the WAV is kept and the outcome says why).
 */
import type { CaptureError } from '../capture/capture.js';
import { encodeFlac } from '../capture/flac-encoder.js';
import { frameIndexAt, frameTimeMs, type PcmBlock, type PcmTap } from '../capture/pcm-tap.js';
import { type WavResult, WavWriter } from '../capture/wav-writer.js';

export type RecordingEndReason = 'duration' | 'stopped' | 'capture-failed' | 'deadline';

export interface RecordingRequest {
  path: string;
  /** The capture format. */
  sampleRate: number;
  channels: number;
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
}

/** Longest delay setTimeout takes (about 24.8 days). */
const MAX_TIMER_MS = 2_147_483_647;

/** The frames of `block` in [from, to) keeping only `keep` (0-based channels), interleaved. */
export function selectFrames(block: PcmBlock, from: number, to: number, keep: number[] | undefined): Buffer {
  const frameBytes = block.channels * 2;
  if (!keep) return block.data.subarray(from * frameBytes, to * frameBytes);
  const out = Buffer.alloc((to - from) * keep.length * 2);
  let o = 0;
  for (let frame = from; frame < to; frame++) {
    const base = frame * frameBytes;
    for (const channel of keep) {
      out.writeInt16LE(block.data.readInt16LE(base + channel * 2), o);
      o += 2;
    }
  }
  return out;
}

export class Recording {
  private writer: WavWriter | undefined;
  private finishing: Promise<RecordingOutcome> | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private started = false;
  private resolveDone!: (outcome: RecordingOutcome) => void;
  private rejectDone!: (error: unknown) => void;
  /** Settles once the file is finished (or finishing failed). */
  readonly done: Promise<RecordingOutcome>;

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
      maxDurationMs: durationMs,
    });
    await writer.open();
    this.writer = writer;
    this.unsubscribe = this.tap.subscribe({
      block: (block) => this.onBlock(block),
      fault: (error) => this.onFault(error),
    });
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

  private onBlock(block: PcmBlock): void {
    const writer = this.writer;
    if (!writer || this.finishing) return;
    const { startAtMs, endAtMs, keepChannels } = this.request;
    if (block.channels !== this.request.channels || block.sampleRate !== this.request.sampleRate) {
      // The capture restarted at another format: this file cannot take it.
      void this.finish('capture-failed');
      return;
    }
    let from = 0;
    if (!this.started) {
      from = startAtMs === undefined ? 0 : frameIndexAt(block, startAtMs);
      if (from >= block.frames) return;
    }
    const to = endAtMs === undefined ? block.frames : frameIndexAt(block, endAtMs);
    if (to > from) {
      if (!this.started) {
        this.started = true;
        this.request.onFirstFrame?.(Math.round(frameTimeMs(block, from)));
      }
      writer.write(selectFrames(block, from, to, keepChannels));
    }
    if (writer.isFull || (endAtMs !== undefined && block.endMs >= endAtMs)) {
      void this.finish('duration');
    } else if (writer.failed) {
      void this.finish('stopped'); // finish() rethrows the write error
    }
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
      this.unsubscribe?.();
      const writer = this.writer;
      if (!writer) throw new Error('recording was never started');
      try {
        const outcome = await this.encoded({ result: await writer.finish(), endedBy });
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
