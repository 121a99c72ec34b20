/**
 * Applies prisma/<provider>/migrations/*\/migration.sql in name order, each in its own
 * transaction, recording name and checksum in `_earshot_migrations` (the way
 * `_prisma_migrations` does; `prisma migrate deploy` cannot run offline against
 * PostgreSQL here). A changed, already applied migration
 * stops the start with a clear error. On PostgreSQL an advisory lock serialises
 * replicas starting together.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { type DatabaseTarget, type Provider, sqlitePath } from './client.js';

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

function findPrismaDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'prisma', 'models.prisma');
    if (existsSync(candidate)) return join(dir, 'prisma');
    dir = dirname(dir);
  }
  throw new MigrationError('cannot find the prisma/ folder with the migrations');
}

export function loadMigrations(provider: Provider, prismaDir = findPrismaDir()): Migration[] {
  const folder = join(prismaDir, provider, 'migrations');
  return readdirSync(folder, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(join(folder, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

const TABLE = `CREATE TABLE IF NOT EXISTS "_earshot_migrations" (
  "name" TEXT PRIMARY KEY, "checksum" TEXT NOT NULL, "applied_at" TEXT NOT NULL)`;

function checkApplied(applied: Map<string, string>, migrations: Migration[]): Migration[] {
  for (const [name, checksum] of applied) {
    const known = migrations.find((m) => m.name === name);
    if (!known)
      throw new MigrationError(
        `database has migration ${name} that this version does not know: is it newer?`,
      );
    if (known.checksum !== checksum) {
      throw new MigrationError(
        `migration ${name} was changed after it was applied (checksum differs); restore it`,
      );
    }
  }
  return migrations.filter((m) => !applied.has(m.name));
}

function migrateSqlite(url: string, migrations: Migration[]): string[] {
  const db = new Database(sqlitePath(url));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 10000');
    db.exec(TABLE);
    const rows = db.prepare('SELECT name, checksum FROM _earshot_migrations').all() as {
      name: string;
      checksum: string;
    }[];
    const pending = checkApplied(new Map(rows.map((r) => [r.name, r.checksum])), migrations);
    for (const migration of pending) {
      db.transaction(() => {
        db.exec(migration.sql);
        db.prepare('INSERT INTO _earshot_migrations (name, checksum, applied_at) VALUES (?, ?, ?)').run(
          migration.name,
          migration.checksum,
          new Date().toISOString(),
        );
      }).immediate();
    }
    return pending.map((m) => m.name);
  } finally {
    db.close();
  }
}

const ADVISORY_LOCK_ID = 7_420_001;

async function migratePostgres(url: string, migrations: Migration[]): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCK_ID]);
    await client.query(TABLE);
    const { rows } = await client.query<{ name: string; checksum: string }>(
      'SELECT name, checksum FROM _earshot_migrations',
    );
    const pending = checkApplied(new Map(rows.map((r) => [r.name, r.checksum])), migrations);
    for (const migration of pending) {
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query(
          'INSERT INTO _earshot_migrations (name, checksum, applied_at) VALUES ($1, $2, $3)',
          [migration.name, migration.checksum, new Date().toISOString()],
        );
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new MigrationError(`migration ${migration.name} failed: ${(error as Error).message}`);
      }
    }
    return pending.map((m) => m.name);
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCK_ID]).catch(() => undefined);
    await client.end();
  }
}

/** Applies pending migrations; returns the names applied. */
export async function migrate(
  target: DatabaseTarget,
  migrations = loadMigrations(target.provider),
): Promise<string[]> {
  return target.provider === 'sqlite'
    ? migrateSqlite(target.url, migrations)
    : migratePostgres(target.url, migrations);
}
