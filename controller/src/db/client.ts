/**
 * Opens the database: a SQLite file in the data dir by default, PostgreSQL when the
 * URL says so. Both generated clients share one model API (prisma/models.prisma),
 * so the rest of the controller sees one `Db` type.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient as PgClient } from '../generated/postgresql/client.js';
import { type Prisma, PrismaClient as SqliteClient } from '../generated/sqlite/client.js';

export type Db = SqliteClient;
export type Tx = Prisma.TransactionClient;
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
    const adapter = new PrismaPg({ connectionString: target.url, max: 20 });
    // Same models, same API; only the SQL dialect differs.
    return new PgClient({ adapter }) as unknown as Db;
  }
  const adapter = new PrismaBetterSQLite3({ url: sqlitePath(target.url), timeout: 10_000 });
  return new SqliteClient({ adapter });
}
