/**
 * Keeps a job's lease alive while this agent works on it, recording or uploading: a job
 * heartbeat every interval carrying the epoch and what the agent is doing. A 409
 * stale_lease answer means another holder has the job (`onLeaseLost`, `leaseLost`);
 * any other failure is logged at debug and the work goes on, so a controller outage
 * stops neither a recording nor an upload (the epoch travels with the upload later).
 */
import type { JobHeartbeatBody } from '../../../shared/src/agent-api.js';
import { type AgentHttpClient, describeError, isStaleLease } from '../link/http-client.js';
import type { Logger } from '../support/log.js';

export type LeaseApi = Pick<AgentHttpClient, 'jobHeartbeat'>;

/** Job heartbeats at a third of the lease, so two can be lost before it expires. */
export function jobHeartbeatIntervalMs(leaseSeconds: number): number {
  return Math.max(1000, Math.floor((leaseSeconds * 1000) / 3));
}

export interface LeaseKeeperOptions {
  api: LeaseApi;
  jobId: string;
  body: JobHeartbeatBody;
  /** Read once, at start. */
  intervalMs: number;
  /** The owner's shutdown: aborts heartbeats in flight. stop() does not abort them. */
  signal: AbortSignal;
  log: Logger;
  /** Called on every stale_lease answer. */
  onLeaseLost: () => void;
  /** Called when an answer says stopRequested; without it the flag is ignored. */
  onStopRequested?: () => void;
  /** Send the first heartbeat at start instead of one interval later. Default false. */
  beatAtStart?: boolean;
  /** Do not keep the process alive for this timer alone. Default false. */
  unref?: boolean;
}

export class LeaseKeeper {
  private timer: NodeJS.Timeout | undefined;
  private lost = false;

  constructor(private readonly options: LeaseKeeperOptions) {}

  /** True once the controller answered stale_lease. */
  get leaseLost(): boolean {
    return this.lost;
  }

  start(): void {
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
    const { api, jobId, body, log } = this.options;
    api
      .jobHeartbeat(jobId, body, this.options.signal)
      .then((result) => {
        if (result.stopRequested) this.options.onStopRequested?.();
      })
      .catch((error: unknown) => {
        if (isStaleLease(error)) {
          this.lost = true;
          this.options.onLeaseLost();
        } else {
          log.debug({ jobId }, `job heartbeat failed: ${describeError(error)}`);
        }
      });
  }
}
