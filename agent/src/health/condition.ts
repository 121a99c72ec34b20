/**
 * One watched condition (silence on channel 2, disk low…) with hysteresis: it opens once it
 * has held for `openAfterMs`, and resolves once it has been clear for `clearAfterMs`; a
 * reading between the two thresholds (`'between'`) changes nothing, so a level hovering at the
 * threshold does not flap. Each opening is one health event with a stable id, first and last
 * seen, a count of the readings that kept it open, and the last measured values.
 */
import { randomUUID } from 'node:crypto';

export type HealthEventType =
  | 'silence'
  | 'clipping'
  | 'device_lost'
  | 'disk_low'
  | 'clock_skew'
  | 'upload_backlog'
  | 'capture_restart'
  | 'events_dropped';

export type Severity = 'info' | 'warning' | 'critical';

/** A health event as the agent reports it: opened, updated while it lasts, resolved. */
export interface AgentHealthEvent {
  id: string;
  type: HealthEventType;
  severity: Severity;
  state: 'open' | 'resolved';
  /** 1-based capture channel, for per-channel conditions. */
  channel?: number;
  message: string;
  values: Record<string, number>;
  firstSeenAtMs: number;
  lastSeenAtMs: number;
  count: number;
}

/** A reading: the condition holds (`bad`), is clear (`good`), or is inside the hysteresis band. */
export type Reading = 'bad' | 'good' | 'between';

export interface ConditionSpec {
  type: HealthEventType;
  severity: Severity;
  channel?: number;
  /** How long a condition must hold before it opens (0: at once). */
  openAfterMs: number;
  /** How long it must be clear before it resolves (0: at once). */
  clearAfterMs: number;
}

export class Condition {
  private badSinceMs: number | undefined;
  private goodSinceMs: number | undefined;
  private current: AgentHealthEvent | undefined;

  constructor(private readonly spec: ConditionSpec) {}

  /** The open event, if any. */
  get open(): AgentHealthEvent | undefined {
    return this.current ? { ...this.current } : undefined;
  }

  /**
   * Feeds one reading taken at `atMs`; answers the event to report when the condition opened,
   * resolved, or (`touch`) was updated while open, else undefined.
   */
  observe(
    reading: Reading,
    atMs: number,
    detail: { message: string; values: Record<string, number> },
    touch = false,
  ): AgentHealthEvent | undefined {
    if (reading === 'bad') {
      this.goodSinceMs = undefined;
      this.badSinceMs ??= atMs;
      if (this.current) {
        this.current = { ...this.current, ...detail, lastSeenAtMs: atMs, count: this.current.count + 1 };
        return touch ? { ...this.current } : undefined;
      }
      if (atMs - this.badSinceMs < this.spec.openAfterMs) return undefined;
      this.current = {
        id: randomUUID(),
        type: this.spec.type,
        severity: this.spec.severity,
        state: 'open',
        ...(this.spec.channel === undefined ? {} : { channel: this.spec.channel }),
        ...detail,
        firstSeenAtMs: this.badSinceMs,
        lastSeenAtMs: atMs,
        count: 1,
      };
      return { ...this.current };
    }
    if (reading === 'good') {
      this.badSinceMs = undefined;
      this.goodSinceMs ??= atMs;
      if (this.current && atMs - this.goodSinceMs >= this.spec.clearAfterMs) {
        const resolved: AgentHealthEvent = { ...this.current, state: 'resolved', values: detail.values };
        this.current = undefined;
        return resolved;
      }
    }
    return undefined;
  }
}
