// Vitest globalSetup for the integration and e2e projects (vitest.config.ts).
// EARSHOT_TEST_DB=postgres: one PostgreSQL server for the whole run; tests read its URL with
// `inject('pgBaseUrl')` and make their own database in it (createDatabase in ./postgres.ts); and
// one Redis (`inject('redisUrl')`) for the clustered-broker tests.
// Otherwise (unset or `sqlite`): pgBaseUrl is '' and tests use SQLite, each controller on a copy
// of one database migrated here once (`inject('sqliteTemplate')`, testController in
// ./controller.ts): migrating a fresh file cost each controller 1.5 to 2.7 s.
import type { TestProject } from 'vitest/node';
import { databaseTarget, sqlitePath } from '../../controller/src/db/client.js';
import { migrate } from '../../controller/src/db/migrate.js';
import { type RunningPostgres, startPostgres } from './postgres.js';
import { type RunningRedis, startRedis } from './redis.js';
import { tempDir } from './tmp.js';

export type TestDb = 'sqlite' | 'postgres';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Which database the run targets. */
    testDb: TestDb;
    /** postgres://postgres@127.0.0.1:PORT/earshot_test when testDb is 'postgres', else ''. */
    pgBaseUrl: string;
    /**
     * redis://127.0.0.1:PORT of one throwaway Redis for the run when testDb is 'postgres' (the
     * clustered-broker tests; each file takes its own key prefix or database), else ''.
     */
    redisUrl: string;
    /**
     * A SQLite file with every migration applied, for testController to copy (never opened by a
     * test itself) when testDb is 'sqlite', else ''.
     */
    sqliteTemplate: string;
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
    project.provide('redisUrl', '');
    const dir = await tempDir('sqlite-template');
    const target = databaseTarget(undefined, dir.path);
    await migrate(target);
    project.provide('sqliteTemplate', sqlitePath(target.url));
    return () => dir.cleanup();
  }
  project.provide('sqliteTemplate', '');
  const [server, redis]: [RunningPostgres, RunningRedis] = await Promise.all([startPostgres(), startRedis()]);
  project.provide('pgBaseUrl', server.url);
  project.provide('redisUrl', redis.url);
  return async () => {
    await Promise.all([server.stop(), redis.stop()]);
  };
}
