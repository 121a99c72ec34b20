/**
 * A real controller app (real Fastify, real database) for integration tests, on a
 * fresh database per call: a migrated SQLite file (a copy of the run's migrated template,
 * global-setup.ts), or a new PostgreSQL database when the run targets PostgreSQL
 * (EARSHOT_TEST_DB=postgres).
 */
import { copyFile } from 'node:fs/promises';
import { inject } from 'vitest';
import { type AppDeps, buildApp, type ControllerApp } from '../../controller/src/app.js';
import { type Config, loadConfig } from '../../controller/src/config.js';
import {
  type DatabaseTarget,
  type Db,
  databaseTarget,
  openDatabase,
  sqlitePath,
} from '../../controller/src/db/client.js';
import { type Migration, migrate } from '../../controller/src/db/migrate.js';
import { newValidators } from '../../controller/src/http/validation.js';
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

export async function freshDatabase(dataDir: string, migrations?: Migration[]): Promise<DatabaseTarget> {
  const pgBaseUrl = inject('pgBaseUrl');
  const target = pgBaseUrl
    ? { provider: 'postgresql' as const, url: await createDatabase(pgBaseUrl, uniqueDatabaseName('ctl')) }
    : databaseTarget(undefined, dataDir);
  await migrate(target, migrations);
  return target;
}

/**
 * A fresh migrated database for a controller: a copy of the run's template on SQLite (the same
 * file `migrate` makes, without running every migration again), else `freshDatabase`.
 */
async function copiedDatabase(dataDir: string): Promise<DatabaseTarget> {
  const template = inject('sqliteTemplate');
  if (!template) return freshDatabase(dataDir);
  const target = databaseTarget(undefined, dataDir);
  await copyFile(template, sqlitePath(target.url));
  return target;
}

/**
 * One pair of request validators for every controller this process builds: each route schema is
 * compiled once (about half a second of each controller's start otherwise).
 */
const sharedValidators = newValidators();

export async function testController(
  overrides: Partial<Config> = {},
  now?: () => Date,
  deps: Pick<AppDeps, 'settingsFamilies' | 'diskSpace' | 'consoleDir'> = {},
): Promise<TestController> {
  const dir = await tempDir('controller');
  const config = loadConfig(
    {},
    { dataDir: dir.path, logLevel: 'silent', scryptLogN: 10, httpPort: 0, mqttPort: 0, ...overrides },
  );
  const target = await copiedDatabase(dir.path);
  const db = openDatabase(target);
  const controller = await buildApp({
    ...deps,
    config,
    db,
    provider: target.provider,
    now,
    logger: false,
    validators: sharedValidators,
  });
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

/**
 * An API token for the owner, for tests whose injected clock moves hours or days ahead,
 * past a login session's idle timeout.
 */
export async function ownerApiToken(ctl: TestController, name = 'tests'): Promise<string> {
  const created = await ctl.app.inject({
    method: 'POST',
    url: '/api/v1/auth/api-tokens',
    headers: bearer(await ctl.ownerToken()),
    payload: { name },
  });
  return (created.json() as { data: { token: string } }).data.token;
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/**
 * A user holding a built-in role over a scope, created straight in the database rather
 * than through the user-management API (`/api/v1/auth/users`): fast (a cheap password
 * hash), and independent of the API under test, so a broken users route fails its own
 * tests only. Logged in; returns its session token.
 */
export async function userWithRole(
  ctl: TestController,
  username: string,
  role: 'owner' | 'admin' | 'operator' | 'viewer' | 'auditor',
  scope: { type: 'fleet' | 'site' | 'node'; id?: string } = { type: 'fleet' },
): Promise<string> {
  await ctl.ownerToken(); // makes sure built-in roles exist
  const { hashPassword } = await import('../../controller/src/crypto/password.js');
  const roleRow = await ctl.db.role.findUniqueOrThrow({ where: { name: role } });
  const password = `${username}-password-123`;
  await ctl.db.user.create({
    data: {
      username,
      displayName: username,
      passwordHash: await hashPassword(password, 10),
      grants: { create: { roleId: roleRow.id, scopeType: scope.type, scopeId: scope.id ?? null } },
    },
  });
  const login = await ctl.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { username, password },
  });
  return (login.json() as { data: { token: string } }).data.token;
}

/** Enrolls a node through the API and exchanges its token; returns the credential. */
export async function enrolledNode(
  ctl: TestController,
  input: { id: string; site: string; name?: string; sampleRate?: number; channels?: number },
): Promise<{ nodeId: string; credential: string; siteId: string }> {
  const token = await ctl.ownerToken();
  const enroll = await ctl.app.inject({
    method: 'POST',
    url: '/api/v1/nodes/enroll',
    headers: bearer(token),
    payload: {
      name: input.name ?? input.id,
      site: input.site,
      id: input.id,
      ...(input.sampleRate === undefined ? {} : { sampleRate: input.sampleRate }),
      ...(input.channels === undefined ? {} : { channels: input.channels }),
    },
  });
  if (enroll.statusCode !== 201) throw new Error(`enroll failed: ${enroll.body}`);
  const exchange = await ctl.app.inject({
    method: 'POST',
    url: '/api/v1/agent/enroll',
    payload: { token: enroll.json().data.enrollmentToken },
  });
  const data = exchange.json().data as { nodeId: string; credential: string; siteId: string };
  return data;
}
