/**
 * Keeps a job's lease alive while this agent works on it, recording or uploading: a job
 * heartbeat every interval carrying the epoch and what the agent is doing. A 409
 * stale_lease answer means another holder has the job, a 404 that the job is gone (a
 * scheduled occurrence removed on the controller): both `onLeaseLost`, `leaseLost`;
 * any other failure is logged at debug and the work goes on, so a controller outage
 * stops neither a recording nor an upload (the epoch travels with the upload later).
 */
import type { JobHeartbeatBody } from '../../../shared/src/agent-api.js';
import { type AgentHttpClient, describeError, isApiError, isStaleLease } from '../link/http-client.js';
import type { Logger } from '../support/log.js';

export type LeaseApi = Pick<AgentHttpClient, 'jobHeartbeat'>;

/** Job heartbeats at a third of the lease, so two can be lost before it expires. */
export function jobHeartbeatIntervalMs(leaseSeconds: number): number {
  return Math.max(1000, Math.floor((leaseSeconds * 1000) / 3));
}

export interface LeaseKeeperOptions {
  api: LeaseApi;
  jobId: string;
  /** Read for every heartbeat (a function, so facts can ride along until delivered). */
  body: JobHeartbeatBody | (() => JobHeartbeatBody);
  /** Called with each body the controller accepted. */
  onDelivered?: (body: JobHeartbeatBody) => void;
  /** Read once, at start. */
  intervalMs: number;
  /** The owner's shutdown: aborts heartbeats in flight. stop() does not abort them. */
  signal: AbortSignal;
  log: Logger;
  /** Called on every stale_lease (`stale`) or 404 (`gone`) answer. */
  onLeaseLost: (why: LeaseLossReason) => void;
  /** Called when an answer says stopRequested; without it the flag is ignored. */
  onStopRequested?: () => void;
  /** Send the first heartbeat at start instead of one interval later. Default false. */
  beatAtStart?: boolean;
  /** Do not keep the process alive for this timer alone. Default false. */
  unref?: boolean;
}

export type LeaseLossReason = 'stale' | 'gone';

export class LeaseKeeper {
  private timer: NodeJS.Timeout | undefined;
  private lost: LeaseLossReason | undefined;

  constructor(private readonly options: LeaseKeeperOptions) {}

  /** True once the controller answered stale_lease. */
  get leaseLost(): boolean {
    return this.lost !== undefined;
  }

  /** Why the lease was lost: another holder (`stale`) or the job is gone (`gone`). */
  get lossReason(): LeaseLossReason | undefined {
    return this.lost;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Sends a heartbeat now (e.g. with news), besides the periodic ones. */
  beatNow(): void {
    this.beat();
  }

  start(): void {
    if (this.timer) return;
    if (this.options.beatAtStart) this.beat();
    this.timer = setInterval(() => this.beat(), this.options.intervalMs);
    if (this.options.unref) this.timer.unref();
  }

  /** No more heartbeats; one already in flight still reports its answer. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private beat(): void {
    const { api, jobId, log } = this.options;
    const body = typeof this.options.body === 'function' ? this.options.body() : this.options.body;
    api
      .jobHeartbeat(jobId, body, this.options.signal)
      .then((result) => {
        this.options.onDelivered?.(body);
        if (result.stopRequested) this.options.onStopRequested?.();
      })
      .catch((error: unknown) => {
        const why = isStaleLease(error) ? 'stale' : isApiError(error, 404) ? 'gone' : undefined;
        if (why) {
          this.lost = why;
          this.options.onLeaseLost(why);
        } else {
          log.debug({ jobId }, `job heartbeat failed: ${describeError(error)}`);
        }
      });
  }
}
