/**
 * Attendance's per-guild lock across controller replicas (issue 17): two database handles on one
 * PostgreSQL, as two replicas have, each with the GuildLocks its attendance module builds. One
 * guild's operations never interleave, whichever replica runs them; other guilds' do not wait.
 * Whether a holder waits is read from the server (pg_locks), not from a timer.
 *
 * Runs in `npm test`'s PostgreSQL run; on SQLite (one process by nature) the lock is the
 * in-process chain alone, which the attendance tests cover.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Db, openDatabase } from '../../controller/src/db/client.js';
import { migrate } from '../../controller/src/db/migrate.js';
import { EXCLUSIVE_LOCK_NAMESPACE, rawOf } from '../../controller/src/db/raw.js';
import { GuildLocks } from '../../controller/src/modules/attendance/guilds/guild-locks.js';
import { createDatabase, uniqueDatabaseName } from '../support/postgres.js';
import { until } from '../support/until.js';

const onPostgres = inject('testDb') === 'postgres';

/** An operation that says when it enters and leaves, and holds on until told to finish. */
function operation(name: string, log: string[]) {
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  return {
    finish,
    run: async () => {
      log.push(`${name} in`);
      await finished;
      log.push(`${name} out`);
    },
  };
}

describe.skipIf(!onPostgres)('attendance guild locks across replicas (PostgreSQL)', () => {
  let one: Db;
  let two: Db;
  let locksOne: GuildLocks;
  let locksTwo: GuildLocks;

  /** Lock requests of `RawDb.exclusive` the server has not granted yet. */
  const waiting = async () => {
    const [row] = await rawOf(one).query<{ n: number }>(
      `SELECT count(*)::int AS "n" FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = $1`,
      [EXCLUSIVE_LOCK_NAMESPACE],
    );
    return row!.n;
  };

  beforeAll(async () => {
    const url = await createDatabase(inject('pgBaseUrl'), uniqueDatabaseName('guild_locks'));
    await migrate({ provider: 'postgresql', url });
    one = openDatabase({ provider: 'postgresql', url });
    two = openDatabase({ provider: 'postgresql', url });
    locksOne = new GuildLocks(rawOf(one));
    locksTwo = new GuildLocks(rawOf(two));
  });
  afterAll(async () => {
    await one?.$disconnect();
    await two?.$disconnect();
  });

  it("one guild's operations on two replicas run one after the other", async () => {
    const log: string[] = [];
    const first = operation('first', log);
    const second = operation('second', log);
    const runs = [locksOne.run('g-1', first.run)];
    await until(() => log.includes('first in'), { what: 'the first operation to start' });
    runs.push(locksTwo.run('g-1', second.run));
    await until(async () => (await waiting()) === 1, {
      what: "the second replica to wait for the guild's lock",
    });
    expect(log).toEqual(['first in']);
    second.finish();
    first.finish();
    await Promise.all(runs);
    expect(log).toEqual(['first in', 'first out', 'second in', 'second out']);
    expect(await waiting()).toBe(0);
  });

  it("another guild's operation does not wait, and a failed operation frees the lock", async () => {
    const log: string[] = [];
    const held = operation('g-2', log);
    const holding = locksOne.run('g-2', held.run);
    await until(() => log.includes('g-2 in'), { what: 'the operation on g-2 to start' });
    const other = operation('g-3', log);
    other.finish();
    await locksTwo.run('g-3', other.run);
    expect(log).toEqual(['g-2 in', 'g-3 in', 'g-3 out']);
    held.finish();
    await holding;

    await expect(
      locksOne.run('g-4', async () => {
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    const after = operation('after', log);
    after.finish();
    await locksTwo.run('g-4', after.run);
    expect(log.slice(-2)).toEqual(['after in', 'after out']);
  });
});

describe.skipIf(onPostgres)('attendance guild locks (SQLite)', () => {
  it.skip('the lock across replicas runs in the PostgreSQL run only', () => {});
});
