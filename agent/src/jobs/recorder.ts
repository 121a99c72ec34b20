/**
 * The one place a job is recorded to its end, for the claim loop (ad-hoc jobs), the
 * schedule runner (scheduled occurrences) and restarts (continuation parts): journal the
 * recording, write it from the shared capture (several at once: back-to-back windows
 * overlap by design), keep its lease alive with job heartbeats that carry the capture facts
 * until the controller has them, and hand the finished file to the uploader. A controller
 * outage stops nothing; a stale lease or a job gone from the controller stops the recording
 * and keeps the file.
 *
 * At start it finishes what a crash or a stop interrupted: each interrupted file is made a
 * valid WAV, marked partial and uploaded, and when its window has not ended the rest of the
 * window is recorded at once as a continuation part: a new recording (its id a UUID chosen
 * here), journaled as pending and registered with the controller (PUT jobPart) when it can
 * be reached, before any heartbeat or upload.
 *
 * A recording longer than its profile's segment length is split (segments.ts): when a segment
 * has its length, the next begins at the following frame as a new recording registered like a
 * part (not partial); a stop ends the current segment and no further one starts.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContinuationBody, JobLease, RecordingProfileConfig } from '../../../shared/src/agent-api.js';
import type { CaptureOptions } from '../capture/capture.js';
import { type LoudnessSummary, roundedLoudness } from '../capture/loudness.js';
import { HISTORY_MS, type PcmTap } from '../capture/pcm-tap.js';
import { recoverWav } from '../capture/wav-recovery.js';
import type { WavResult } from '../capture/wav-writer.js';
import { type AgentHttpClient, describeError } from '../link/http-client.js';
import { type JobJournal, type JournalEntry, pendingPartJobId } from '../state/journal.js';
import type { BackoffOptions } from '../support/backoff.js';
import type { Logger } from '../support/log.js';
import type { PartRegistrar } from './part-registrar.js';
import { Recording } from './recording.js';
import { RecordingLease } from './recording-lease.js';
import { reportTerminal } from './report-terminal.js';
import { nextSegmentJob, type SegmentedJob, segmentLengthMs } from './segments.js';

export type RecorderApi = Pick<AgentHttpClient, 'jobHeartbeat' | 'jobFailed' | 'jobCancelled'>;

export interface RecorderOptions {
  api: RecorderApi;
  journal: JobJournal;
  registrar: PartRegistrar;
  uploader: { enqueue(jobId: string): void };
  /** The shared capture, as stamped whole-frame blocks. */
  tap: PcmTap;
  recordingsDir: string;
  log: Logger;
  /** Read when a recording's lease keeping starts. */
  jobHeartbeatIntervalMs: () => number;
  /** Agent clock minus controller clock, last measured (capture facts). */
  clockOffsetMs: () => number | undefined;
  /** The node's recording profile now (read when a recording begins); none: WAV, every channel. */
  recordingProfile?: () => RecordingProfileConfig | null | undefined;
  /** The channels an operator enabled on the capture interface (1-based); none: every channel. */
  enabledChannels?: () => number[] | null | undefined;
  /** Replaces a profile's segment length, in seconds (tests only: settings allow 60 s at least). */
  segmentSecondsOverride?: number;
  backoff?: BackoffOptions;
  now?: () => number;
}

/** What to record: a lease plus, for scheduled and continued work, its window. */
export interface RecordJob {
  jobId: string;
  recordingId: string;
  epoch: number;
  /** Sample-accurate length (ad-hoc jobs); undefined with endAtMs, or open-ended. */
  durationMs?: number;
  /** Wall clock: the first frame at or after this is recorded first (scheduled starts). */
  startAtMs?: number;
  /** Wall clock: the last frame before this is recorded last (scheduled ends, parts). */
  endAtMs?: number;
  /** When the job's window ends: a restart before then continues it. */
  windowEndMs?: number;
  /** 1-based capture channels; null or undefined = every channel. */
  channelSelection?: number[] | null;
  /** The format the job asked for (a difference from the capture is logged). */
  sampleRate?: number;
  channels?: number;
  stopRequested?: boolean;
  /** Capture facts known up-front. */
  plannedStartMs?: number;
  partialReason?: string;
  continues?: { jobId: string; epoch: number };
  /** Set for a continuation part the controller does not know yet. */
  pendingPart?: ContinuationBody;
  /** A later segment: the capture frame it starts at (the one after the previous segment's last). */
  startAtFrame?: number;
  /** The segment length fixed when the job began (segments.ts); unset: from the profile now. */
  segmentMs?: number;
  /** Which segment this is (1: the job's own recording). */
  segmentIndex?: number;
  /** Audio kept after a stop request (ad-hoc jobs: the profile's post-roll), in ms. */
  postRollMs?: number;
}

/** A recording in progress. */
export interface ActiveRecording {
  readonly recordingId: string;
  /** The job id now (a registered part changes it). */
  readonly jobId: string;
  /** Ends the recording early. */
  stop(): void;
  /** A stop asked for (job-stop, stopRequested): ends it after the profile's post-roll (ad-hoc). */
  requestStop(): void;
  /** Settles when the file is finished, journaled and handed to the uploader. Never rejects. */
  readonly finished: Promise<void>;
}

/** A part shorter than this is not started: the window is over. */
export const MIN_PART_MS = 1000;
/** Begun later than this after the planned start: the recording is partial ("started late"). */
export const LATE_MS = 1000;

export const PARTIAL_REASONS = {
  restarted: 'agent restarted during the recording',
  continued: 'continues the recording after an agent restart',
  stopped: 'agent stopped during the recording',
  startedLate: 'started late: agent started inside the window',
  nothingOnDisk: 'agent restarted before any audio reached the disk; recording the rest of the window',
  captureFailed: 'the capture failed during the recording; the rest of the window is in the next part',
  captureRestarted: 'continues the recording after the capture restarted',
  captureLate: 'started late: the capture was not running at the planned start',
} as const;

/** A job's lease, as what the recorder needs. */
export function recordJobFromLease(lease: JobLease, nowMs: number): RecordJob {
  const durationMs = lease.durationSeconds === null ? undefined : lease.durationSeconds * 1000;
  return {
    jobId: lease.jobId,
    recordingId: lease.recordingId,
    epoch: lease.epoch,
    durationMs,
    windowEndMs: durationMs === undefined ? undefined : nowMs + durationMs,
    channelSelection: lease.channelSelection,
    sampleRate: lease.sampleRate,
    channels: lease.channels,
    stopRequested: lease.stopRequested,
  };
}

/** File name for a recording in the cache; the epoch keeps a re-leased job's file apart. */
export function recordingFileName(recordingId: string, epoch: number): string {
  return `${recordingId.replace(/[^A-Za-z0-9_-]/g, '_')}-e${epoch}.wav`;
}

interface Active extends ActiveRecording {
  finished: Promise<void>;
  recording: Recording;
  /** The agent is stopping: the window continues after the next start. */
  shutdown: boolean;
  /** Stopped (job-stop, lease lost, shutdown): no further segment starts. */
  stopRequested: boolean;
  /** The job a part or segment continues: a stop of that job stops this too. */
  continuesJobId: string | undefined;
}

export class Recorder {
  private readonly active = new Map<string, Active>();
  private readonly stopping = new AbortController();
  private stopped = true;

  constructor(private readonly options: RecorderOptions) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Job ids recording now. */
  get activeJobIds(): string[] {
    return [...this.active.values()].map((a) => a.jobId);
  }

  /** True when `jobId` (or a part continuing it) is recording here. */
  isRecording(jobId: string): boolean {
    const id = this.options.journal.resolve(jobId);
    for (const active of this.active.values()) {
      if (active.jobId === id || active.continuesJobId === id) return true;
    }
    return false;
  }

  /** Recovers what a crash or stop interrupted and continues open windows at once. */
  async start(): Promise<void> {
    this.stopped = false;
    await mkdir(this.options.recordingsDir, { recursive: true });
    await this.resumeInterrupted();
  }

  /** Ends recordings (the `job-stop` command): only `jobId` when given. False when none matched. */
  stopRecording(jobId?: string): boolean {
    const id = jobId === undefined ? undefined : this.options.journal.resolve(jobId);
    let matched = false;
    for (const active of this.active.values()) {
      if (id !== undefined && active.jobId !== id && active.continuesJobId !== id) continue;
      matched = true;
      active.requestStop();
    }
    return matched;
  }

  /** Finishes every recording; those whose window is still open continue after the next start. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const running = [...this.active.values()];
    for (const active of running) {
      active.shutdown = true;
      active.stop();
    }
    await Promise.all(running.map((a) => a.finished));
    this.stopping.abort();
  }

  /**
   * Starts recording `job` (at its startAtMs when set); undefined when it did not start
   * (stopped before it began, or it failed to start; both are reported to the controller).
   */
  async begin(job: RecordJob): Promise<ActiveRecording | undefined> {
    const { api, journal, log, tap } = this.options;
    if (this.stopped) return undefined;
    if (job.stopRequested) {
      log.info({ jobId: job.jobId }, 'job was stopped before recording began');
      void reportTerminal(
        api.jobCancelled.bind(api),
        job.jobId,
        { epoch: job.epoch, reason: 'stop requested before start' },
        this.options,
        this.stopping.signal,
      );
      return undefined;
    }
    const format = tap.captureFormat;
    this.warnFormat(job, format);
    const profile = this.options.recordingProfile?.() ?? undefined;
    const segmentMs = job.segmentMs ?? segmentLengthMs(profile, this.options.segmentSecondsOverride);
    const selection = this.channelsToKeep(job, format.channels, profile);
    const entry = this.journalEntryFor(job, format, selection);
    const preRollMs = this.adHocPreRollMs(job, profile, segmentMs);
    let onFirstFrame: (atMs: number) => void = () => {};
    const recording = new Recording(tap, {
      path: entry.path,
      sampleRate: format.sampleRate,
      channels: format.channels,
      bitDepth: format.bitDepth,
      keepChannels: selection?.map((channel) => channel - 1),
      container: profile?.container ?? 'wav',
      // Segmented: this recording is one segment (or the rest of the job, when shorter).
      durationMs:
        segmentMs === undefined
          ? job.durationMs === undefined
            ? undefined
            : job.durationMs + preRollMs
          : Math.min(segmentMs, job.durationMs ?? segmentMs),
      startAtMs: job.startAtMs,
      // Pre-roll: from the tap's history, that much before now.
      startAtFrame:
        job.startAtFrame ??
        (preRollMs > 0
          ? Math.max(0, tap.nextFrame - Math.round((preRollMs * format.sampleRate) / 1000))
          : undefined),
      endAtMs: job.endAtMs,
      onFirstFrame: (atMs) => onFirstFrame(atMs),
      now: this.options.now,
    });
    try {
      await journal.put(entry);
      await recording.start();
    } catch (error) {
      await this.fail(entry, `cannot start recording: ${describeError(error)}`);
      return undefined;
    }
    log.info(
      {
        jobId: entry.jobId,
        recordingId: entry.recordingId,
        epoch: entry.epoch,
        durationMs: job.durationMs ?? null,
        startAt: job.startAtMs === undefined ? 'now' : new Date(job.startAtMs).toISOString(),
        endAt: job.endAtMs === undefined ? null : new Date(job.endAtMs).toISOString(),
        path: entry.path,
      },
      job.pendingPart ? 'continuation part started' : 'recording started',
    );
    // Ad-hoc jobs (no planned window) keep the profile's post-roll after a stop request.
    const postRollMs =
      job.postRollMs ?? (job.endAtMs === undefined ? (profile?.postRollSeconds ?? 0) * 1000 : 0);
    const followed = { ...job, postRollMs, ...(segmentMs === undefined ? {} : { segmentMs }) };
    return this.follow(entry, recording, followed, (handler) => {
      onFirstFrame = handler;
    });
  }

  /** One capture feeds everything; the WAV header records what was really captured. */
  private warnFormat(job: RecordJob, format: CaptureOptions): void {
    if (
      (job.sampleRate !== undefined && job.sampleRate !== format.sampleRate) ||
      (job.channels !== undefined && job.channels !== format.channels)
    ) {
      this.options.log.warn(
        {
          jobId: job.jobId,
          wanted: `${job.sampleRate} Hz × ${job.channels}`,
          capturing: `${format.sampleRate} Hz × ${format.channels}`,
        },
        'job format differs from the capture; recording at the capture format',
      );
    }
  }

  /**
   * A segment of a split recording: once it has its length, the next segment begins at the
   * following frame (before this file is finished, so the tap still holds that frame). A stop
   * that came meanwhile stops the next one too.
   */
  private async nextSegment(active: Active, entry: JournalEntry, job: SegmentedJob): Promise<void> {
    const { endedBy, next } = await active.recording.ended;
    if (endedBy !== 'duration' || !next || active.stopRequested || this.stopped) return;
    const following = nextSegmentJob(entry, job, next);
    if (!following) return;
    const started = await this.begin(following);
    if (started && active.stopRequested) started.stop();
  }

  /** The journal entry of a recording about to start. */
  private journalEntryFor(
    job: RecordJob,
    format: CaptureOptions,
    selection: number[] | undefined,
  ): JournalEntry {
    return {
      jobId: job.jobId,
      recordingId: job.recordingId,
      epoch: job.epoch,
      state: 'recording',
      path: join(this.options.recordingsDir, recordingFileName(job.recordingId, job.epoch)),
      sampleRate: format.sampleRate,
      channels: selection?.length ?? format.channels,
      startedAtMs: this.now(),
      ...(job.windowEndMs === undefined ? {} : { windowEndMs: job.windowEndMs }),
      ...(selection ? { channelSelection: selection } : {}),
      ...(job.continues ? { continues: job.continues } : {}),
      ...(job.pendingPart ? { pendingPart: job.pendingPart } : {}),
      ...(job.plannedStartMs !== undefined || job.partialReason !== undefined
        ? {
            capture: {
              ...(job.plannedStartMs === undefined ? {} : { plannedStartMs: job.plannedStartMs }),
              ...(job.partialReason === undefined ? {} : { partial: true, partialReason: job.partialReason }),
            },
          }
        : {}),
    };
  }

  /** Keeps the lease, records the facts, and finishes the entry; returns the live handle. */
  private follow(
    entry: JournalEntry,
    recording: Recording,
    job: RecordJob,
    setFirstFrameHandler: (handler: (atMs: number) => void) => void,
  ): ActiveRecording {
    const { journal } = this.options;
    let active: Active | undefined;
    const stop = () => {
      if (active) active.stopRequested = true;
      void recording.stop().catch(() => {});
    };
    const requestStop = () => {
      if (active) active.stopRequested = true;
      recording.stopAfter(job.postRollMs ?? 0);
    };
    const lease = new RecordingLease({
      ...this.options,
      entry,
      stopRecording: stop,
      stopRequested: requestStop,
      startAtMs: job.startAtMs,
      intervalMs: this.options.jobHeartbeatIntervalMs(),
      signal: this.stopping.signal,
      now: () => this.now(),
    });
    setFirstFrameHandler((atMs) => lease.firstFrame(atMs));
    lease.start();
    const key = entry.jobId;
    const current: Active = {
      recordingId: entry.recordingId,
      get jobId() {
        return journal.resolve(key);
      },
      recording,
      shutdown: false,
      stopRequested: false,
      continuesJobId: job.continues?.jobId,
      stop,
      requestStop,
      finished: Promise.resolve(),
    };
    active = current;
    current.finished = this.settle(current, entry, lease).finally(() => {
      lease.stop();
      if (this.active.get(entry.recordingId) === current) this.active.delete(entry.recordingId);
    });
    this.active.set(entry.recordingId, current);
    if (job.segmentMs !== undefined)
      void this.nextSegment(current, entry, job as SegmentedJob).catch((error: unknown) =>
        this.options.log.error(
          { jobId: entry.jobId },
          `cannot start the next segment: ${describeError(error)}`,
        ),
      );
    return current;
  }

  /** Once the file is finished: journal it and hand it on (upload, continuation, or keep). Never rejects. */
  private async settle(active: Active, entry: JournalEntry, lease: RecordingLease): Promise<void> {
    const { journal, log } = this.options;
    const key = entry.jobId;
    try {
      const { result, endedBy, encodingError, loudness } = await active.recording.done;
      if (encodingError) log.warn({ jobId: entry.jobId, path: result.path }, `kept as WAV: ${encodingError}`);
      const loss = lease.loss;
      const windowLeft = entry.windowEndMs !== undefined && entry.windowEndMs - this.now() >= MIN_PART_MS;
      const interrupted = active.shutdown && windowLeft;
      if (endedBy === 'capture-failed' && windowLeft && !loss && !active.shutdown && !this.stopped) {
        this.active.delete(entry.recordingId);
        await this.afterCaptureFailure(key, result, loudness);
        return;
      }
      const capture = { ...lease.current.capture, loudness: roundedLoudness(loudness) };
      const done = await journal.update(key, {
        state: loss ? 'lease-lost' : 'recorded',
        path: result.path,
        sizeBytes: result.sizeBytes,
        sha256: result.sha256,
        durationMs: result.durationMs,
        finishedAtMs: this.now(),
        ...(loss ? { lastError: lease.describeLoss(loss) } : {}),
        ...(interrupted ? { interruptedAtMs: this.now() } : {}),
        // Stopped with audio kept: the file covers only part of its window.
        capture:
          interrupted && result.durationMs > 0
            ? { ...capture, partial: true, partialReason: capture.partialReason ?? PARTIAL_REASONS.stopped }
            : capture,
      });
      if (loss) {
        log.warn(
          { jobId: done.jobId, path: result.path },
          `${lease.describeLoss(loss)}: recording stopped, file kept`,
        );
        return;
      }
      log.info(
        { jobId: done.jobId, endedBy, durationMs: result.durationMs, sha256: result.sha256 },
        'recording finished',
      );
      // Interrupted by a stop: the next start continues the window first, then uploads.
      if (!interrupted) this.options.uploader.enqueue(done.jobId);
    } catch (error) {
      await this.fail(lease.current, `recording failed: ${describeError(error)}`);
    }
  }

  /**
   * The capture failed inside the window (the supervisor restarts it): what was captured is
   * kept and uploaded, partial, and the rest of the window goes to a new part that begins with
   * the capture's return. Nothing captured yet: the job (or part) waits for the capture afresh.
   */
  private async afterCaptureFailure(
    key: string,
    result: WavResult,
    loudness: LoudnessSummary,
  ): Promise<void> {
    const { journal, log, uploader } = this.options;
    const entry = journal.get(key);
    if (!entry) return;
    if (result.durationMs === 0) {
      await journal.remove(key);
      await rm(result.path, { force: true });
      await this.begin(
        entry.pendingPart
          ? this.continuation(entry, PARTIAL_REASONS.captureRestarted)
          : this.restartJob(entry, PARTIAL_REASONS.captureLate),
      );
      return;
    }
    const done = await journal.update(key, {
      state: 'recorded',
      path: result.path,
      sizeBytes: result.sizeBytes,
      sha256: result.sha256,
      durationMs: result.durationMs,
      finishedAtMs: this.now(),
      capture: {
        ...entry.capture,
        partial: true,
        partialReason: entry.capture?.partialReason ?? PARTIAL_REASONS.captureFailed,
        loudness: roundedLoudness(loudness),
      },
    });
    log.warn({ jobId: done.jobId }, 'the capture failed inside the window: the rest goes to a new part');
    await this.begin(this.continuation(done, PARTIAL_REASONS.captureRestarted));
    uploader.enqueue(done.jobId);
  }

  /**
   * The profile's pre-roll for a fresh ad-hoc job (no planned start: a schedule's window already
   * holds its pre-roll), taken from the audio the tap keeps, so at most HISTORY_MS. Segmented
   * recordings start at the request.
   */
  private adHocPreRollMs(
    job: RecordJob,
    profile: RecordingProfileConfig | undefined,
    segmentMs?: number,
  ): number {
    const wanted = (profile?.preRollSeconds ?? 0) * 1000;
    const fresh =
      job.startAtMs === undefined && job.startAtFrame === undefined && !job.continues && !job.pendingPart;
    if (wanted === 0 || !fresh || segmentMs !== undefined) return 0;
    if (wanted > HISTORY_MS)
      this.options.log.info(
        { jobId: job.jobId, preRollSeconds: profile?.preRollSeconds },
        `an ad-hoc recording's pre-roll is at most ${HISTORY_MS / 1000} s (the audio the agent keeps)`,
      );
    return Math.min(wanted, HISTORY_MS);
  }

  /**
   * The 1-based channels to keep, or undefined for all: the job's own selection (a schedule
   * target's, a channel-map group's), else the profile's map or first N, else the channels an
   * operator enabled on the capture interface; channels the capture lacks are dropped.
   */
  private channelsToKeep(
    job: RecordJob,
    captured: number,
    profile: RecordingProfileConfig | undefined,
  ): number[] | undefined {
    const firstN = profile?.channels ? Array.from({ length: profile.channels }, (_, i) => i + 1) : undefined;
    const wanted =
      job.channelSelection ?? profile?.channelMap ?? firstN ?? this.options.enabledChannels?.() ?? undefined;
    if (!wanted || wanted.length === 0) return undefined;
    const kept = wanted.filter((channel) => channel >= 1 && channel <= captured);
    if (kept.length < wanted.length) {
      this.options.log.warn(
        { jobId: job.jobId, wanted, captured },
        'channel selection names channels the capture does not have; recording the others',
      );
    }
    return kept.length === 0 ? undefined : kept;
  }

  private async fail(entry: JournalEntry, reason: string): Promise<void> {
    const { api, journal, log } = this.options;
    log.error({ jobId: entry.jobId }, reason);
    await journal.update(entry.jobId, { state: 'failed', lastError: reason }).catch(() => {});
    if (entry.pendingPart) return; // the controller never heard of it
    await reportTerminal(
      api.jobFailed.bind(api),
      entry.jobId,
      { epoch: entry.epoch, reason },
      this.options,
      this.stopping.signal,
    );
  }

  /**
   * Entries still 'recording' were cut short by a crash, entries with interruptedAtMs by a
   * stop. The rest of an open window is started first (a restart should lose as little as
   * possible), then what reached the disk is repaired, marked partial and uploaded.
   */
  private async resumeInterrupted(): Promise<void> {
    const { journal, log, uploader } = this.options;
    const interrupted = journal
      .list()
      .filter((e) => e.state === 'recording' || e.interruptedAtMs !== undefined);
    for (const entry of interrupted) {
      const windowOpen = entry.windowEndMs !== undefined && entry.windowEndMs - this.now() >= MIN_PART_MS;
      const recovered =
        entry.state === 'recording'
          ? await this.repair(entry)
          : entry.durationMs === 0
            ? await this.discardEmpty(entry)
            : 'finished';
      if (recovered === 'failed') continue;
      if (recovered === 'nothing') {
        // Nothing was kept: record the (rest of the) window afresh, as the job itself or, for a
        // part the controller never heard of, as a new part.
        if (windowOpen || entry.pendingPart) await journal.remove(entry.jobId);
        if (windowOpen)
          await this.begin(entry.pendingPart ? this.continuation(entry) : this.restartJob(entry));
        else if (!entry.pendingPart)
          await this.fail(entry, 'the agent stopped before any audio reached the disk');
        continue;
      }
      if (windowOpen) await this.begin(this.continuation(entry));
      await journal.update(entry.jobId, {
        interruptedAtMs: undefined,
        capture: {
          ...entry.capture,
          partial: true,
          partialReason: entry.capture?.partialReason ?? PARTIAL_REASONS.restarted,
        },
      });
      log.warn(
        { jobId: entry.jobId, continued: windowOpen },
        'recovered a recording interrupted by a restart',
      );
      uploader.enqueue(entry.jobId);
    }
  }

  /** A stop before the first audio (a scheduled recording begun ahead of its start) kept nothing. */
  private async discardEmpty(entry: JournalEntry): Promise<'nothing'> {
    await rm(entry.path, { force: true });
    return 'nothing';
  }

  /** Makes the interrupted file a valid WAV and journals it 'recorded'. */
  private async repair(entry: JournalEntry): Promise<'recovered' | 'nothing' | 'failed'> {
    const { journal, log } = this.options;
    try {
      const recovered = await recoverWav(entry.path);
      // Begun ahead of a scheduled start, or stopped before the first audio: nothing to keep.
      if (!recovered || recovered.durationMs === 0) {
        if (recovered) await rm(recovered.path, { force: true });
        return 'nothing';
      }
      await journal.update(entry.jobId, {
        state: 'recorded',
        sizeBytes: recovered.sizeBytes,
        sha256: recovered.sha256,
        durationMs: recovered.durationMs,
        finishedAtMs: this.now(),
      });
      return 'recovered';
    } catch (error) {
      log.error({ jobId: entry.jobId }, `cannot recover interrupted recording: ${describeError(error)}`);
      await journal.update(entry.jobId, { state: 'failed', lastError: describeError(error) }).catch(() => {});
      return 'failed';
    }
  }

  /** The rest of `entry`'s window as a new part (a new recording the controller learns of later). */
  private continuation(entry: JournalEntry, reason: string = PARTIAL_REASONS.continued): RecordJob {
    const now = this.now();
    const windowEndMs = entry.windowEndMs ?? now;
    const recordingId = randomUUID();
    // Every part continues the job itself (a part's own job may not be registered yet).
    const parent = entry.continues ?? { jobId: entry.jobId, epoch: entry.epoch };
    return {
      jobId: pendingPartJobId(recordingId),
      recordingId,
      epoch: 1,
      endAtMs: windowEndMs,
      windowEndMs,
      channelSelection: entry.channelSelection,
      partialReason: reason,
      continues: parent,
      pendingPart: {
        epoch: parent.epoch,
        reason,
        startedAtMs: now,
        durationSeconds: Math.max(1, Math.ceil((windowEndMs - now) / 1000)),
      },
    };
  }

  /**
   * `entry`'s job recorded again to its window's end (nothing of it was kept): from its planned
   * start when that is still ahead or just past, else from now, partial.
   */
  private restartJob(entry: JournalEntry, lateReason: string = PARTIAL_REASONS.nothingOnDisk): RecordJob {
    const plannedStartMs = entry.capture?.plannedStartMs;
    const late = plannedStartMs === undefined || this.now() > plannedStartMs + LATE_MS;
    return {
      jobId: entry.jobId,
      recordingId: entry.recordingId,
      epoch: entry.epoch,
      startAtMs: plannedStartMs,
      endAtMs: entry.windowEndMs,
      windowEndMs: entry.windowEndMs,
      channelSelection: entry.channelSelection,
      plannedStartMs,
      partialReason: late ? lateReason : entry.capture?.partialReason,
      continues: entry.continues,
    };
  }
}
