/**
 * Opens the database: a SQLite file in the data dir by default, PostgreSQL when the
 * URL says so. Both generated clients share one model API (prisma/models.prisma),
 * so the rest of the controller sees one `Db` type. Each client also has a raw handle on
 * its own connections (`rawOf`, raw.ts) for the few paths where Prisma's per-call cost is
 * most of the work.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import Database from 'better-sqlite3';
import pg from 'pg';
import { PrismaClient as PgClient } from '../generated/postgresql/client.js';
import { type Prisma, PrismaClient as SqliteClient } from '../generated/sqlite/client.js';
import { attachRaw, Gate } from './raw.js';
import { PgRawDb } from './raw-pg.js';
import { SqliteRawDb } from './raw-sqlite.js';

export type Db = SqliteClient;
export type Tx = Prisma.TransactionClient;
export type { RawDb, RawTx } from './raw.js';
export type Provider = 'sqlite' | 'postgresql';

export interface DatabaseTarget {
  provider: Provider;
  /** `file:/abs/path.db` or `postgres://…` */
  url: string;
}

export function databaseTarget(databaseUrl: string | undefined, dataDir: string): DatabaseTarget {
  if (databaseUrl && /^postgres(ql)?:\/\//.test(databaseUrl))
    return { provider: 'postgresql', url: databaseUrl };
  if (databaseUrl?.startsWith('file:')) return { provider: 'sqlite', url: databaseUrl };
  mkdirSync(dataDir, { recursive: true });
  return { provider: 'sqlite', url: `file:${join(dataDir, 'earshot.db')}` };
}

export function sqlitePath(url: string): string {
  return url.replace(/^file:/, '');
}

export function openDatabase(target: DatabaseTarget): Db {
  if (target.provider === 'postgresql') {
    // One pool for Prisma and the raw handle; pipeline mode lets raw statements share round trips.
    const pool = new pg.Pool({ connectionString: target.url, max: 20, pipeline: true });
    const adapter = new PrismaPg(pool, { disposeExternalPool: true });
    // Same models, same API; only the SQL dialect differs.
    const client = new PgClient({ adapter }) as unknown as Db;
    attachRaw(client, new PgRawDb(pool, exclusiveLockPool(pool, target.url)));
    return client;
  }
  const gate = new Gate();
  const shared = sharedSqlite(
    new PrismaBetterSQLite3({ url: sqlitePath(target.url), timeout: 10_000 }),
    gate,
  );
  const client = new SqliteClient({ adapter: shared.factory });
  attachRaw(client, new SqliteRawDb(shared.handle, gate));
  return client;
}

/**
 * The connections `RawDb.exclusive` holds its advisory locks on: a few, apart from `pool`, so
 * holders waiting for a lock never starve the queries they wait to run. Idle ones close soon
 * (locks are taken now and then, not per request); ended with `pool` (Prisma's $disconnect).
 */
function exclusiveLockPool(pool: pg.Pool, url: string): pg.Pool {
  const locks = new pg.Pool({
    connectionString: url,
    max: 4,
    idleTimeoutMillis: 5_000,
    allowExitOnIdle: true,
  });
  // An idle connection that drops (a server restart) is removed by the pool; without a
  // listener its 'error' would be thrown.
  locks.on('error', () => {});
  const end = pool.end.bind(pool);
  let ended: Promise<void> | undefined;
  pool.end = (async () => {
    ended ??= locks.end();
    await ended;
    return end();
  }) as typeof pool.end;
  return locks;
}

type SqliteAdapter = Awaited<ReturnType<PrismaBetterSQLite3['connect']>>;
type SqliteTransaction = Awaited<ReturnType<SqliteAdapter['startTransaction']>>;

/**
 * Prisma's better-sqlite3 adapter, connected once and shared: Prisma runs on it, and the raw
 * handle gets its `Database` (the adapter opens it and offers no other way to reach it). Its
 * transactions first take `gate`, which raw transactions take too, so neither begins inside
 * the other's on the one connection.
 */
function sharedSqlite(inner: PrismaBetterSQLite3, gate: Gate) {
  let connecting: Promise<{ adapter: SqliteAdapter; db: Database.Database }> | undefined;
  const connection = () => {
    connecting ??= inner.connect().then((adapter) => {
      const db = (adapter as unknown as { client: unknown }).client;
      if (!(db instanceof Database)) throw new Error('the SQLite adapter no longer exposes its Database');
      return { adapter: gated(adapter, gate, () => (connecting = undefined)), db };
    });
    return connecting;
  };
  return {
    factory: {
      provider: 'sqlite' as const,
      adapterName: inner.adapterName,
      connect: async () => (await connection()).adapter,
      connectToShadowDb: () => inner.connectToShadowDb(),
    },
    handle: async () => (await connection()).db,
  };
}

function gated(adapter: SqliteAdapter, gate: Gate, onDispose: () => void): SqliteAdapter {
  const released = (tx: SqliteTransaction, release: () => void): SqliteTransaction => {
    const { commit, rollback } = tx;
    return Object.assign(tx, {
      commit: () => commit.call(tx).finally(release),
      rollback: () => rollback.call(tx).finally(release),
    });
  };
  return {
    provider: adapter.provider,
    adapterName: adapter.adapterName,
    queryRaw: (query) => adapter.queryRaw(query),
    executeRaw: (query) => adapter.executeRaw(query),
    executeScript: (script) => adapter.executeScript(script),
    startTransaction: async (isolationLevel) => {
      const release = await gate.acquire();
      try {
        return released(await adapter.startTransaction(isolationLevel), release);
      } catch (error) {
        release();
        throw error;
      }
    },
    dispose: () => {
      onDispose();
      return adapter.dispose();
    },
  };
}
