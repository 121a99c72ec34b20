/**
 * Statements outside a transaction on PostgreSQL's raw driver (controller/src/db/raw-pg.ts,
 * `StatementGroups`): those of the same text asked for together leave in groups of at most four
 * on one connection, pipelined; each still answers alone, a failing one fails alone, a slow one
 * holds up none of another text, and a group whose connection dies under it leaves the next
 * statements a working one. On the run's real server.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PgRawDb } from '../../controller/src/db/raw-pg.js';
import { createDatabase, uniqueDatabaseName } from '../support/postgres.js';

const onPostgres = inject('testDb') === 'postgres';

describe.skipIf(!onPostgres)('raw statements on PostgreSQL share connections in groups', () => {
  let pool: pg.Pool;
  let raw: PgRawDb;

  beforeAll(async () => {
    const url = await createDatabase(inject('pgBaseUrl'), uniqueDatabaseName('statement_groups'));
    pool = new pg.Pool({ connectionString: url, max: 20, pipeline: true }); // as db/client.ts opens it
    raw = new PgRawDb(pool);
  });
  afterAll(async () => {
    await pool.end();
  });

  const numbered = (n: number) =>
    raw.query<{ n: number; pid: number }>('SELECT $1::int AS "n", pg_backend_pid() AS "pid"', [n]);

  it('sends the statements asked for together in groups of four, one connection each, each its own answer', async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, (_, n) => numbered(n)));
    expect(answers.map((rows) => rows[0]?.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const byConnection = new Map<number, number[]>();
    for (const [row] of answers) byConnection.set(row!.pid, [...(byConnection.get(row!.pid) ?? []), row!.n]);
    expect([...byConnection.values()].sort((a, b) => a[0]! - b[0]!)).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
  });

  /** `n`, on the connection it ran on; `1 / divisor` first (0: division by zero), ending the session when `end`. */
  const step = (n: number, divisor = 1, end = false) =>
    raw.query<{ n: number; pid: number }>(
      `SELECT $1::int + 0 * (1 / $2::int) AS "n", pg_backend_pid() AS "pid",
         CASE WHEN $3::boolean THEN pg_terminate_backend(pg_backend_pid()) END AS "ended"`,
      [n, divisor, end],
    );

  it('fails a failing statement alone: the others of its group answer', async () => {
    const [before, failing, after] = await Promise.allSettled([step(1), step(2, 0), step(3)]);
    expect(before).toMatchObject({ status: 'fulfilled', value: [{ n: 1 }] });
    expect(failing).toMatchObject({ status: 'rejected', reason: { message: 'division by zero' } });
    expect(after).toMatchObject({ status: 'fulfilled', value: [{ n: 3 }] });
    expect(new Set([before, after].map((r) => (r.status === 'fulfilled' ? r.value[0]?.pid : 0))).size).toBe(
      1,
    );
  });

  it('groups only statements of the same text: a slow one holds up no other', async () => {
    const answered: string[] = [];
    await Promise.all([
      raw.query('SELECT pg_sleep(0.3)').then(() => answered.push('slow')),
      raw.execute('SELECT 1').then(() => answered.push('other text')),
      numbered(1).then(() => answered.push('numbered')),
    ]);
    expect(answered.indexOf('slow')).toBe(2);
  });

  it('leaves no broken connection behind when the server ends one under a group', async () => {
    const ended = await Promise.allSettled([step(1), step(2, 1, true), step(3)]);
    expect(ended[0]).toMatchObject({ status: 'fulfilled', value: [{ n: 1 }] });
    expect(ended[1]?.status).toBe('rejected');
    expect(ended[2]?.status).toBe('rejected'); // it was behind the ended session, on the same connection
    // The pool dropped that connection: every later statement answers, on live connections.
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(Array.from({ length: 8 }, (_, n) => step(n)));
      expect(answers.map((rows) => rows[0]?.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    }
  });
});
