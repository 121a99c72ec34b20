/**
 * The driver beneath Prisma, for the few paths every request or every claim takes: Prisma's
 * per-call cost there (a transaction's begin and commit, each raw statement, each model query
 * through its query planner) is most of the request. `RawDb` runs SQL on the very connections
 * the Prisma client uses (SQLite: its one better-sqlite3 handle; PostgreSQL: its pg Pool), so
 * there is still one database handle per program, one pool and one write lock.
 *
 * SQL is written per dialect by the repositories, with `$1, $2…` parameters on both. Rows come
 * back with the model's types: DateTime columns as `Date`, BigInt columns as `bigint`, Boolean
 * columns as `boolean`, other integers as `number`; text stays text.
 */
import { Prisma } from '../generated/sqlite/client.js';
import type { Provider } from './client.js';

/** A list binds as one parameter (PostgreSQL: an array; see `inList`). */
export type SqlValue = string | number | bigint | boolean | Date | null | readonly string[];
export type RawRow = Record<string, unknown>;

export interface RawQueryable {
  /** The rows of one statement (none for a statement that returns none). */
  query<T = RawRow>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs one statement; how many rows it changed. */
  execute(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

export interface RawTx extends RawQueryable {
  /**
   * The transaction's last statement, committed with it: on PostgreSQL the statement and the
   * COMMIT go out together (one round trip; a lock taken just before is held only while the
   * server runs them). Rejects, with nothing committed, if the statement or the commit fails.
   */
  queryAndCommit<T = RawRow>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
}

export interface RawDb extends RawQueryable {
  readonly provider: Provider;
  /**
   * `column` is one of `values`, in this dialect: PostgreSQL binds the list as one array
   * parameter, SQLite as one parameter per value. `param` adds a parameter, returns its `$n`.
   */
  inList(column: string, values: readonly string[], param: (value: SqlValue) => string): string;
  /**
   * One JSON array text of `expressions` per row (SQLite `json_array`, PostgreSQL
   * `json_build_array`), for the widest hot reads: the driver builds one value per row instead
   * of one per column, and `JSON.parse` reads it back. Values arrive as JSON holds them: text,
   * numbers (BigInt columns too), booleans as this dialect stores them (0/1 on SQLite), DateTime
   * as text (`isoDate` reads it), null. Not for floating-point columns: SQLite writes them with
   * 15 significant digits, so select those as columns.
   */
  jsonArray(expressions: readonly string[]): string;
  /**
   * A scalar subquery: the JSON array text (`[]` when none) of `expression` over the rows of
   * `from` (`FROM … WHERE …`, correlated or not), in `orderBy` order; e.g. a row's tags.
   */
  jsonAggregate(expression: string, from: string, orderBy: string): string;
  /** A DateTime as `jsonArray` gives it, written as `Date.prototype.toISOString` writes it; null stays null. */
  isoDate(value: unknown): string | null;
  /**
   * One transaction: committed when `fn` resolves (unless it ended with `queryAndCommit`),
   * rolled back when it throws. SQLite: exclusive against Prisma's transactions on the same
   * handle, and group-committed: the raw transactions asked for at the same moment run in turn
   * in one BEGIN…COMMIT, each in a savepoint, and settle after it (raw-sqlite.ts); `fn` should
   * await only its own statements, so the group runs start to end in one turn.
   * PostgreSQL: statements are pipelined, so a statement `fn` does not await before the next
   * costs no round trip of its own.
   */
  transaction<T>(fn: (tx: RawTx) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` while this process holds the lock named `key` among every controller on the
   * database (replicas on one PostgreSQL): one holder at a time, in the order they asked.
   * PostgreSQL: a session advisory lock (EXCLUSIVE_LOCK_NAMESPACE, a 32-bit hash of `key`) on a
   * connection of a small pool of its own, so holders waiting for a lock never take the
   * connections `fn` queries on; released when `fn` settles, or by the server if that connection
   * dies. SQLite: one process by nature, so `fn` alone (its callers serialize in process).
   */
  exclusive<T>(key: string, fn: () => Promise<T>): Promise<T>;
}

/** The advisory lock namespace of `RawDb.exclusive` (the others: 7_420_0xx, the leader 7_420_100). */
export const EXCLUSIVE_LOCK_NAMESPACE = 7_420_200;

/** `key` as the signed 32-bit second half of an advisory lock (FNV-1a; a collision only serializes more). */
export function exclusiveLockId(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}

/**
 * Rows in the caller's scope: the union of `column IN values` over the non-empty lists, or
 * none at all (`1 = 0`) when every list is empty.
 */
export function anyOf(
  raw: RawDb,
  param: (value: SqlValue) => string,
  lists: [column: string, values: readonly string[]][],
): string {
  const some = lists.filter(([, values]) => values.length > 0);
  if (some.length === 0) return '1 = 0';
  return `(${some.map(([column, values]) => raw.inList(column, values, param)).join(' OR ')})`;
}

/**
 * `alias."column" AS "prefix.column", …` for every scalar column of `model`, from the generated
 * client's field list (a column added to the model is selected without touching the SQL). With
 * a prefix such as `job.`, the row gets the columns as a nested object (`rowBuilder`).
 */
export function selectColumns(model: Prisma.ModelName, alias: string, prefix = ''): string {
  return scalarColumns(model)
    .map((c) => `${alias}."${c}" AS "${prefix}${c}"`)
    .join(', ');
}

/**
 * Builds rows from value arrays: a column named `a.b` goes to the nested object `row.a`
 * (see `selectColumns`). Planned once per statement, so a row is built in one pass.
 */
export function rowBuilder(names: readonly string[]): (values: readonly unknown[]) => RawRow {
  const top: [key: string, index: number][] = [];
  const nested = new Map<string, [key: string, index: number][]>();
  names.forEach((name, index) => {
    const dot = name.indexOf('.');
    if (dot < 0) top.push([name, index]);
    else {
      const group = name.slice(0, dot);
      if (!nested.has(group)) nested.set(group, []);
      nested.get(group)!.push([name.slice(dot + 1), index]);
    }
  });
  const groups = [...nested];
  return (values) => {
    const row: RawRow = {};
    for (const [key, index] of top) row[key] = values[index];
    for (const [group, keys] of groups) {
      const inner: RawRow = {};
      for (const [key, index] of keys) inner[key] = values[index];
      row[group] = inner;
    }
    return row;
  };
}

/**
 * `LIMIT n` with `n` written into the statement, not bound: SQLite plans with a LIMIT's value,
 * so binding one expires the prepared statement and every run compiles it again (for a list of
 * ~50 columns that was most of the query's cost, even for an empty page). A page size is one
 * of few values (clamped), so each keeps its one prepared statement.
 */
export function limitClause(limit: number): string {
  if (!Number.isSafeInteger(limit) || limit < 0)
    throw new Error(`LIMIT must be a whole number, got ${limit}`);
  return `LIMIT ${limit}`;
}

/** A nested object of an outer join that matched nothing (its `id` is null) is no object. */
export function orNull<T extends { id: unknown }>(row: T): T | null {
  return row.id === null ? null : row;
}

const columnCache = new Map<string, string[]>();

function scalarColumns(model: Prisma.ModelName): string[] {
  let columns = columnCache.get(model);
  if (!columns) {
    const fields = (Prisma as unknown as Record<string, Record<string, string> | undefined>)[
      `${model}ScalarFieldEnum`
    ];
    if (!fields) throw new Error(`no scalar field list for model ${model}`);
    columns = Object.values(fields);
    columnCache.set(model, columns);
  }
  return columns;
}

/** Where `openDatabase` keeps each client's raw handle (see `rawOf`). */
const handles = new WeakMap<object, RawDb>();

export function attachRaw(client: object, raw: RawDb): void {
  handles.set(client, raw);
}

/** The raw handle sharing `client`'s connections; only clients from `openDatabase` have one. */
export function rawOf(client: object): RawDb {
  const raw = handles.get(client);
  if (!raw) throw new Error('this Prisma client was not opened by openDatabase: it has no raw handle');
  return raw;
}

/** A small FIFO lock: SQLite's raw transactions and Prisma's take turns on the one handle. */
export class Gate {
  private locked = false;
  private readonly waiting: (() => void)[] = [];

  acquire(): Promise<() => void> {
    if (!this.locked) {
      this.locked = true;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve) => this.waiting.push(() => resolve(this.releaser())));
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.locked = false;
    };
  }
}
