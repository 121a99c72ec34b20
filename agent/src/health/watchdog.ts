/**
 * The agent's watchdog: the one capture's meter frames (per channel: silence, clipping), the
 * capture's state (device lost, restarts), the disk (free percent and hours of headroom at the
 * current recording rate), the clock offset from the controller and the upload backlog, each a
 * Condition with hysteresis, checked against the node's watchdog policy (built-in defaults when
 * it has none). Opened and resolved events go to `report`; it never captures audio itself.
 */
import type { MeterFrame } from '../../../shared/src/mqtt.js';
import type { WatchdogThresholds } from '../../../shared/src/watchdog.js';
import { type AgentHealthEvent, Condition, type ConditionSpec, type Reading } from './condition.js';

export { DEFAULT_WATCHDOG_THRESHOLDS, type WatchdogThresholds } from '../../../shared/src/watchdog.js';

/** Above the silence level by this much before silence clears (hysteresis). */
export const SILENCE_CLEAR_DB = 3;
/** Clear for this long before silence or a lost device resolves. */
const CLEAR_MS = 1000;
/** No meter frame for this long while capturing: the device is lost. */
export const NO_DATA_MS = 5000;
/** A capture that restarted is stable again after this long. */
const STABLE_MS = 60_000;

export interface WatchdogOptions {
  thresholds: () => WatchdogThresholds;
  report: (event: AgentHealthEvent) => void;
}

export interface DiskReading {
  freeBytes: number;
  totalBytes: number;
  /** Bytes written per hour by what records now (0 when nothing records). */
  bytesPerHour: number;
}

export class Watchdog {
  private readonly conditions = new Map<string, Condition>();
  private readonly clips = new Map<number, { atMs: number; count: number }[]>();
  private lastFrameMs: number | undefined;

  constructor(private readonly options: WatchdogOptions) {}

  /** Every event open now (to re-send after a reconnect). */
  openEvents(): AgentHealthEvent[] {
    return [...this.conditions.values()].flatMap((c) => (c.open ? [c.open] : []));
  }

  /** One meter frame of the capture: silence and clipping per channel; the device delivers. */
  meter(frame: MeterFrame): void {
    const t = this.options.thresholds();
    const at = frame.capturedAtMs;
    this.lastFrameMs = at;
    this.feed('device_lost', 'good', at, 'the capture delivers audio again', {});
    this.feed('capture_restart', 'good', at, 'the capture has run steadily', {});
    frame.channels.forEach((level, i) => {
      const channel = i + 1;
      const silence: Reading =
        level.rmsDbfs < t.silenceDbfs
          ? 'bad'
          : level.rmsDbfs >= t.silenceDbfs + SILENCE_CLEAR_DB
            ? 'good'
            : 'between';
      this.feed(
        'silence',
        silence,
        at,
        `channel ${channel} is silent (below ${t.silenceDbfs} dBFS)`,
        {
          rmsDbfs: level.rmsDbfs,
        },
        channel,
      );
      const clipped = this.clipsInWindow(channel, at, level.clipCount, t.clipWindowSeconds * 1000);
      const clipping: Reading = clipped >= t.clipCountPerWindow ? 'bad' : clipped === 0 ? 'good' : 'between';
      this.feed(
        'clipping',
        clipping,
        at,
        `channel ${channel} clips (${clipped} in ${t.clipWindowSeconds} s)`,
        {
          clipCount: clipped,
        },
        channel,
      );
    });
  }

  /** The capture's state, checked every second or so: lost when failing or silent of frames. */
  capture(state: 'capturing' | 'idle' | 'error', atMs: number, lastError?: string): void {
    const starved =
      state === 'capturing' && this.lastFrameMs !== undefined && atMs - this.lastFrameMs > NO_DATA_MS;
    if (state === 'error' || starved) {
      const why =
        state === 'error' ? (lastError ?? 'the capture failed') : `no audio for ${NO_DATA_MS / 1000} s`;
      this.feed('device_lost', 'bad', atMs, `capture device lost: ${why}`, {});
    }
    if (state === 'capturing' && !starved)
      this.feed('capture_restart', 'good', atMs, 'the capture has run steadily', {});
  }

  /** The capture restarted (after a failure or a reconfiguration). */
  captureRestarted(atMs: number, reason: string): void {
    this.feed('capture_restart', 'bad', atMs, `the capture restarted: ${reason}`, {});
  }

  disk(reading: DiskReading, atMs: number): void {
    const t = this.options.thresholds();
    const freePercent = reading.totalBytes > 0 ? (reading.freeBytes / reading.totalBytes) * 100 : 100;
    const headroomHours =
      reading.bytesPerHour > 0 ? reading.freeBytes / reading.bytesPerHour : Number.POSITIVE_INFINITY;
    const low = freePercent < t.diskLowPercent || headroomHours < t.diskLowHours;
    const clear = freePercent >= t.diskLowPercent + 1 && headroomHours >= t.diskLowHours * 1.1;
    const values = {
      freeBytes: reading.freeBytes,
      freePercent: round(freePercent),
      ...finite('headroomHours', headroomHours),
    };
    this.feed(
      'disk_low',
      low ? 'bad' : clear ? 'good' : 'between',
      atMs,
      `disk low: ${round(freePercent)} % free, ${Number.isFinite(headroomHours) ? `${round(headroomHours)} h` : 'unlimited'} of recording headroom`,
      values,
    );
  }

  clock(offsetMs: number, atMs: number): void {
    const limitMs = this.options.thresholds().clockSkewSeconds * 1000;
    const skew = Math.abs(offsetMs);
    const reading: Reading = skew > limitMs ? 'bad' : skew < limitMs * 0.8 ? 'good' : 'between';
    this.feed('clock_skew', reading, atMs, `the clock is ${offsetMs} ms off the controller's`, { offsetMs });
  }

  /** The age of the oldest recording not yet uploaded (undefined: none waiting). */
  uploadBacklog(oldestAgeMs: number | undefined, atMs: number): void {
    const limitMs = this.options.thresholds().uploadBacklogMinutes * 60_000;
    const age = oldestAgeMs ?? 0;
    const reading: Reading = age > limitMs ? 'bad' : age < limitMs * 0.8 ? 'good' : 'between';
    this.feed(
      'upload_backlog',
      reading,
      atMs,
      `a recording has waited ${Math.round(age / 60_000)} min to upload`,
      {
        oldestAgeMs: age,
      },
    );
  }

  private clipsInWindow(channel: number, atMs: number, count: number, windowMs: number): number {
    const seen = (this.clips.get(channel) ?? []).filter((c) => c.atMs > atMs - windowMs);
    if (count > 0) seen.push({ atMs, count });
    this.clips.set(channel, seen);
    return seen.reduce((sum, c) => sum + c.count, 0);
  }

  private feed(
    type: AgentHealthEvent['type'],
    reading: Reading,
    atMs: number,
    message: string,
    values: Record<string, number>,
    channel?: number,
  ): void {
    const key = channel === undefined ? type : `${type}:${channel}`;
    let condition = this.conditions.get(key);
    if (!condition) {
      if (reading !== 'bad') return; // nothing to resolve
      condition = new Condition(this.specFor(type, channel));
      this.conditions.set(key, condition);
    }
    const event = condition.observe(reading, atMs, { message, values });
    if (event) this.options.report(event);
  }

  private specFor(type: AgentHealthEvent['type'], channel?: number): ConditionSpec {
    const t = this.options.thresholds();
    const base = { type, ...(channel === undefined ? {} : { channel }) };
    switch (type) {
      case 'silence':
        return { ...base, severity: 'warning', openAfterMs: t.silenceSeconds * 1000, clearAfterMs: CLEAR_MS };
      case 'device_lost':
        return { ...base, severity: 'critical', openAfterMs: 0, clearAfterMs: CLEAR_MS };
      case 'capture_restart':
        return { ...base, severity: 'info', openAfterMs: 0, clearAfterMs: STABLE_MS };
      default:
        return { ...base, severity: 'warning', openAfterMs: 0, clearAfterMs: 0 };
    }
  }
}

const round = (n: number) => Math.round(n * 10) / 10;
const finite = (key: string, n: number) => (Number.isFinite(n) ? { [key]: round(n) } : {});
