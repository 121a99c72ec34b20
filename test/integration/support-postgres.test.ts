// Tests test/support/postgres.ts against a real server: the run's shared one under
// EARSHOT_TEST_DB=postgres, else one started here.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createDatabase,
  databaseUrl,
  dropDatabase,
  type RunningPostgres,
  startPostgres,
  uniqueDatabaseName,
} from '../support/postgres.js';

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('test support: PostgreSQL', () => {
  let own: RunningPostgres | undefined;
  let baseUrl = '';

  beforeAll(async () => {
    baseUrl = inject('pgBaseUrl');
    if (!baseUrl) {
      own = await startPostgres();
      baseUrl = own.url;
    }
  });

  afterAll(async () => {
    await own?.stop();
  });

  it('serves the base database on loopback', async () => {
    const url = new URL(baseUrl);
    expect(url.protocol).toBe('postgres:');
    expect(url.hostname).toBe('127.0.0.1');
    expect(url.pathname).toBe('/earshot_test');
    const rows = await query<{ one: number }>(baseUrl, 'select 1 as one');
    expect(rows).toEqual([{ one: 1 }]);
  });

  it('creates separate, fresh databases per name', async () => {
    const name = uniqueDatabaseName('support');
    const url = await createDatabase(baseUrl, name);
    expect(url).toBe(databaseUrl(baseUrl, name));
    await query(url, 'create table t (id int primary key)');
    expect(await query<{ db: string }>(url, 'select current_database() as db')).toEqual([{ db: name }]);

    // Re-creating gives an empty database again.
    await createDatabase(baseUrl, name);
    const tables = await query(url, "select 1 from pg_tables where tablename = 't'");
    expect(tables).toHaveLength(0);

    await dropDatabase(baseUrl, name);
    const left = await query(baseUrl, `select 1 from pg_database where datname = '${name}'`);
    expect(left).toHaveLength(0);
  });

  it('rejects unsafe database names', async () => {
    await expect(createDatabase(baseUrl, 'x"; drop')).rejects.toThrow(/invalid database name/);
  });
});
