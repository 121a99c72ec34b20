/**
 * One open live events stream (SSE or WebSocket): what it may see, how far it got, and the
 * messages waiting for its writer. The service feeds it; its writer drains it.
 */
import type { Permission } from '../../../../shared/src/permissions.js';
import type { AccessSet } from '../../core/access-set.js';
import type { UserPrincipal } from '../../core/principal.js';
import type { LiveEventRow } from './events.repository.js';

/** What a stream writer sends: a stored event, or a control message of the stream itself. */
export type Outgoing =
  | { kind: 'event'; row: LiveEventRow }
  /** The stream's position when it opened (`id` resumes from there). */
  | { kind: 'ready'; id: number }
  /** The Last-Event-ID is older than what is kept (or unknown): state must be read again. */
  | { kind: 'reset'; id: number; lastEventId: number; oldestId: number | null; reason: string }
  /** The stream ends (its reader fell behind, its access was revoked, the controller stops). */
  | { kind: 'end'; reason: string }
  /** A notice not stored (no id): `audit.appended` (shared/src/live-events.ts). */
  | { kind: 'notice'; type: string; data: Record<string, unknown> };

/** The read permission each kind of event needs (the part of its type before the dot). */
const READ_PERMISSION: Record<string, Permission> = {
  node: 'node:read',
  recording: 'recording:read',
  job: 'recording:read',
  upload: 'recording:read',
  health: 'health:read',
  settings: 'settings:read',
};

/** Whether `access` may see `row`: its kind's read permission, over its site or node (or the fleet). */
export function mayRead(access: AccessSet, row: Pick<LiveEventRow, 'type' | 'siteId' | 'nodeId'>): boolean {
  const permission = READ_PERMISSION[row.type.slice(0, row.type.indexOf('.'))];
  if (!permission) return false;
  return access.allows(permission, { siteId: row.siteId ?? undefined, nodeId: row.nodeId ?? undefined });
}

/** Messages a stream may hold for a slow reader before it is ended (it resumes from the log). */
export const MAX_QUEUED = 5000;

export class LiveStream {
  /** The last stored event this stream has passed (sent or filtered out). */
  position: number;
  /** While it reads its backlog, live events wait here (sent after, in order). */
  private held: LiveEventRow[] | undefined = [];
  private queue: Outgoing[] = [];
  private wake: (() => void) | undefined;
  private ended = false;

  constructor(
    /** Who reads it, with their access as of its opening (or the last access change). */
    public principal: UserPrincipal,
    start: number,
    readonly transport: 'sse' | 'websocket',
  ) {
    this.position = start;
  }

  get closed(): boolean {
    return this.ended;
  }

  /** A live event from the tail (after its backlog, in order; duplicates skipped). */
  offer(row: LiveEventRow): void {
    if (this.ended) return;
    if (this.held) {
      this.held.push(row);
      return;
    }
    this.pass(row);
  }

  /** A backlog event (while catching up). */
  replay(row: LiveEventRow): void {
    if (!this.ended) this.pass(row);
  }

  /** The backlog is sent: the events held meanwhile follow, and then live ones. */
  caughtUp(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const row of held) this.pass(row);
  }

  send(message: Outgoing): void {
    if (this.ended) return;
    this.queue.push(message);
    if (this.queue.length > MAX_QUEUED) {
      // Too far behind: end it; the client resumes from the stored events with Last-Event-ID.
      this.queue = [{ kind: 'end', reason: 'the stream fell behind; reconnect with Last-Event-ID' }];
      this.ended = true;
    }
    this.wake?.();
  }

  /** Ends the stream after what is queued (with a last `end` message when a reason is given). */
  end(reason?: string): void {
    if (this.ended) return;
    if (reason) this.queue.push({ kind: 'end', reason });
    this.ended = true;
    this.wake?.();
  }

  /** Everything queued, once there is something; empty once the stream ended and is drained. */
  async drain(): Promise<Outgoing[]> {
    while (this.queue.length === 0 && !this.ended)
      await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = undefined;
    const out = this.queue;
    this.queue = [];
    return out;
  }

  private pass(row: LiveEventRow): void {
    if (row.id <= this.position) return;
    this.position = row.id;
    if (mayRead(this.principal.access, row)) this.send({ kind: 'event', row });
  }
}
