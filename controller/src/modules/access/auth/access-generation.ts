/**
 * The access generation: a counter in the database (`AccessGeneration`, one row) bumped in
 * the transaction of every change that can alter a signed-in caller's access. Resolved
 * callers are cached per credential with the generation read before they were resolved
 * (`PrincipalCache`); a request reads the generation (one small query, shared by the requests
 * waiting at that moment) and uses a cached caller only while the generation is unchanged.
 * Any replica's change is committed before its answer, so every request that starts later,
 * on any replica sharing the database, reads the new generation and resolves again.
 */
import type { AuditInput } from '../../../core/audit.types.js';
import type { RawDb, Tx } from '../../../db/client.js';

/** Successful `auth.*` events change access, except these, which only add a credential. */
const ACCESS_UNCHANGED = new Set(['auth.login', 'auth.api_token.create']);

export function changesAccess(input: AuditInput): boolean {
  return (
    input.outcome === 'success' && input.action.startsWith('auth.') && !ACCESS_UNCHANGED.has(input.action)
  );
}

export class AccessGenerationRepository {
  constructor(private readonly raw: RawDb) {}

  /** Read by (nearly) every request: on the raw driver (db/raw.ts), a fraction of Prisma's cost. */
  async read(): Promise<number> {
    const rows = await this.raw.query<{ value: number | bigint }>(
      'SELECT "value" FROM "AccessGeneration" WHERE "id" = 1',
    );
    return Number(rows[0]?.value ?? 0);
  }

  async bump(tx: Tx): Promise<void> {
    await tx.$executeRaw`
      INSERT INTO "AccessGeneration" ("id", "value") VALUES (1, 1)
      ON CONFLICT ("id") DO UPDATE SET "value" = "AccessGeneration"."value" + 1`;
  }
}

const ignore = () => undefined;

/**
 * Reads the generation for many concurrent requests with few queries: a caller gets the
 * result of a read that started after it asked (never one already in flight, which could
 * predate a change committed just before the request), shared with everyone who asked before it
 * started. A read starts in the loop's check phase (`setImmediate`), after the poll phase in
 * which the requests that wait for it were read: on SQLite, whose statements run synchronously,
 * the requests of one poll phase then share one read instead of making one each (10 µs apiece);
 * on PostgreSQL, whose read takes a round trip, those asking meanwhile share the next.
 */
export class GenerationReader {
  /** A read not started yet: a caller may join it. */
  private scheduled: Promise<number> | undefined;
  private running: Promise<number> | undefined;
  private waiting: Promise<number> | undefined;

  constructor(private readonly query: () => Promise<number>) {}

  read(): Promise<number> {
    if (this.scheduled) return this.scheduled;
    if (!this.running) return this.schedule();
    this.waiting ??= this.running.then(ignore, ignore).then(() => {
      this.waiting = undefined;
      return this.read();
    });
    return this.waiting;
  }

  private schedule(): Promise<number> {
    const read = new Promise<number>((resolve, reject) =>
      setImmediate(() => {
        this.scheduled = undefined;
        const running = this.query();
        this.running = running;
        const done = () => {
          if (this.running === running) this.running = undefined;
        };
        running.then(done, done);
        running.then(resolve, reject);
      }),
    );
    this.scheduled = read;
    return read;
  }
}
