/**
 * Live events and the WebSocket's tickets. Events are appended in batches; on PostgreSQL each
 * batch takes its ids under an advisory lock held until it commits, so ids commit in order and a
 * tail that reads `id > last` never skips an event another replica was still writing.
 */
import type { Db, Provider, RawDb, Tx } from '../../db/client.js';
import type { LiveEvent, LiveEventTicket } from '../../db/rows.js';

/** Distinct from the migration, audit, setup, access and leader locks (7_420_0xx). */
const APPEND_LOCK_ID = 7_420_024;

export type LiveEventRow = LiveEvent;

const APPEND = `INSERT INTO "LiveEvent" ("type", "at", "siteId", "nodeId", "subjectType", "subjectId", "data")
  VALUES ($1, $2, $3, $4, $5, $6, $7)`;
export type NewLiveEvent = Omit<LiveEvent, 'id'>;

export class EventsRepository {
  constructor(
    private readonly db: Db,
    private readonly provider: Provider,
    private readonly raw: RawDb,
  ) {}

  /**
   * One raw transaction (db/raw.ts) of one prepared single-row INSERT per event, all sent at
   * once and run in order, so ids follow the batch's order. SQLite: it usually commits with the
   * claims waiting at that moment (group commit). PostgreSQL: the lock, the inserts and the
   * COMMIT in one round trip. Prisma's transaction took a round trip per statement (SQLite:
   * holding the one connection across turns of the loop) and compiled a new multi-row
   * statement for each batch size.
   */
  async append(events: readonly NewLiveEvent[]): Promise<void> {
    if (events.length === 0) return;
    const rows = events.map((e) => [e.type, e.at, e.siteId, e.nodeId, e.subjectType, e.subjectId, e.data]);
    const last = rows.pop()!;
    await this.raw.transaction(async (tx) => {
      const lock =
        this.provider === 'postgresql' ? [tx.execute(`SELECT pg_advisory_xact_lock(${APPEND_LOCK_ID})`)] : [];
      await Promise.all([
        ...lock,
        ...rows.map((row) => tx.execute(APPEND, row)),
        tx.queryAndCommit(APPEND, last),
      ]);
    });
  }

  /** Events after `id`, oldest first. */
  after(id: number, limit: number): Promise<LiveEventRow[]> {
    return this.db.liveEvent.findMany({ where: { id: { gt: id } }, orderBy: { id: 'asc' }, take: limit });
  }

  /** The oldest and newest kept ids (undefined when none is kept). */
  async bounds(): Promise<{ oldest: number; newest: number } | undefined> {
    const { _min, _max } = await this.db.liveEvent.aggregate({ _min: { id: true }, _max: { id: true } });
    if (_min.id === null || _max.id === null) return undefined;
    return { oldest: _min.id, newest: _max.id };
  }

  /**
   * Removes events older than `before` and all but the newest `keep`, yet never the newest
   * event (it tells a reconnecting client how far the stream got). How many were removed.
   */
  async prune(before: Date, keep: number): Promise<number> {
    const newest = await this.db.liveEvent.findFirst({ orderBy: { id: 'desc' }, select: { id: true } });
    if (!newest) return 0;
    const floor = newest.id - keep;
    const { count } = await this.db.liveEvent.deleteMany({
      where: { id: { lt: newest.id }, OR: [{ at: { lt: before } }, { id: { lte: floor } }] },
    });
    return count;
  }

  createTicket(tx: Tx, ticket: Omit<LiveEventTicket, 'id' | 'usedAt'>): Promise<LiveEventTicket> {
    return tx.liveEventTicket.create({ data: ticket });
  }

  /**
   * Marks the ticket with this hash used, if it is unused and unexpired, in one statement (two
   * sockets presenting it at once: one wins); the ticket when it was this call that used it.
   */
  async redeemTicket(tokenHash: string, now: Date): Promise<LiveEventTicket | undefined> {
    const { count } = await this.db.liveEventTicket.updateMany({
      where: { tokenHash, usedAt: null, expiresAt: { gt: now } },
      data: { usedAt: now },
    });
    if (count !== 1) return undefined;
    return (await this.db.liveEventTicket.findUnique({ where: { tokenHash } })) ?? undefined;
  }

  async pruneTickets(before: Date): Promise<number> {
    const { count } = await this.db.liveEventTicket.deleteMany({ where: { expiresAt: { lt: before } } });
    return count;
  }
}
