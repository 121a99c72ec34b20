/**
 * `RawDb` on the better-sqlite3 handle Prisma's adapter opened (one connection: a second one
 * would contend for the file's write lock while Prisma holds it across awaits). Prisma's
 * transactions and these take turns through one `Gate`; statements run synchronously, so a
 * raw transaction whose function awaits only its own statements runs in one turn of the loop, and
 * the raw transactions asked for together share one commit (`transaction`).
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
  /** The transactions waiting to run as the next group (see `transaction`). */
  private forming: GroupMember[] | undefined;

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

  /** One process by nature: its callers serialize in process (see `RawDb.exclusive`). */
  exclusive<T>(_key: string, fn: () => Promise<T>): Promise<T> {
    return fn();
  }

  /**
   * Group commit: the raw transactions that ask while one group waits for its turn (at least
   * until the loop's next check phase, so the requests read in one poll phase ask together)
   * run one after another inside one BEGIN…COMMIT, each in its own savepoint. A function that
   * throws rolls back its own savepoint alone and rejects alone; the others commit together,
   * and each promise settles only after that COMMIT (if it fails, every one rejects with
   * nothing committed). The result is what the same transactions run one by one would give,
   * in the same order, with one durable commit for the group instead of one each.
   */
  transaction<T>(fn: (tx: RawTx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const member: GroupMember = { fn, resolve: resolve as (value: unknown) => void, reject };
      if (this.forming) {
        this.forming.push(member);
        return;
      }
      this.forming = [member];
      setImmediate(() => void this.runGroup());
    });
  }

  /** Takes the turn, then runs every transaction that asked until then (see `transaction`). */
  private async runGroup(): Promise<void> {
    let db: Database.Database;
    let release: () => void;
    try {
      db = await this.handle();
      release = await this.gate.acquire();
    } catch (error) {
      const members = this.forming ?? [];
      this.forming = undefined;
      for (const member of members) member.reject(error);
      return;
    }
    const members = this.forming ?? [];
    this.forming = undefined;
    const settled: Settled[] = [];
    try {
      this.prepare(db, 'BEGIN').statement.run();
      for (const member of members) settled.push(await this.runMember(db, member));
      this.prepare(db, 'COMMIT').statement.run();
    } catch (error) {
      if (db.inTransaction) this.prepare(db, 'ROLLBACK').statement.run();
      // Nothing committed: every member fails, with its own error if it had one.
      members.forEach((member, i) => {
        const own = settled[i];
        member.reject(own && !own.ok ? own.error : error);
      });
      return;
    } finally {
      release();
    }
    members.forEach((member, i) => {
      const own = settled[i]!;
      if (own.ok) member.resolve(own.value);
      else member.reject(own.error);
    });
  }

  /** One member of a group, in its own savepoint: rolled back alone when its function throws. */
  private async runMember(db: Database.Database, member: GroupMember): Promise<Settled> {
    let open = true;
    const statement = <R>(run: () => R): R => {
      if (!open)
        throw new Error('this raw transaction already ended (queryAndCommit was its last statement)');
      return run();
    };
    const tx: RawTx = {
      query: async (sql, params = []) => statement(() => this.rows(db, sql, params)),
      execute: async (sql, params = []) => statement(() => this.changes(db, sql, params)),
      queryAndCommit: async <R>(sql: string, params: readonly SqlValue[] = []) => {
        const rows = statement(() => this.rows<R>(db, sql, params));
        open = false; // committed with the group
        return rows;
      },
    };
    this.prepare(db, 'SAVEPOINT "member"').statement.run();
    try {
      const value = await member.fn(tx);
      open = false;
      this.prepare(db, 'RELEASE "member"').statement.run();
      return { ok: true, value };
    } catch (error) {
      open = false;
      this.prepare(db, 'ROLLBACK TO "member"').statement.run();
      this.prepare(db, 'RELEASE "member"').statement.run();
      return { ok: false, error };
    }
  }
}

interface GroupMember {
  fn: (tx: RawTx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };
