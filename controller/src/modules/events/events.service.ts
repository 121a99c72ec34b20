/**
 * Live events (docs/architecture.md, "Live events"). Every change on the core change feed is
 * written down (one writer per process, in the order it was announced) as a numbered live event
 * and kept for the retention window. One tail per process reads the events after the last it saw
 * (woken by its own writes, and on a timer for the other replicas' writes) and hands each to the
 * open streams, which pass on what their user may read. A stream that resumes (`Last-Event-ID`)
 * first reads what it missed from the table, then joins the tail; an id older than what is kept
 * gets a `reset`. WebSockets present a single-use ticket (stored hashed, valid for seconds).
 */

import { ERROR_CODES } from '../../../../shared/src/errors.js';
import { AUDIT_APPENDED } from '../../../../shared/src/live-events.js';
import { AccessSet } from '../../core/access-set.js';
import type { AuditWriter, RequestContext } from '../../core/audit.types.js';
import type { Change } from '../../core/change-feed.js';
import { AppError, forbidden } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { NodeDirectory } from '../../core/node-directory.js';
import { actorOf, type CallContext, type Principal, type UserPrincipal } from '../../core/principal.js';
import { hashSecret, newSecret } from '../../crypto/secrets.js';
import type { Db } from '../../db/client.js';
import type { Metrics } from '../../metrics.js';
import type { EventsRepository, NewLiveEvent } from './events.repository.js';
import { LiveStream } from './events.stream.js';

/** How long a WebSocket ticket may wait for its socket. */
export const EVENTS_TICKET_TTL_MS = 30_000;
const TICKET_PREFIX = 'eet_';
/** Events read from the table at a time. */
const PAGE = 500;
/**
 * How long a change waits for others to be written with it: live events come a few milliseconds
 * later, and a busy controller (thousands of job claims a second) writes a few dozen
 * transactions a second for them, not one per change.
 */
const WRITE_DELAY_MS = 20;
/** Events written in one transaction at most. */
const WRITE_BATCH = 200;
/** Changes waiting to be written at most (the database is away): the oldest are dropped, and logged. */
const MAX_PENDING = 100_000;
/**
 * A batch that could not be written is kept, in order, and tried again after RETRY_FIRST_MS,
 * doubling up to RETRY_MAX_MS, WRITE_TRIES times in all (about 40 s): a database away for a
 * moment loses nothing; one that refuses the batch for good does not hold the others back.
 */
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 10_000;
const WRITE_TRIES = 9;

export interface EventsAccess {
  /** The access generation: while it holds, nobody's access changed. */
  generation: { read(): Promise<number> };
  /** The user as they are now; undefined once their credential is revoked or they are disabled. */
  current(principal: UserPrincipal): Promise<UserPrincipal | undefined>;
}

/** An audit event's place: what decides who may read it. */
export type AuditPlace = {
  seq: number;
  siteId: string | null;
  nodeId: string | null;
  guildId: string | null;
};

/** The audit trail as the stream watches it (the audit module's `auditFeed`). */
export interface EventsAuditFeed {
  /** The newest event's seq (0 with none). */
  latestSeq(): Promise<number>;
  /** Events appended after `seq`, oldest first, at most `limit`. */
  appendedAfter(seq: number, limit: number): Promise<AuditPlace[]>;
  /** Whether `access` may read the event (the audit list route's scoping). */
  visible(place: AuditPlace, access: AccessSet): boolean;
}

/** Audit events read per pass at most (more wait for the next pass). */
const AUDIT_PAGE = 1000;

export interface EventsServiceOptions {
  /** Announces the audit trail's growth to its readers (`audit.appended`); none without it. */
  auditFeed?: EventsAuditFeed;
  db: Db;
  repo: EventsRepository;
  /** A node's site, for a change that names its node only (the producer did not have it at hand). */
  nodes: Pick<NodeDirectory, 'scopeOf'>;
  access: EventsAccess;
  audit: Pick<AuditWriter, 'record' | 'recordAlone'>;
  metrics: Metrics;
  log: Pick<Logger, 'error' | 'warn'>;
  now: () => Date;
  retention: { maxAgeMs: number; maxEvents: number };
  /** Where the WebSocket connects. */
  websocketPath: string;
}

export interface IssuedTicket {
  ticket: string;
  expiresAt: string;
  websocketPath: string;
}

/** A ticket the WebSocket cannot use (unknown, used, expired, or its user no longer may). */
export class EventsTicketError extends Error {}

export class EventsService {
  private readonly streams = new Set<LiveStream>();
  private pending: NewLiveEvent[] = [];
  private writing: Promise<void> | undefined;
  /** The write (after WRITE_DELAY_MS), or its next try after a failure. */
  private writeTimer: NodeJS.Timeout | undefined;
  /** How many times in a row the first waiting batch failed. */
  private failedTries = 0;
  /** The last event the tail handed out (undefined while no stream is open). */
  private tail: number | undefined;
  private polling: Promise<void> | undefined;
  private pollAgain = false;
  private checkedGeneration: number | undefined;
  /** The last audit event announced (undefined while no open stream may read the trail). */
  private auditSeq: number | undefined;
  /** Set once the controller stops: no new stream opens (HTTP could not drain). */
  private stopping = false;

  constructor(private readonly options: EventsServiceOptions) {}

  /** A committed change from the change feed: written down (in order, shortly), then the tail is woken. */
  record(change: Change): void {
    this.pending.push(rowOf(change));
    if (this.pending.length > MAX_PENDING) {
      this.pending.shift();
      this.options.log.warn(
        { pending: MAX_PENDING },
        'live events are not being written: the oldest was dropped',
      );
    }
    if (!this.writing && !this.writeTimer) {
      this.writeTimer = setTimeout(() => void this.flush(), WRITE_DELAY_MS);
      this.writeTimer.unref();
    }
  }

  /** Resolves once what was recorded so far is written (and the tail was woken). */
  flush(): Promise<void> {
    clearTimeout(this.writeTimer);
    this.writeTimer = undefined;
    this.writing ??= this.write().finally(() => {
      this.writing = undefined;
      // More came meanwhile; not after a failure (its retry has a timer, or the controller stops).
      if (this.pending.length > 0 && !this.writeTimer && this.failedTries === 0) void this.flush();
    });
    return this.writing;
  }

  private async write(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, WRITE_BATCH);
      try {
        await this.options.repo.append(await this.withSites(batch));
        this.failedTries = 0;
        this.options.metrics.eventWrites.inc({ outcome: 'ok' });
      } catch (err) {
        this.failedTries += 1;
        if (this.failedTries >= WRITE_TRIES) {
          this.failedTries = 0;
          this.options.metrics.eventWrites.inc({ outcome: 'dropped' });
          this.options.log.error({ err, events: batch.length }, 'live events could not be written: dropped');
          continue;
        }
        this.pending.unshift(...batch);
        const delayMs = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (this.failedTries - 1));
        this.options.metrics.eventWrites.inc({ outcome: 'retry' });
        this.options.log.error(
          { err, events: this.pending.length, retryInMs: delayMs },
          'live events could not be written: kept, and tried again',
        );
        if (!this.stopping) {
          this.writeTimer = setTimeout(() => void this.flush(), delayMs);
          this.writeTimer.unref();
        }
        return;
      }
      this.wake();
    }
  }

  /** The tail read now for the streams; a read that fails is logged (the timer's next pass reads again). */
  private wake(): void {
    this.poll().catch((err: unknown) => this.options.log.warn({ err }, 'live events could not be read'));
  }

  /** Each event of a node names the node's site too (who may see it depends on both). */
  private async withSites(batch: NewLiveEvent[]): Promise<NewLiveEvent[]> {
    const sites = new Map<string, Promise<string | null>>();
    const siteOf = (nodeId: string) => {
      let site = sites.get(nodeId);
      if (!site) {
        site = this.options.nodes.scopeOf(nodeId).then((scope) => scope?.siteId ?? null);
        sites.set(nodeId, site);
      }
      return site;
    };
    return Promise.all(
      batch.map(async (event) =>
        event.nodeId && !event.siteId ? { ...event, siteId: await siteOf(event.nodeId) } : event,
      ),
    );
  }

  /** Reads the events after the tail and hands them to the open streams; one read at a time. */
  poll(): Promise<void> {
    if (this.polling) {
      this.pollAgain = true;
      return this.polling;
    }
    this.polling = (async () => {
      do {
        this.pollAgain = false;
        await this.readTail();
      } while (this.pollAgain);
    })().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  private async readTail(): Promise<void> {
    if (this.streams.size === 0) {
      this.tail = undefined;
      return;
    }
    for (;;) {
      const from = this.tail;
      if (from === undefined) return;
      const rows = await this.options.repo.after(from, PAGE);
      for (const row of rows) for (const stream of this.streams) stream.offer(row);
      if (rows.length > 0) this.tail = Math.max(this.tail ?? 0, rows[rows.length - 1]!.id);
      if (rows.length < PAGE) return;
    }
  }

  /**
   * Opens a stream for the caller from `lastEventId` (what it missed first, in order), or from
   * now (a `ready` message with the position). Audited once per stream.
   */
  async open(
    ctx: { principal: Principal; request: RequestContext },
    transport: 'sse' | 'websocket',
    lastEventId?: number,
  ): Promise<LiveStream> {
    const user = userOf(ctx.principal);
    if (this.stopping)
      throw new AppError(503, ERROR_CODES.unavailable, 'The controller is stopping; connect again shortly.');
    const bounds = await this.options.repo.bounds();
    const newest = bounds?.newest ?? 0;
    const resumable =
      lastEventId !== undefined &&
      lastEventId <= newest &&
      (bounds === undefined || lastEventId >= bounds.oldest - 1);
    const start = lastEventId !== undefined && resumable ? lastEventId : newest;
    const stream = new LiveStream(user, start, transport);
    if (lastEventId === undefined) stream.send({ kind: 'ready', id: start });
    else if (!resumable)
      stream.send({
        kind: 'reset',
        id: start,
        lastEventId,
        oldestId: bounds?.oldest ?? null,
        reason:
          lastEventId > newest
            ? 'that event id is unknown here; read the current state again'
            : 'events after that id are no longer kept; read the current state again',
      });
    // Joins the tail before reading its backlog: nothing committed in between is lost (the tail
    // holds what it hands over until the backlog is sent; duplicates are skipped by id).
    this.streams.add(stream);
    if (this.stopping) stream.end('the controller is stopping; reconnect with Last-Event-ID');
    this.tail ??= start;
    // The trail's growth is told from here on (this stream's own opening is in it).
    if (this.auditSeq === undefined && this.options.auditFeed && user.access.has('audit:read')) {
      const seq = await this.options.auditFeed.latestSeq();
      this.auditSeq ??= seq;
    }
    this.options.metrics.eventStreams.inc({ transport });
    try {
      await this.options.audit.recordAlone({
        actor: actorOf(user),
        action: 'events.stream_open',
        target: null,
        outcome: 'success',
        after: {
          transport,
          lastEventId: lastEventId ?? null,
          reset: lastEventId !== undefined && !resumable,
        },
        context: ctx.request,
      });
      await this.replay(stream);
    } catch (err) {
      this.close(stream);
      throw err;
    }
    return stream;
  }

  private async replay(stream: LiveStream): Promise<void> {
    for (;;) {
      const rows = await this.options.repo.after(stream.position, PAGE);
      for (const row of rows) stream.replay(row);
      if (rows.length < PAGE || stream.closed) break;
    }
    stream.caughtUp();
  }

  /** The stream's reader went away. */
  close(stream: LiveStream): void {
    if (!this.streams.delete(stream)) return;
    stream.end();
    this.options.metrics.eventStreams.dec({ transport: stream.transport });
  }

  /** A single-use ticket for the WebSocket, for the caller's credential; shown once, kept hashed. */
  async issueTicket(ctx: CallContext): Promise<IssuedTicket> {
    const user = userOf(ctx.principal);
    if (!user.sessionId && !user.apiTokenId)
      throw forbidden('Live event tickets are for sessions and API tokens.');
    const ticket = newSecret(TICKET_PREFIX);
    const createdAt = this.options.now();
    const expiresAt = new Date(createdAt.getTime() + EVENTS_TICKET_TTL_MS);
    await this.options.db.$transaction(async (tx) => {
      const row = await this.options.repo.createTicket(tx, {
        tokenHash: hashSecret(ticket),
        userId: user.userId,
        username: user.username,
        sessionId: user.sessionId ?? null,
        apiTokenId: user.apiTokenId ?? null,
        createdAt,
        expiresAt,
      });
      await this.options.audit.record(tx, {
        actor: actorOf(user),
        action: 'events.ticket_create',
        target: { type: 'user', id: user.userId },
        outcome: 'success',
        after: { ticketId: row.id, expiresAt: expiresAt.toISOString() },
        context: ctx.request,
      });
    });
    return { ticket, expiresAt: expiresAt.toISOString(), websocketPath: this.options.websocketPath };
  }

  /**
   * The user a ticket was issued to, as they are now; the ticket is used up. Refusals are
   * audited (as denials of opening a stream) and thrown as EventsTicketError.
   */
  async redeem(ticket: string, request: RequestContext): Promise<UserPrincipal> {
    const row = await this.options.repo.redeemTicket(hashSecret(ticket), this.options.now());
    const holder = row && {
      kind: 'user' as const,
      userId: row.userId,
      username: row.username,
      via: row.sessionId ? ('session' as const) : ('api-token' as const),
      sessionId: row.sessionId ?? undefined,
      apiTokenId: row.apiTokenId ?? undefined,
      access: new AccessSet([]),
    };
    const user = holder && (await this.options.access.current(holder));
    if (user) return user;
    const reason = holder
      ? 'the account or the credential the ticket was issued for is no longer valid'
      : 'the ticket is unknown, used or expired';
    await this.options.audit.recordAlone({
      actor: holder ? actorOf(holder) : { type: 'anonymous' },
      action: 'events.stream_open',
      target: null,
      outcome: 'denied',
      reason,
      after: { transport: 'websocket' },
      context: request,
    });
    throw new EventsTicketError(reason);
  }

  /**
   * A timer's pass: the other replicas' events reach the streams; when anyone's access changed,
   * each stream's user is resolved again (a revoked or disabled one's stream ends).
   */
  async tick(): Promise<void> {
    await this.poll();
    await this.announceAudit();
    if (this.streams.size === 0) return;
    const generation = await this.options.access.generation.read();
    if (generation === this.checkedGeneration) return;
    for (const stream of [...this.streams]) {
      const now = await this.options.access.current(stream.principal);
      if (now) stream.principal = now;
      else {
        stream.end('your access was revoked');
        this.close(stream);
      }
    }
    this.checkedGeneration = generation;
  }

  /**
   * Tells each stream whose user may read some of the audit events appended since the last
   * pass (any replica's: read from the table, committed ones only) that the trail grew:
   * `audit.appended` with the newest such event's seq and their count. Not stored, so not
   * replayed; a page reads the trail itself.
   */
  private async announceAudit(): Promise<void> {
    const feed = this.options.auditFeed;
    const readers = [...this.streams].filter((stream) => stream.principal.access.has('audit:read'));
    if (!feed || readers.length === 0) {
      this.auditSeq = undefined;
      return;
    }
    if (this.auditSeq === undefined) {
      this.auditSeq = await feed.latestSeq();
      return;
    }
    const places = await feed.appendedAfter(this.auditSeq, AUDIT_PAGE);
    if (places.length === 0) return;
    this.auditSeq = Math.max(this.auditSeq, places[places.length - 1]!.seq);
    for (const stream of readers) {
      const seen = places.filter((place) => feed.visible(place, stream.principal.access));
      if (seen.length > 0)
        stream.send({
          kind: 'notice',
          type: AUDIT_APPENDED,
          data: { seq: seen[seen.length - 1]!.seq, count: seen.length },
        });
    }
  }

  /** Removes events past the retention window (age or count) and expired tickets. */
  async prune(): Promise<void> {
    const now = this.options.now().getTime();
    const { maxAgeMs, maxEvents } = this.options.retention;
    await this.options.repo.prune(new Date(now - maxAgeMs), maxEvents);
    await this.options.repo.pruneTickets(new Date(now - EVENTS_TICKET_TTL_MS));
  }

  /** Ends every open stream (the controller stops): their readers reconnect elsewhere. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    await this.flush();
    for (const stream of [...this.streams]) {
      stream.end('the controller is stopping; reconnect with Last-Event-ID');
      this.close(stream);
    }
  }
}

function userOf(principal: Principal): UserPrincipal {
  if (principal.kind !== 'user') throw forbidden('Live events are for users.');
  return principal;
}

/** A change as its stored row (its facts as JSON; a bigint as a number). */
function rowOf(change: Change): NewLiveEvent {
  return {
    type: change.type,
    at: change.at,
    siteId: change.scope.siteId,
    nodeId: change.scope.nodeId,
    subjectType: change.subject.type,
    subjectId: change.subject.id,
    data: JSON.stringify(change.data, (_key, value) => (typeof value === 'bigint' ? Number(value) : value)),
  };
}
