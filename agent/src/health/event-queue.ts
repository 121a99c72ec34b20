/**
 * Health events waiting to reach the controller, kept in the cache directory (written
 * atomically on every change) so a restart or a long outage loses none. One entry per event
 * id: a later report of the same event replaces the queued one (the controller keeps the
 * latest state anyway). Bounded: when full the oldest entries are dropped and counted, and the
 * count is reported as one `events_dropped` event once the controller can be reached.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import Type from 'typebox';
import { readJsonWithBackup, writeFileAtomic } from '../state/atomic-file.js';
import { expectShape } from '../support/validate.js';
import type { AgentHealthEvent } from './condition.js';

export const HEALTH_QUEUE_FILE = 'health-events.json';
export const DEFAULT_QUEUE_LIMIT = 500;

const QueuedEvent = Type.Object({
  id: Type.String(),
  type: Type.String(),
  severity: Type.String(),
  state: Type.String(),
  channel: Type.Optional(Type.Integer()),
  message: Type.String(),
  values: Type.Record(Type.String(), Type.Number()),
  firstSeenAtMs: Type.Integer(),
  lastSeenAtMs: Type.Integer(),
  count: Type.Integer(),
});
const QueueFile = Type.Object({
  version: Type.Literal(1),
  dropped: Type.Integer({ minimum: 0 }),
  events: Type.Array(QueuedEvent),
});

export class HealthEventQueue {
  private events: AgentHealthEvent[] = [];
  /** Events dropped since the last `events_dropped` report. */
  private dropped = 0;
  private writes: Promise<void> = Promise.resolve();
  readonly path: string;

  constructor(
    cacheDir: string,
    private readonly limit = DEFAULT_QUEUE_LIMIT,
  ) {
    this.path = join(cacheDir, HEALTH_QUEUE_FILE);
  }

  get size(): number {
    return this.events.length;
  }

  /** Reads what a previous run left (a missing or unreadable file is an empty queue). */
  async load(): Promise<void> {
    const stored = await readJsonWithBackup(this.path).catch(() => undefined);
    if (stored === undefined) return;
    try {
      const file = expectShape(QueueFile, stored, 'health event queue');
      this.events = file.events as AgentHealthEvent[];
      this.dropped = file.dropped;
    } catch {
      // A file of another version or damaged: start empty rather than not at all.
    }
  }

  /** Queues the event (replacing a queued report of the same id); drops the oldest when full. */
  push(event: AgentHealthEvent): Promise<void> {
    const at = this.events.findIndex((e) => e.id === event.id);
    if (at >= 0) this.events.splice(at, 1);
    this.events.push(event);
    const over = this.events.length - this.limit;
    if (over > 0) {
      this.events.splice(0, over);
      this.dropped += over;
    }
    return this.persist();
  }

  /**
   * What to send, oldest first; when events were dropped, an `events_dropped` event saying how
   * many comes first (it leaves the count once `sent` confirms it).
   */
  pending(nowMs: number): AgentHealthEvent[] {
    if (this.dropped === 0) return [...this.events];
    const dropped: AgentHealthEvent = {
      id: `dropped-${randomUUID()}`,
      type: 'events_dropped',
      severity: 'warning',
      state: 'resolved',
      message: `${this.dropped} health events were dropped while the controller could not be reached (queue limit ${this.limit})`,
      values: { dropped: this.dropped },
      firstSeenAtMs: nowMs,
      lastSeenAtMs: nowMs,
      count: this.dropped,
    };
    return [dropped, ...this.events];
  }

  /** Forgets an event the controller has (unless a newer report of it came meanwhile). */
  sent(event: AgentHealthEvent): Promise<void> {
    if (event.type === 'events_dropped') this.dropped = Math.max(0, this.dropped - event.count);
    const at = this.events.findIndex((e) => e.id === event.id);
    if (
      at >= 0 &&
      this.events[at]!.lastSeenAtMs === event.lastSeenAtMs &&
      this.events[at]!.state === event.state
    )
      this.events.splice(at, 1);
    return this.persist();
  }

  private persist(): Promise<void> {
    const snapshot = JSON.stringify({ version: 1, dropped: this.dropped, events: this.events });
    this.writes = this.writes
      .catch(() => {})
      .then(() => writeFileAtomic(this.path, snapshot, { backup: false }));
    return this.writes;
  }
}
