/**
 * Group commit on SQLite's raw driver (controller/src/db/raw-sqlite.ts): raw transactions that
 * ask at the same moment run one after another in one BEGIN…COMMIT, each in its own savepoint.
 * On a real database file in WAL mode, whatever EARSHOT_TEST_DB names (this is the SQLite driver).
 */
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Gate } from '../../controller/src/db/raw.js';
import { SqliteRawDb } from '../../controller/src/db/raw-sqlite.js';
import { type TempDir, tempDir } from '../support/tmp.js';

describe('raw transactions on SQLite share one commit', () => {
  let dir: TempDir;
  let db: Database.Database;
  let raw: SqliteRawDb;
  let commits: number;

  beforeEach(async () => {
    dir = await tempDir('group-commit');
    db = new Database(`${dir.path}/test.db`);
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.exec(`CREATE TABLE "Counter" ("id" INTEGER PRIMARY KEY, "value" INTEGER NOT NULL);
      INSERT INTO "Counter" VALUES (1, 0);
      CREATE TABLE "Claim" ("n" INTEGER PRIMARY KEY, "by" TEXT NOT NULL);
      CREATE TABLE "Parent" ("id" INTEGER PRIMARY KEY);
      CREATE TABLE "Child" ("id" INTEGER PRIMARY KEY,
        "parentId" INTEGER REFERENCES "Parent" ("id") DEFERRABLE INITIALLY DEFERRED);`);
    // Counts the COMMITs the driver runs (it prepares each statement through `db.prepare`).
    commits = 0;
    const prepare = db.prepare.bind(db);
    db.prepare = ((sql: string) => {
      const statement = prepare(sql);
      if (sql !== 'COMMIT') return statement;
      const run = statement.run.bind(statement);
      statement.run = (...args: unknown[]) => {
        commits++;
        return run(...args);
      };
      return statement;
    }) as typeof db.prepare;
    raw = new SqliteRawDb(async () => db, new Gate());
  });
  afterEach(async () => {
    db.close();
    await dir.cleanup();
  });

  /** Takes the next number, as a claim takes the next job: read, then write, in one transaction. */
  const take = (by: string) =>
    raw.transaction(async (tx) => {
      const [row] = await tx.query<{ value: number }>('SELECT "value" FROM "Counter" WHERE "id" = 1');
      const n = row!.value + 1;
      await tx.execute('UPDATE "Counter" SET "value" = $1 WHERE "id" = 1', [n]);
      await tx.execute('INSERT INTO "Claim" ("n", "by") VALUES ($1, $2)', [n, by]);
      return n;
    });

  it('runs transactions asked for together in one commit, in the order asked, each seeing the last', async () => {
    const taken = await Promise.all(Array.from({ length: 20 }, (_, i) => take(`t${i}`)));
    expect(taken).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(commits).toBe(1);
    const rows = db.prepare('SELECT "n", "by" FROM "Claim" ORDER BY "n"').all();
    expect(rows).toEqual(taken.map((n) => ({ n, by: `t${n - 1}` })));
    // A transaction asked for later is a new group.
    expect(await take('later')).toBe(21);
    expect(commits).toBe(2);
  });

  it('rolls back a member that throws alone; the others commit', async () => {
    const failing = raw.transaction(async (tx) => {
      await tx.execute('INSERT INTO "Claim" ("n", "by") VALUES (100, $1)', ['failing']);
      await tx.execute('UPDATE "Counter" SET "value" = 50 WHERE "id" = 1');
      throw new Error('changed its mind');
    });
    const results = await Promise.allSettled([take('a'), failing, take('b')]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ message: 'changed its mind' });
    // `b` read the counter `a` left, not the one the failed member wrote and rolled back.
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : null))).toEqual([1, null, 2]);
    expect(db.prepare('SELECT "by" FROM "Claim" ORDER BY "n"').pluck().all()).toEqual(['a', 'b']);
    expect(commits).toBe(1);
  });

  it('rejects every member, with nothing committed, when the commit fails', async () => {
    // A deferred foreign key is checked at COMMIT: the group's commit fails.
    const orphan = raw.transaction(async (tx) => {
      await tx.execute('INSERT INTO "Child" ("id", "parentId") VALUES (1, 42)');
    });
    const results = await Promise.allSettled([take('a'), orphan, take('b')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason).toMatchObject({
      code: 'SQLITE_CONSTRAINT_FOREIGNKEY',
    });
    expect(db.prepare('SELECT count(*) FROM "Claim"').pluck().get()).toBe(0);
    expect(db.prepare('SELECT "value" FROM "Counter"').pluck().get()).toBe(0);
    expect(db.inTransaction).toBe(false);
    // The next group starts clean.
    expect(await take('c')).toBe(1);
  });

  it('ends a member at queryAndCommit: a later statement of it fails and the member rolls back', async () => {
    const ended = raw.transaction(async (tx) => {
      await tx.queryAndCommit('INSERT INTO "Claim" ("n", "by") VALUES (7, $1)', ['ended']);
      await tx.execute('INSERT INTO "Claim" ("n", "by") VALUES (8, $1)', ['after its end']);
    });
    await expect(ended).rejects.toThrow(/already ended/);
    expect(db.prepare('SELECT "by" FROM "Claim"').pluck().all()).toEqual([]);
    const committed = await raw.transaction(async (tx) => tx.queryAndCommit('SELECT 1 AS "one"'));
    expect(committed).toEqual([{ one: 1 }]);
  });
});
