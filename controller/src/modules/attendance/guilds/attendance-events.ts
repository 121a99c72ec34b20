/**
 * What happened to a guild's attendance, for the features that react to it: log
 * destinations, verified roles and outbound webhooks.
 *
 * Two moments, so nothing is lost and nothing slow runs under a lock:
 * - `inTransaction`: inside the transaction that stored the change (an outbox row
 *   written here commits or rolls back with the change; a throw rolls it back);
 * - `afterCommit`: once committed, best effort and in the background (posting to
 *   Discord, granting roles, waking the webhook sender); failures are logged.
 */
import type { Logger } from '../../../core/logger.js';
import type { Tx } from '../../../db/client.js';

export interface SessionCompletedEvent {
  type: 'session.completed';
  guildId: string;
  periodIndex: number;
  session: {
    id: string;
    userId: string;
    channelId: string;
    startedAt: string;
    endedAt: string;
    activeMs: number;
    pausedMs: number;
    outageMs: number;
    closeReason: string;
    source: string;
    signed: boolean;
  };
}

export interface PeriodArchivedEvent {
  type: 'period.archived';
  guildId: string;
  periodIndex: number;
  startedAt: string;
  endedAt: string;
  sessions: number;
  signed: boolean;
}

export type AttendanceEvent = SessionCompletedEvent | PeriodArchivedEvent;
export type AttendanceEventType = AttendanceEvent['type'];
export const ATTENDANCE_EVENT_TYPES: readonly AttendanceEventType[] = [
  'session.completed',
  'period.archived',
];

export interface AttendanceEventHandler {
  /** Inside the change's transaction: write what must commit with it (outbox rows). */
  inTransaction?(tx: Tx, events: readonly AttendanceEvent[]): Promise<void>;
  /** After the commit, in the background: slow or remote work. */
  afterCommit?(events: readonly AttendanceEvent[]): Promise<void>;
}

export class AttendanceEvents {
  private readonly handlers: AttendanceEventHandler[] = [];
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly log: Pick<Logger, 'error'>) {}

  subscribe(handler: AttendanceEventHandler): void {
    this.handlers.push(handler);
  }

  async inTransaction(tx: Tx, events: readonly AttendanceEvent[]): Promise<void> {
    if (events.length === 0) return;
    for (const handler of this.handlers) await handler.inTransaction?.(tx, events);
  }

  /** Call once the transaction has committed; returns at once. */
  afterCommit(events: readonly AttendanceEvent[]): void {
    if (events.length === 0) return;
    for (const handler of this.handlers) {
      if (!handler.afterCommit) continue;
      const run = handler
        .afterCommit(events)
        .catch((err: unknown) => this.log.error({ err }, 'attendance event handler failed'))
        .finally(() => this.running.delete(run));
      this.running.add(run);
    }
  }

  /** Resolves when the background work started so far has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}
