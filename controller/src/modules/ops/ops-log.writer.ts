/**
 * The operational event log's writer (the `OpsLog` port in the core): each event written in the
 * background with this replica's id and the injected clock; a write that fails is logged, never
 * thrown at the caller. `flush()` waits for the writes under way (the stop, before the database
 * closes). Ids sort in the order this writer recorded events, also within one millisecond (the
 * log lists newest first by time, then id).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../core/logger.js';
import type { OpsEventInput, OpsLog } from '../../core/ops-log.js';
import type { OpsRepository } from './ops.repository.js';

export class OpsLogWriter implements OpsLog {
  private readonly pending = new Set<Promise<void>>();
  private sequence = 0;

  constructor(
    private readonly deps: {
      repo: OpsRepository;
      instanceId: string;
      now: () => Date;
      log: Pick<Logger, 'error'>;
    },
  ) {}

  record(event: OpsEventInput): void {
    const { repo, instanceId, now, log } = this.deps;
    const at = now();
    const write = repo
      .addEvent({
        id: this.nextId(at),
        at,
        kind: event.kind,
        level: event.level,
        instanceId,
        message: event.message,
        data: JSON.stringify(event.data ?? {}),
      })
      .catch((err: unknown) => log.error({ err, kind: event.kind }, 'cannot write an operational event'))
      .finally(() => this.pending.delete(write));
    this.pending.add(write);
  }

  /** Time, then this writer's sequence, then a random part (replicas recording in the same millisecond). */
  private nextId(at: Date): string {
    const time = at.getTime().toString(36).padStart(9, '0');
    const sequence = (this.sequence++).toString(36).padStart(7, '0');
    return `${time}-${sequence}-${randomUUID().slice(0, 8)}`;
  }

  /** Waits for every write under way. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}
