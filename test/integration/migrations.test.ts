import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseTarget } from '../../controller/src/db/client.js';
import { loadMigrations, MigrationError, migrate } from '../../controller/src/db/migrate.js';
import { freshDatabase } from '../support/controller.js';
import { type TempDir, tempDir } from '../support/tmp.js';

const run = promisify(execFile);

describe('migrations', () => {
  let dir: TempDir;
  let target: DatabaseTarget;
  beforeAll(async () => {
    dir = await tempDir('migrations');
    target = await freshDatabase(dir.path);
  });
  afterAll(async () => dir.cleanup());

  it('applies once and is a no-op the second time', async () => {
    expect(await migrate(target)).toEqual([]);
  });

  it('refuses to start when an applied migration was changed', async () => {
    const changed = loadMigrations(target.provider).map((m, i) =>
      i === 0 ? { ...m, checksum: 'tampered' } : m,
    );
    await expect(migrate(target, changed)).rejects.toThrow(MigrationError);
    await expect(migrate(target, changed)).rejects.toThrow(/was changed after it was applied/);
  });

  it('the migrations build exactly the schema that models.prisma describes (no drift)', async () => {
    // Prisma cannot diff a live database through a driver adapter, so build a second
    // database from the schema itself and compare the two catalogues.
    const { stdout: script } = await run(
      'npx',
      [
        'prisma',
        'migrate',
        'diff',
        '--config',
        `prisma/${target.provider}.config.ts`,
        '--from-empty',
        '--to-schema-datamodel',
        `prisma/${target.provider}/schema.prisma`,
        '--script',
      ],
      {
        env: {
          ...process.env,
          DATABASE_URL: target.provider === 'sqlite' ? 'file:/tmp/unused.db' : target.url,
        },
      },
    );
    const fromSchema = await freshDatabase(join(dir.path, 'from-schema'), [
      { name: '0001_schema', sql: script, checksum: 'x' },
    ]);
    expect(await catalogue(fromSchema)).toEqual(await catalogue(target));
  });
});

async function catalogue(target: DatabaseTarget): Promise<string[]> {
  if (target.provider === 'sqlite') {
    // Columns compared as sets: ALTER TABLE appends, so column order may differ.
    const db = new Database(target.url.replace(/^file:/, ''), { readonly: true });
    const objects = db
      .prepare(
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE '_earshot%' AND name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .all() as { type: string; name: string; sql: string }[];
    const lines = objects.flatMap((o) => {
      if (o.type !== 'table') return [`${o.type} ${o.name} ${o.sql.replace(/\s+/g, ' ')}`];
      const columns = db.prepare(`PRAGMA table_info("${o.name}")`).all() as Record<string, unknown>[];
      const keys = db.prepare(`PRAGMA foreign_key_list("${o.name}")`).all() as Record<string, unknown>[];
      return [
        ...columns.map(({ cid: _cid, ...c }) => `column ${o.name} ${JSON.stringify(c)}`),
        ...keys.map(({ id: _id, seq: _seq, ...k }) => `fk ${o.name} ${JSON.stringify(k)}`),
      ];
    });
    db.close();
    return lines.sort();
  }
  const client = new pg.Client({ connectionString: target.url });
  await client.connect();
  const columns = await client.query(
    "SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE '_earshot%' ORDER BY 1, 2",
  );
  const indexes = await client.query(
    "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename NOT LIKE '_earshot%' ORDER BY 1",
  );
  await client.end();
  return [...columns.rows.map((r) => JSON.stringify(r)), ...indexes.rows.map((r) => r.indexdef as string)];
}
