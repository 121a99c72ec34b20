/**
 * `RawDb` on the better-sqlite3 handle Prisma's adapter opened (one connection: a second one
 * would contend for the file's write lock while Prisma holds it across awaits). Prisma's
 * transactions and these take turns through one `Gate`; statements run synchronously, so a
 * raw transaction whose function awaits only its own statements runs in one turn of the loop.
 * Values are stored as Prisma stores them: DateTime as ISO-8601 text with `+00:00`.
 */
import type Database from 'better-sqlite3';
import { type Gate, type RawDb, type RawRow, type RawTx, rowBuilder, type SqlValue } from './raw.js';

type Statement = Database.Statement<unknown[], unknown>;
type Convert = (value: unknown) => unknown;

/** `$1…$n` (each may repeat) to SQLite's positional `?`, and which parameter each `?` takes. */
function positional(sql: string): { text: string; order: number[] } {
  const order: number[] = [];
  const text = sql.replace(/\$(\d+)/g, (_, n: string) => {
    order.push(Number(n) - 1);
    return '?';
  });
  return { text, order };
}

function bindValue(value: SqlValue | undefined): unknown {
  if (value === undefined || value === null) return null;
  if (value instanceof Date) return value.toISOString().replace('Z', '+00:00');
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

function toDate(value: unknown): Date | null {
  if (value === null) return null;
  if (typeof value === 'number' || typeof value === 'bigint') return new Date(Number(value));
  const text = String(value);
  // `YYYY-MM-DD HH:MM:SS` (SQLite's own clock functions) is UTC.
  return new Date(/^\d{4}-\d\d-\d\d \d/.test(text) ? `${text.replace(' ', 'T')}Z` : text);
}

const toNumber: Convert = (v) => (v === null ? null : typeof v === 'bigint' ? Number(v) : v);
const CONVERTERS: Record<string, Convert> = {
  DATETIME: toDate,
  BOOLEAN: (v) => (v === null ? null : Boolean(v)),
  BIGINT: (v) => (v === null ? null : BigInt(v as number | bigint)),
};

interface Prepared {
  statement: Statement;
  order: number[];
  /** Per column, how its value becomes the model's type; then how values become a row. */
  columns?: { convert: Convert[]; build: (values: readonly unknown[]) => RawRow };
}

const STATEMENT_CACHE_LIMIT = 500;

export class SqliteRawDb implements RawDb {
  readonly provider = 'sqlite' as const;
  private readonly statements = new Map<string, Prepared>();

  constructor(
    private readonly handle: () => Promise<Database.Database>,
    private readonly gate: Gate,
  ) {}

  inList(column: string, values: readonly string[], param: (value: SqlValue) => string): string {
    return values.length === 0 ? '1 = 0' : `${column} IN (${values.map(param).join(', ')})`;
  }

  jsonArray(expressions: readonly string[]): string {
    return `json_array(${expressions.join(', ')})`;
  }

  jsonAggregate(expression: string, from: string, orderBy: string): string {
    return `(SELECT json_group_array("v") FROM (SELECT ${expression} AS "v" ${from} ORDER BY ${orderBy}))`;
  }

  isoDate(value: unknown): string | null {
    if (value === null || value === undefined) return null;
    const text = String(value);
    // What Prisma and this driver write (`…T…sss+00:00`) is already UTC to the millisecond.
    if (text.length === 29 && text.endsWith('+00:00') && text[10] === 'T' && text[19] === '.')
      return `${text.slice(0, 23)}Z`;
    return toDate(text)!.toISOString();
  }

  private prepare(db: Database.Database, sql: string): Prepared {
    let prepared = this.statements.get(sql);
    if (!prepared) {
      const { text, order } = positional(sql);
      const statement = db.prepare(text) as Statement;
      statement.safeIntegers(true);
      const described = statement.reader ? statement.columns() : undefined;
      const columns = described && {
        convert: described.map((c) => CONVERTERS[(c.type ?? '').toUpperCase()] ?? toNumber),
        build: rowBuilder(described.map((c) => c.name)),
      };
      prepared = { statement, order, columns };
      if (this.statements.size >= STATEMENT_CACHE_LIMIT) this.statements.clear();
      this.statements.set(sql, prepared);
    }
    return prepared;
  }

  private rows<T>(db: Database.Database, sql: string, params: readonly SqlValue[]): T[] {
    const { statement, order, columns } = this.prepare(db, sql);
    const args = order.map((i) => bindValue(params[i]));
    if (!columns) {
      statement.run(...args);
      return [];
    }
    const raw = statement.raw(true).all(...args) as unknown[][];
    const { convert, build } = columns;
    return raw.map((values) => {
      for (let i = 0; i < convert.length; i++) values[i] = convert[i]!(values[i]);
      return build(values) as T;
    });
  }

  private changes(db: Database.Database, sql: string, params: readonly SqlValue[]): number {
    const { statement, order } = this.prepare(db, sql);
    return statement.run(...order.map((i) => bindValue(params[i]))).changes;
  }

  async query<T = RawRow>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.rows<T>(await this.handle(), sql, params);
  }

  async execute(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.changes(await this.handle(), sql, params);
  }

  async transaction<T>(fn: (tx: RawTx) => Promise<T>): Promise<T> {
    const db = await this.handle();
    const release = await this.gate.acquire();
    let open = true;
    const end = (sql: 'COMMIT' | 'ROLLBACK') => {
      open = false;
      this.prepare(db, sql).statement.run();
    };
    const tx: RawTx = {
      query: async (sql, params = []) => this.rows(db, sql, params),
      execute: async (sql, params = []) => this.changes(db, sql, params),
      queryAndCommit: async <R>(sql: string, params: readonly SqlValue[] = []) => {
        const rows = this.rows<R>(db, sql, params);
        end('COMMIT');
        return rows;
      },
    };
    try {
      this.prepare(db, 'BEGIN').statement.run();
      const result = await fn(tx);
      if (open) end('COMMIT');
      return result;
    } catch (error) {
      if (open && db.inTransaction) end('ROLLBACK');
      throw error;
    } finally {
      release();
    }
  }
}
