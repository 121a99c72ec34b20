/**
 * Feeds the watchdog from the running agent: every meter frame of the one capture (the meter
 * feed hands them over), the capture's faults and restarts, and a tick that reads the capture
 * state every second and the disk, the clock offset and the upload backlog every 30 s. What the
 * watchdog opens or resolves goes to the reporter. Heartbeats read `headroomHours`.
 */
import { statfs } from 'node:fs/promises';
import type { MeterFrame } from '../../../shared/src/mqtt.js';
import type { WatchdogThresholds } from '../../../shared/src/watchdog.js';
import type { CaptureOptions } from '../capture/capture.js';
import { bytesPerSample } from '../capture/pcm-format.js';
import type { CaptureState } from '../capture/supervisor.js';
import type { JournalEntry } from '../state/journal.js';
import type { AgentHealthEvent } from './condition.js';
import { Watchdog } from './watchdog.js';

export interface HealthSources {
  /** The capture: its state, last error and format (for the recording rate). */
  capture: {
    readonly state: CaptureState;
    readonly lastError: string | undefined;
    readonly format: CaptureOptions;
  };
  /** Recordings in progress now. */
  recordingCount: () => number;
  /** The journal's entries (finished recordings not yet uploaded are the backlog). */
  journal: () => JournalEntry[];
  /** Agent clock minus controller clock, when measured. */
  clockOffsetMs: () => number | undefined;
  /** The cache directory (recordings are written there). */
  cacheDir: string;
}

export interface HealthMonitorOptions {
  sources: HealthSources;
  thresholds: () => WatchdogThresholds;
  report: (event: AgentHealthEvent) => void;
  tickMs?: number;
  slowTickMs?: number;
  now?: () => number;
}

export class HealthMonitor {
  readonly watchdog: Watchdog;
  private timer: NodeJS.Timeout | undefined;
  private lastSlowMs = 0;
  private headroom: number | undefined;
  private started = false;

  constructor(private readonly options: HealthMonitorOptions) {
    this.watchdog = new Watchdog({ thresholds: options.thresholds, report: options.report });
  }

  /** Hours of recording the disk holds at the current rate (undefined until measured or when idle). */
  get headroomHours(): number | undefined {
    return this.headroom;
  }

  start(): void {
    this.started = true;
    this.timer = setInterval(() => void this.tick(), this.options.tickMs ?? 1000);
    this.timer.unref?.();
    void this.tick();
  }

  stop(): void {
    this.started = false;
    clearInterval(this.timer);
  }

  meter(frame: MeterFrame): void {
    if (this.started) this.watchdog.meter(frame);
  }

  /** The capture (re)started; the first start of the agent is not a restart. */
  captureRestarted(reason: string): void {
    if (this.started) this.watchdog.captureRestarted(this.now(), reason);
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private async tick(): Promise<void> {
    const { sources } = this.options;
    const at = this.now();
    this.watchdog.capture(sources.capture.state, at, sources.capture.lastError);
    if (at - this.lastSlowMs < (this.options.slowTickMs ?? 30_000)) return;
    this.lastSlowMs = at;
    const offset = sources.clockOffsetMs();
    if (offset !== undefined) this.watchdog.clock(offset, at);
    const waiting = sources.journal().filter((e) => e.state === 'recorded');
    const oldest = Math.min(...waiting.map((e) => e.finishedAtMs ?? e.startedAtMs));
    this.watchdog.uploadBacklog(waiting.length > 0 ? at - oldest : undefined, at);
    await this.checkDisk(at).catch(() => {});
  }

  private async checkDisk(at: number): Promise<void> {
    const { sources } = this.options;
    const stats = await statfs(sources.cacheDir);
    const { sampleRate, channels, bitDepth } = sources.capture.format;
    const bytesPerHour = sources.recordingCount() * sampleRate * channels * bytesPerSample(bitDepth) * 3600;
    const freeBytes = stats.bavail * stats.bsize;
    this.headroom = bytesPerHour > 0 ? freeBytes / bytesPerHour : undefined;
    this.watchdog.disk({ freeBytes, totalBytes: stats.blocks * stats.bsize, bytesPerHour }, at);
  }
}
