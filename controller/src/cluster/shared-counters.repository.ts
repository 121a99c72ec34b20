/**
 * Counters the controller replicas sharing a PostgreSQL database keep together (`SharedCounter`):
 * route rate-limit windows and failed logins. A counter's window starts at its first hit and
 * lasts `windowMs`; a hit after it ends starts a new window. One statement per hit (an upsert
 * that returns the count), so two replicas counting the same key at once both count. Ended
 * windows are pruned at most once a minute, by whichever replica counts then.
 *
 * On the raw driver (db/raw.ts), on Prisma's own pool: a rate-limited request pays one round trip.
 * PostgreSQL only: on SQLite the one controller counts in memory.
 */
import type { RawDb } from '../db/raw.js';

export interface CounterWindow {
  count: number;
  resetAt: Date;
}

export interface CounterHit extends CounterWindow {
  /** How long the window still runs. */
  ttlMs: number;
}

const PRUNE_EVERY_MS = 60_000;

export class SharedCountersRepository {
  private prunedAt = 0;

  constructor(
    private readonly raw: RawDb,
    private readonly now: () => Date,
  ) {}

  /** Counts a hit on `key`; the window it fell in (a new one if the last ended). */
  async hit(key: string, windowMs: number): Promise<CounterHit> {
    const now = this.now();
    this.pruneNow(now);
    const [row] = await this.raw.query<CounterWindow>(
      `INSERT INTO "SharedCounter" ("key", "count", "resetAt") VALUES ($1, 1, $2)
       ON CONFLICT ("key") DO UPDATE SET
         "count" = CASE WHEN "SharedCounter"."resetAt" <= $3 THEN 1 ELSE "SharedCounter"."count" + 1 END,
         "resetAt" = CASE WHEN "SharedCounter"."resetAt" <= $3 THEN EXCLUDED."resetAt" ELSE "SharedCounter"."resetAt" END
       RETURNING "count", "resetAt"`,
      [key, new Date(now.getTime() + windowMs), now],
    );
    const resetAt = row!.resetAt;
    return { count: Number(row!.count), resetAt, ttlMs: Math.max(0, resetAt.getTime() - now.getTime()) };
  }

  /** The open windows among `keys` (ended ones are left out). */
  async read(keys: readonly string[]): Promise<Map<string, CounterWindow>> {
    const rows = await this.raw.query<CounterWindow & { key: string }>(
      `SELECT "key", "count", "resetAt" FROM "SharedCounter" WHERE "key" = ANY($1) AND "resetAt" > $2`,
      [keys, this.now()],
    );
    return new Map(rows.map((r) => [r.key, { count: Number(r.count), resetAt: r.resetAt }]));
  }

  async forget(key: string): Promise<void> {
    await this.raw.execute(`DELETE FROM "SharedCounter" WHERE "key" = $1`, [key]);
  }

  /** Ended windows go, at most once a minute and never in the caller's way. */
  private pruneNow(now: Date): void {
    if (now.getTime() - this.prunedAt < PRUNE_EVERY_MS) return;
    this.prunedAt = now.getTime();
    this.raw.execute(`DELETE FROM "SharedCounter" WHERE "resetAt" <= $1`, [now]).catch(() => undefined);
  }
}
