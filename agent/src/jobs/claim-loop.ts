/**
 * The claim loop: ask for the next recording job every jobPollIntervalSeconds (or at
 * once when woken by a `job-available` command) and start it through the shared recorder
 * (which journals it, keeps its lease and hands it to the uploader). A claim that found a job
 * is followed by another at once, so jobs queued together (the channel groups of one
 * recording, two operators' recordings) record side by side from the one capture, as
 * scheduled occurrences do (the schedule runner).
 */
import type { JobLease } from '../../../shared/src/agent-api.js';
import { type AgentHttpClient, describeError } from '../link/http-client.js';
import { Backoff, type BackoffOptions, sleep } from '../support/backoff.js';
import type { Logger } from '../support/log.js';
import { type ActiveRecording, type Recorder, recordJobFromLease } from './recorder.js';

export type JobApi = Pick<AgentHttpClient, 'claimNext'>;

export interface JobTimings {
  jobPollIntervalMs: number;
}

export interface ClaimLoopOptions {
  api: JobApi;
  recorder: Pick<Recorder, 'begin'>;
  log: Logger;
  /** Read on every use, so a config change applies without a restart. */
  timings: () => JobTimings;
  backoff?: BackoffOptions;
  now?: () => number;
}

export class ClaimLoop {
  private stopped = true;
  private readonly stopping = new AbortController();
  private wakeUp = new AbortController();
  private wakePending = false;
  /** Ad-hoc recordings in progress, by recording id. */
  private readonly active = new Map<string, ActiveRecording>();
  private loop: Promise<void> | undefined;

  constructor(private readonly options: ClaimLoopOptions) {}

  /** The oldest ad-hoc job recording now, if any. */
  get currentJobId(): string | undefined {
    return this.active.values().next().value?.jobId;
  }

  /** Every ad-hoc job recording now. */
  get activeJobIds(): string[] {
    return [...this.active.values()].map((a) => a.jobId);
  }

  start(): void {
    this.stopped = false;
    this.loop = this.run();
  }

  /** Claim now instead of at the next poll (the `job-available` command). */
  wake(): void {
    this.wakePending = true;
    this.wakeUp.abort();
  }

  /** Stops polling at once; a recording in progress is the recorder's to finish (it stops after this). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopping.abort();
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
      if (lease) await this.begin(lease);
      else await this.waitForWake(this.options.timings().jobPollIntervalMs);
    }
  }

  private async waitForWake(ms: number): Promise<void> {
    if (this.wakePending || this.stopped) return;
    this.wakeUp = new AbortController();
    await sleep(ms, AbortSignal.any([this.wakeUp.signal, this.stopping.signal]));
  }

  /** Starts recording one lease (the recorder takes it to its end); never throws. */
  private async begin(lease: JobLease): Promise<void> {
    const now = (this.options.now ?? Date.now)();
    const active = await this.options.recorder.begin(recordJobFromLease(lease, now));
    if (!active) return;
    this.active.set(active.recordingId, active);
    void active.finished.finally(() => this.active.delete(active.recordingId));
  }
}
