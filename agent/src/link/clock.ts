/**
 * The agent's clock against the controller's. The agent schedules by its own clock (NTP's
 * job); it measures the offset from every answer that carries the controller's time (node
 * heartbeats, occurrence syncs), reports it in each heartbeat and in the capture facts of a
 * recording, keeps the last measurement on disk for `earshot-agent status`, and logs a
 * warning when the offset grows past the threshold.
 */
import type { ClockRecord, OfflineCache } from '../state/offline-cache.js';
import type { Logger } from '../support/log.js';

/**
 * Agent clock minus controller clock, assuming the controller stamped its time halfway
 * through the round trip (NTP-style midpoint). Positive: the agent's clock is ahead.
 */
export function clockOffsetMs(sentAtMs: number, receivedAtMs: number, serverTimeMs: number): number {
  return Math.round((sentAtMs + receivedAtMs) / 2 - serverTimeMs);
}

/** The offset past which the agent warns (EARSHOT_AGENT_CLOCK_WARN_MS). */
export const DEFAULT_CLOCK_WARN_MS = 2000;

/** Saved again when the offset moved this much, or this long after the last save. */
const SAVE_CHANGE_MS = 50;
const SAVE_EVERY_MS = 10 * 60_000;

export function describeOffset(offsetMs: number): string {
  const seconds = (Math.abs(offsetMs) / 1000).toFixed(offsetMs === 0 ? 0 : 3);
  if (offsetMs === 0) return 'in step with the controller';
  return `${seconds} s ${offsetMs > 0 ? 'ahead of' : 'behind'} the controller`;
}

export interface ClockTrackerOptions {
  cache?: Pick<OfflineCache, 'saveClock' | 'readClock'>;
  log: Logger;
  warnMs?: number;
  now?: () => number;
}

export class ClockTracker {
  private last: ClockRecord | undefined;
  private saved: ClockRecord | undefined;
  private warned = false;

  constructor(private readonly options: ClockTrackerOptions) {}

  /** Agent minus controller, ms, from the last measurement (this run or the one before). */
  get offsetMs(): number | undefined {
    return this.last?.offsetMs;
  }

  /** Restores the last saved measurement. */
  async load(): Promise<void> {
    this.last = (await this.options.cache?.readClock()) ?? undefined;
    this.saved = this.last;
  }

  /** One measurement: the request left at sentAtMs, its answer (stamped serverTimeMs) came at receivedAtMs. */
  record(sentAtMs: number, receivedAtMs: number, serverTimeMs: number): void {
    const offsetMs = clockOffsetMs(sentAtMs, receivedAtMs, serverTimeMs);
    const record: ClockRecord = {
      version: 1,
      offsetMs,
      measuredAtMs: receivedAtMs,
      roundTripMs: Math.max(0, Math.round(receivedAtMs - sentAtMs)),
    };
    this.last = record;
    this.warnIfOff(offsetMs);
    const saved = this.saved;
    if (
      !saved ||
      Math.abs(saved.offsetMs - offsetMs) >= SAVE_CHANGE_MS ||
      record.measuredAtMs - saved.measuredAtMs >= SAVE_EVERY_MS
    ) {
      this.saved = record;
      this.options.cache?.saveClock(record).catch((error: unknown) => {
        this.options.log.debug(`cannot save the clock offset: ${String(error)}`);
      });
    }
  }

  private warnIfOff(offsetMs: number): void {
    const limit = this.options.warnMs ?? DEFAULT_CLOCK_WARN_MS;
    const off = Math.abs(offsetMs) > limit;
    if (off && !this.warned) {
      this.options.log.warn(
        { clockOffsetMs: offsetMs, thresholdMs: limit },
        `this device's clock is ${describeOffset(offsetMs)}: scheduled recordings follow this clock; check NTP`,
      );
    } else if (!off && this.warned) {
      this.options.log.info({ clockOffsetMs: offsetMs }, 'clock back in step with the controller');
    }
    this.warned = off;
  }
}
