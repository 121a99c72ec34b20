/**
 * One recording: a WavWriter fed by the shared capture until the job's duration is
 * reached (sample-accurate, counted by the writer), a stop is requested, or the
 * capture fails. Whatever was captured is finished and kept.
 */
import type { EventEmitter } from 'node:events';
import type { CaptureError } from '../capture/capture.js';
import type { SupervisorEvents } from '../capture/supervisor.js';
import { type WavResult, WavWriter } from '../capture/wav-writer.js';

export type RecordingEndReason = 'duration' | 'stopped' | 'capture-failed' | 'deadline';

export interface RecordingRequest {
  path: string;
  sampleRate: number;
  channels: number;
  /** Undefined: record until stop(). */
  durationMs: number | undefined;
  /**
   * Wall-clock slack past durationMs before the file is closed anyway (a capture that
   * stalls without failing). Default 60 s.
   */
  deadlineSlackMs?: number;
}

export interface RecordingOutcome {
  result: WavResult;
  endedBy: RecordingEndReason;
}

export type PcmSource = Pick<EventEmitter<SupervisorEvents>, 'on' | 'off'>;

export class Recording {
  private writer: WavWriter | undefined;
  private finishing: Promise<RecordingOutcome> | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private resolveDone!: (outcome: RecordingOutcome) => void;
  private rejectDone!: (error: unknown) => void;
  /** Settles once the file is finished (or finishing failed). */
  readonly done: Promise<RecordingOutcome>;

  private readonly onData = (chunk: Buffer): void => {
    const writer = this.writer;
    if (!writer || this.finishing) return;
    writer.write(chunk);
    if (writer.isFull) void this.finish('duration');
    else if (writer.failed) void this.finish('stopped'); // finish() rethrows the write error
  };

  private readonly onFault = (_error: CaptureError): void => {
    void this.finish('capture-failed');
  };

  constructor(
    private readonly source: PcmSource,
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

  /** Opens the file and starts taking audio. */
  async start(): Promise<void> {
    const { path, sampleRate, channels, durationMs } = this.request;
    const writer = new WavWriter({ path, sampleRate, channels, maxDurationMs: durationMs });
    await writer.open();
    this.writer = writer;
    this.source.on('data', this.onData);
    this.source.on('fault', this.onFault);
    if (durationMs !== undefined) {
      this.deadline = setTimeout(
        () => void this.finish('deadline'),
        durationMs + (this.request.deadlineSlackMs ?? 60_000),
      );
    }
  }

  /** Ends the recording now; resolves with the finished file. */
  stop(): Promise<RecordingOutcome> {
    return this.finish('stopped');
  }

  private finish(endedBy: RecordingEndReason): Promise<RecordingOutcome> {
    this.finishing ??= (async () => {
      clearTimeout(this.deadline);
      this.source.off('data', this.onData);
      this.source.off('fault', this.onFault);
      const writer = this.writer;
      if (!writer) throw new Error('recording was never started');
      try {
        const outcome = { result: await writer.finish(), endedBy };
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
