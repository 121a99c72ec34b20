/**
 * Node heartbeat: every heartbeatIntervalSeconds, tell the controller the agent
 * version, capture device and state, free disk in the cache, and the clock offset
 * (agent − controller) last measured (the previous heartbeat's round trip, or an
 * occurrence sync's); each answer is a new measurement.
 */
import { statfs } from 'node:fs/promises';
import type { HeartbeatBody } from '../../../shared/src/agent-api.js';
import type { CaptureState } from '../capture/supervisor.js';
import type { Logger } from '../support/log.js';
import type { ClockTracker } from './clock.js';
import { type AgentHttpClient, describeError } from './http-client.js';

export async function diskFreeBytes(path: string): Promise<number> {
  const stats = await statfs(path);
  return stats.bavail * stats.bsize;
}

export interface HeartbeatOptions {
  /** Hours of recording headroom on the cache disk now (the health monitor's), when known. */
  headroomHours?: () => number | undefined;
  api: Pick<AgentHttpClient, 'heartbeat'>;
  agentVersion: string;
  cacheDir: string;
  capture: () => { device: string; state: CaptureState };
  intervalMs: () => number;
  clock: ClockTracker;
  log: Logger;
  /** Called when a heartbeat gets through after failing ones (the controller is back). */
  onRecovered?: () => void;
  now?: () => number;
}

/** Headroom as the contract carries it: finite, rounded to a tenth of an hour, or absent. */
function headroom(hours: number | undefined): { headroomHours?: number } {
  return hours === undefined || !Number.isFinite(hours) ? {} : { headroomHours: Math.round(hours * 10) / 10 };
}

export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private failing = false;
  private stopped = true;

  constructor(private readonly options: HeartbeatOptions) {}

  start(): void {
    this.stopped = false;
    void this.beat();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort.abort();
  }

  /** Sends one heartbeat and schedules the next; never throws. */
  private async beat(): Promise<void> {
    const { api, log } = this.options;
    const now = this.options.now ?? Date.now;
    const offsetMs = this.options.clock.offsetMs;
    try {
      const capture = this.options.capture();
      const body: HeartbeatBody = {
        agentVersion: this.options.agentVersion,
        captureDevice: capture.device.slice(0, 256),
        captureState: capture.state,
        diskFreeBytes: await diskFreeBytes(this.options.cacheDir),
        sentAtMs: now(),
        ...(offsetMs === undefined ? {} : { clockOffsetMs: offsetMs }),
        ...headroom(this.options.headroomHours?.()),
      };
      const result = await api.heartbeat(body, this.abort.signal);
      this.options.clock.record(body.sentAtMs, now(), result.serverTimeMs);
      if (this.failing) {
        log.info('heartbeat delivered again');
        this.options.onRecovered?.();
      }
      this.failing = false;
    } catch (error) {
      if (this.stopped) return;
      // One line per outage, not one per beat.
      if (!this.failing) log.warn(`heartbeat failed: ${describeError(error)}`);
      this.failing = true;
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.beat(), this.options.intervalMs());
  }
}
