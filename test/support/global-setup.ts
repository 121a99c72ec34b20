// Vitest globalSetup for the integration and e2e projects (vitest.config.ts).
// EARSHOT_TEST_DB=postgres: one PostgreSQL server for the whole run; tests read its URL with
// `inject('pgBaseUrl')` and make their own database in it (createDatabase in ./postgres.ts).
// Otherwise (unset or `sqlite`): pgBaseUrl is '' and tests use SQLite.
import type { TestProject } from 'vitest/node';
import { type RunningPostgres, startPostgres } from './postgres.js';

export type TestDb = 'sqlite' | 'postgres';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Which database the run targets. */
    testDb: TestDb;
    /** postgres://postgres@127.0.0.1:PORT/earshot_test when testDb is 'postgres', else ''. */
    pgBaseUrl: string;
  }
}

export function selectedTestDb(): TestDb {
  const value = (process.env.EARSHOT_TEST_DB ?? '').trim().toLowerCase();
  if (value === '' || value === 'sqlite') return 'sqlite';
  if (value === 'postgres' || value === 'postgresql' || value === 'pg') return 'postgres';
  throw new Error(
    `EARSHOT_TEST_DB must be 'sqlite' or 'postgres', not ${JSON.stringify(process.env.EARSHOT_TEST_DB)}`,
  );
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const testDb = selectedTestDb();
  project.provide('testDb', testDb);
  if (testDb !== 'postgres') {
    project.provide('pgBaseUrl', '');
    return undefined;
  }
  const server: RunningPostgres = await startPostgres();
  project.provide('pgBaseUrl', server.url);
  return async () => {
    await server.stop();
  };
}
