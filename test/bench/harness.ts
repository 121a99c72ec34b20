/** A real controller on a real database, listening on loopback, for benchmarks. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { buildApp, type ControllerApp } from '../../controller/src/app.js';
import { loadConfig } from '../../controller/src/config.js';
import {
  type DatabaseTarget,
  type Db,
  databaseTarget,
  openDatabase,
} from '../../controller/src/db/client.js';
import { migrate } from '../../controller/src/db/migrate.js';
import { createDatabase, startPostgres, uniqueDatabaseName } from '../support/postgres.js';
import { tempDir } from '../support/tmp.js';

/** JSON over HTTP with the `{ data }` envelope unwrapped. */
export type JsonApi = (
  path: string,
  init?: { method?: string; body?: unknown; token?: string },
) => Promise<{ status: number; data: unknown }>;

export interface BenchController extends ControllerApp {
  base: string;
  db: Db;
  api: JsonApi;
  ownerToken: string;
  enroll: (id: string, site?: string) => Promise<string>;
  stop: () => Promise<void>;
}

export async function withPostgres<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const pg = await startPostgres();
  try {
    return await fn(await createDatabase(pg.url, uniqueDatabaseName('bench')));
  } finally {
    await pg.stop();
  }
}

export async function benchController(databaseUrl?: string): Promise<BenchController> {
  const dir = await tempDir('bench');
  const config = loadConfig(
    {},
    {
      dataDir: dir.path,
      logLevel: 'silent',
      httpPort: 0,
      mqttPort: 0,
      httpHost: '127.0.0.1',
      mqttHost: '127.0.0.1',
      scryptLogN: 10,
    },
  );
  const target: DatabaseTarget = databaseUrl
    ? { provider: 'postgresql', url: databaseUrl }
    : databaseTarget(undefined, dir.path);
  await migrate(target);
  const db = openDatabase(target);
  const ctl = await buildApp({ config, db, provider: target.provider, logger: false });
  await ctl.app.listen({ port: 0, host: '127.0.0.1' });
  const address = ctl.app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const api = jsonApi(base);
  const ownerToken = await setupOwner(api);
  return {
    ...ctl,
    base,
    db,
    api,
    ownerToken,
    enroll: (id, site) => enrollNode(api, ownerToken, id, site),
    stop: async () => {
      await ctl.close();
      await db.$disconnect();
      await dir.cleanup();
    },
  };
}

export function jsonApi(base: string): JsonApi {
  return async (path, init = {}) => {
    const response = await fetch(`${base}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const text = await response.text();
    return { status: response.status, data: text ? (JSON.parse(text) as { data: unknown }).data : undefined };
  };
}

/** Creates the first owner on a fresh controller and returns its session token. */
export async function setupOwner(api: JsonApi): Promise<string> {
  const owner = { username: 'bench', password: 'bench password 12345' };
  await api('/api/v1/setup', { body: owner });
  const login = await api('/api/v1/auth/login', { body: owner });
  if (login.status !== 200) throw new Error(`login: ${login.status} ${JSON.stringify(login.data)}`);
  return (login.data as { token: string }).token;
}

/** Enrolls a node through the API (operator side, then the agent's exchange); returns its credential. */
export async function enrollNode(
  api: JsonApi,
  ownerToken: string,
  id: string,
  site = 'bench',
): Promise<string> {
  const enrolled = await api('/api/v1/nodes/enroll', { body: { name: id, site, id }, token: ownerToken });
  if (enrolled.status !== 201 && enrolled.status !== 200)
    throw new Error(`enroll ${id}: ${enrolled.status} ${JSON.stringify(enrolled.data)}`);
  const exchanged = await api('/api/v1/agent/enroll', {
    body: { token: (enrolled.data as { enrollmentToken: string }).enrollmentToken },
  });
  if (exchanged.status !== 200)
    throw new Error(`enroll exchange ${id}: ${exchanged.status} ${JSON.stringify(exchanged.data)}`);
  return (exchanged.data as { credential: string }).credential;
}

/** `fn` under this process's CPU profiler when `dir` is set: the profile is written there as `<label>-<ms>.cpuprofile`. */
export async function profiled<T>(dir: string | undefined, label: string, fn: () => Promise<T>): Promise<T> {
  if (!dir) return fn();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${label}-${Date.now()}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    console.error(`  CPU profile of ${label}: ${file}`);
  }
}
