/**
 * A real controller app (real Fastify, real database) for integration tests, on a
 * fresh database per call: a migrated SQLite file, or a new PostgreSQL database when
 * the run targets PostgreSQL (EARSHOT_TEST_DB=postgres).
 */
import { join } from 'node:path';
import { inject } from 'vitest';
import { buildApp, type ControllerApp } from '../../controller/src/app.js';
import { type Config, loadConfig } from '../../controller/src/config.js';
import {
  type DatabaseTarget,
  type Db,
  databaseTarget,
  openDatabase,
} from '../../controller/src/db/client.js';
import { migrate } from '../../controller/src/db/migrate.js';
import { createDatabase, uniqueDatabaseName } from './postgres.js';
import { tempDir } from './tmp.js';

export interface TestController extends ControllerApp {
  db: Db;
  target: DatabaseTarget;
  config: Config;
  /** Creates the owner through the API and returns a bearer session token. */
  ownerToken: () => Promise<string>;
  stop: () => Promise<void>;
}

export const OWNER = { username: 'owner', password: 'correct horse battery staple' };

export async function freshDatabase(dataDir: string): Promise<DatabaseTarget> {
  const pgBaseUrl = inject('pgBaseUrl');
  const target = pgBaseUrl
    ? { provider: 'postgresql' as const, url: await createDatabase(pgBaseUrl, uniqueDatabaseName('ctl')) }
    : databaseTarget(undefined, dataDir);
  await migrate(target);
  return target;
}

export async function testController(
  overrides: Partial<Config> = {},
  now?: () => Date,
): Promise<TestController> {
  const dir = await tempDir('controller');
  const config = loadConfig(
    {},
    { dataDir: dir.path, logLevel: 'silent', scryptLogN: 10, httpPort: 0, mqttPort: 0, ...overrides },
  );
  const target = await freshDatabase(join(dir.path));
  const db = openDatabase(target);
  const controller = await buildApp({ config, db, provider: target.provider, now, logger: false });
  await controller.app.ready();
  let token: string | undefined;
  return {
    ...controller,
    db,
    target,
    config,
    ownerToken: async () => {
      if (token) return token;
      await controller.app.inject({ method: 'POST', url: '/api/v1/setup', payload: OWNER });
      const login = await controller.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: OWNER,
      });
      token = (login.json() as { data: { token: string } }).data.token;
      return token;
    },
    stop: async () => {
      await controller.close();
      await db.$disconnect();
      await dir.cleanup();
    },
  };
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}
