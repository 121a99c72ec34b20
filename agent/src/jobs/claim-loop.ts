/**
 * The claim loop: ask for the next recording job every jobPollIntervalSeconds (or at
 * once when woken by a `job-available` command), record it from the shared capture,
 * keep its lease alive, journal it, and hand the finished file to the uploader. A
 * controller outage does not stop a recording; a stale lease does (the file is kept).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobLease } from '../../../shared/src/agent-api.js';
import type { CaptureOptions } from '../capture/capture.js';
import { recoverWav } from '../capture/wav-recovery.js';
import { type AgentHttpClient, describeError } from '../link/http-client.js';
import type { JobJournal, JournalEntry } from '../state/journal.js';
import { Backoff, type BackoffOptions, sleep } from '../support/backoff.js';
import type { Logger } from '../support/log.js';
import { LeaseKeeper } from './lease-keeper.js';
import { type PcmSource, Recording } from './recording.js';
import { reportTerminal } from './report-terminal.js';

export type JobApi = Pick<AgentHttpClient, 'claimNext' | 'jobHeartbeat' | 'jobFailed' | 'jobCancelled'>;

export interface JobTimings {
  jobPollIntervalMs: number;
  jobHeartbeatIntervalMs: number;
}

export interface ClaimLoopOptions {
  api: JobApi;
  journal: JobJournal;
  uploader: { enqueue(jobId: string): void };
  /** The shared capture: PCM events plus the format it is running at. */
  source: PcmSource & { readonly format: CaptureOptions };
  recordingsDir: string;
  log: Logger;
  /** Read on every use, so a config change applies without a restart. */
  timings: () => JobTimings;
  backoff?: BackoffOptions;
}

/** File name for a recording in the cache; the epoch keeps a re-leased job's file apart. */
export function recordingFileName(recordingId: string, epoch: number): string {
  return `${recordingId.replace(/[^A-Za-z0-9_-]/g, '_')}-e${epoch}.wav`;
}

interface ActiveJob {
  lease: JobLease;
  recording: Recording;
}

export class ClaimLoop {
  private stopped = true;
  private readonly stopping = new AbortController();
  private wakeUp = new AbortController();
  private wakePending = false;
  private active: ActiveJob | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly options: ClaimLoopOptions) {}

  get currentJobId(): string | undefined {
    return this.active?.lease.jobId;
  }

  /** Finishes recordings a crash interrupted, then starts polling. */
  async start(): Promise<void> {
    this.stopped = false;
    await mkdir(this.options.recordingsDir, { recursive: true });
    await this.recoverInterrupted();
    this.loop = this.run();
  }

  /** Claim now instead of at the next poll (the `job-available` command). */
  wake(): void {
    this.wakePending = true;
    this.wakeUp.abort();
  }

  /** Ends the current recording (the `job-stop` command). False when that job is not recording here. */
  stopRecording(jobId?: string): boolean {
    const active = this.active;
    if (!active || (jobId !== undefined && jobId !== active.lease.jobId)) return false;
    void active.recording.stop().catch(() => {});
    return true;
  }

  /** Stops polling; a recording in progress is finished, journaled and uploaded on the next start. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopping.abort();
    await this.active?.recording.stop().catch(() => {});
    await this.loop;
  }

  private async run(): Promise<void> {
    const { api, log } = this.options;
    const backoff = new Backoff(this.options.backoff);
    while (!this.stopped) {
      let lease: JobLease | null = null;
      this.wakePending = false;
      try {
        // Not retried: a claim is not idempotent. A lease lost in transit expires on the controller.
        lease = await api.claimNext(this.stopping.signal);
        backoff.reset();
      } catch (error) {
        if (this.stopped) break;
        const level = backoff.failures === 0 ? 'warn' : 'debug';
        log[level](`cannot claim jobs: ${describeError(error)}`);
        await this.waitForWake(Math.min(backoff.next(), this.options.timings().jobPollIntervalMs));
        continue;
      }
      if (lease) await this.record(lease);
      else await this.waitForWake(this.options.timings().jobPollIntervalMs);
    }
  }

  private async waitForWake(ms: number): Promise<void> {
    if (this.wakePending || this.stopped) return;
    this.wakeUp = new AbortController();
    await sleep(ms, AbortSignal.any([this.wakeUp.signal, this.stopping.signal]));
  }

  /** Records one lease to the end; never throws. */
  private async record(lease: JobLease): Promise<void> {
    const { api, journal, log, source } = this.options;
    const { jobId, recordingId, epoch } = lease;
    if (lease.stopRequested) {
      log.info({ jobId }, 'job was stopped before recording began');
      await reportTerminal(
        api.jobCancelled.bind(api),
        jobId,
        { epoch, reason: 'stop requested before start' },
        this.options,
      );
      return;
    }
    const format = source.format;
    if (format.sampleRate !== lease.sampleRate || format.channels !== lease.channels) {
      // One capture feeds everything; the WAV header records what was really captured.
      log.warn(
        {
          jobId,
          wanted: `${lease.sampleRate} Hz × ${lease.channels}`,
          capturing: `${format.sampleRate} Hz × ${format.channels}`,
        },
        'job format differs from the capture; recording at the capture format',
      );
    }
    const entry: JournalEntry = {
      jobId,
      recordingId,
      epoch,
      state: 'recording',
      path: join(this.options.recordingsDir, recordingFileName(recordingId, epoch)),
      sampleRate: format.sampleRate,
      channels: format.channels,
      startedAtMs: Date.now(),
    };
    const durationMs = lease.durationSeconds === null ? undefined : lease.durationSeconds * 1000;
    const recording = new Recording(source, { ...entry, durationMs });
    try {
      await journal.put(entry);
      await recording.start();
    } catch (error) {
      await this.fail(entry, `cannot start recording: ${describeError(error)}`);
      return;
    }
    log.info(
      { jobId, recordingId, epoch, durationMs: durationMs ?? null, path: entry.path },
      'recording started',
    );
    this.active = { lease, recording };

    // Keeps recording through an outage; a stale lease or a stop request ends the recording.
    const keeper = new LeaseKeeper({
      api,
      jobId,
      body: { epoch, state: 'recording' },
      intervalMs: this.options.timings().jobHeartbeatIntervalMs,
      signal: this.stopping.signal,
      log,
      onLeaseLost: () => void recording.stop().catch(() => {}),
      onStopRequested: () => {
        log.info({ jobId }, 'controller asked to stop the recording');
        void recording.stop().catch(() => {});
      },
      // The first at once: the controller shows the job and the recording `recording` as soon
      // as capture goes to the file, not one heartbeat interval later.
      beatAtStart: true,
    });
    keeper.start();

    try {
      const { result, endedBy } = await recording.done;
      const state = keeper.leaseLost ? 'lease-lost' : 'recorded';
      await journal.update(jobId, {
        state,
        sizeBytes: result.sizeBytes,
        sha256: result.sha256,
        durationMs: result.durationMs,
        finishedAtMs: Date.now(),
        ...(keeper.leaseLost ? { lastError: 'stale lease' } : {}),
      });
      if (keeper.leaseLost) {
        log.warn(
          { jobId, path: result.path },
          'another holder has this job (stale lease): recording stopped, file kept',
        );
      } else {
        log.info(
          { jobId, endedBy, durationMs: result.durationMs, sha256: result.sha256 },
          'recording finished',
        );
        this.options.uploader.enqueue(jobId);
      }
    } catch (error) {
      await this.fail(entry, `recording failed: ${describeError(error)}`);
    } finally {
      keeper.stop();
      this.active = undefined;
    }
  }

  private async fail(entry: JournalEntry, reason: string): Promise<void> {
    const { api, journal, log } = this.options;
    log.error({ jobId: entry.jobId }, reason);
    await journal.update(entry.jobId, { state: 'failed', lastError: reason }).catch(() => {});
    await reportTerminal(api.jobFailed.bind(api), entry.jobId, { epoch: entry.epoch, reason }, this.options);
  }

  /** Entries still 'recording' were cut short by a crash: keep what reached the disk. */
  private async recoverInterrupted(): Promise<void> {
    const { journal, log, uploader } = this.options;
    for (const entry of journal.list()) {
      if (entry.state !== 'recording') continue;
      try {
        const recovered = await recoverWav(entry.path);
        if (!recovered) {
          await this.fail(entry, 'the agent stopped before any audio reached the disk');
          continue;
        }
        await journal.update(entry.jobId, {
          state: 'recorded',
          sizeBytes: recovered.sizeBytes,
          sha256: recovered.sha256,
          durationMs: recovered.durationMs,
          finishedAtMs: Date.now(),
        });
        log.warn(
          { jobId: entry.jobId, durationMs: recovered.durationMs },
          'recovered a recording interrupted by a restart',
        );
        uploader.enqueue(entry.jobId);
      } catch (error) {
        log.error({ jobId: entry.jobId }, `cannot recover interrupted recording: ${describeError(error)}`);
        await journal
          .update(entry.jobId, { state: 'failed', lastError: describeError(error) })
          .catch(() => {});
      }
    }
  }
}
