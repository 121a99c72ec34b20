/**
 * `RawDb` on the pg Pool that Prisma's adapter also uses. Its clients run in pipeline mode:
 * a query is sent at once, not after the previous answer, so a transaction's statements that
 * do not depend on each other's results share a round trip (Prisma, which awaits each query,
 * sees no difference), and statements outside a transaction asked for together share a
 * connection and a write (`StatementGroups`). Timestamps are `timestamp(3)` without zone, in UTC,
 * as Prisma writes them; BigInt columns come back as `bigint`.
 */
import pg from 'pg';
import {
  EXCLUSIVE_LOCK_NAMESPACE,
  exclusiveLockId,
  type RawDb,
  type RawRow,
  type RawTx,
  rowBuilder,
  type SqlValue,
} from './raw.js';

const TIMESTAMP_OID = 1114;
const INT8_OID = 20;

/** Prisma's own format for `timestamp(3)`: UTC, no zone. */
export function pgTimestamp(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

function bindValue(value: SqlValue | undefined): unknown {
  if (value === undefined) return null;
  if (value instanceof Date) return pgTimestamp(value);
  if (typeof value === 'bigint') return value.toString();
  return value;
}

const types = {
  getTypeParser: (oid: number, format?: string) => {
    if (oid === TIMESTAMP_OID) return (text: string) => new Date(`${text.replace(' ', 'T')}Z`);
    if (oid === INT8_OID) return (text: string) => BigInt(text);
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as unknown as pg.CustomTypesConfig;

type Runner = Pick<pg.Pool | pg.PoolClient, 'query'>;
type Run = (runner: Runner, sql: string, params: readonly SqlValue[]) => Promise<pg.QueryResult>;

/**
 * Statements are prepared once per connection under a name (the server then skips parsing and
 * planning them again); past this many distinct texts, the rest run unnamed.
 */
const NAMED_STATEMENTS_LIMIT = 500;

function runner(): Run {
  const names = new Map<string, string>();
  const nameOf = (sql: string) => {
    let name = names.get(sql);
    if (name === undefined && names.size < NAMED_STATEMENTS_LIMIT) {
      name = `earshot_raw_${names.size + 1}`;
      names.set(sql, name);
    }
    return name;
  };
  const builders = new Map<string, (values: readonly unknown[]) => RawRow>();
  return async (on, sql, params) => {
    const result = await on.query({
      name: nameOf(sql),
      text: sql,
      values: params.map(bindValue),
      types,
      rowMode: 'array',
    });
    if (result.rows.length === 0) return result;
    let build = builders.get(sql);
    if (!build) {
      build = rowBuilder(result.fields.map((f) => f.name));
      if (builders.size < NAMED_STATEMENTS_LIMIT) builders.set(sql, build);
    }
    return { ...result, rows: (result.rows as unknown[][]).map(build) };
  };
}

/**
 * Sends on `client`, holding the socket's writes until the end of the current tick: the
 * statements a transaction issues together (BEGIN and the first; a lock, a write and COMMIT)
 * leave in one write instead of one system call each.
 */
function batched(client: pg.PoolClient, run: Run) {
  const { stream } = (client as unknown as pg.Client).connection;
  let corked = false;
  return (sql: string, params: readonly SqlValue[]) => {
    if (!corked) {
      corked = true;
      stream.cork();
      process.nextTick(() => {
        corked = false;
        stream.uncork();
      });
    }
    return run(client, sql, params);
  };
}

/** At most this many statements share a connection in one group (`StatementGroups`). */
const STATEMENTS_PER_GROUP = 4;

interface Pending {
  sql: string;
  params: readonly SqlValue[];
  resolve: (result: pg.QueryResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Statements outside a transaction, sent in groups: those of the same text asked for in one turn
 * of the event loop (until its check phase) leave together on one pooled connection,
 * `STATEMENTS_PER_GROUP` at most, in one write. The connection is in pipeline mode, so the server
 * answers them in order, each in its own implicit transaction (each has its own Sync: one failing
 * fails alone).
 * Why: each write to a connection wakes a server process. One write per statement, each on a
 * connection of its own, was 40 % of the controller's CPU on the API bench (the node list,
 * test/bench/api.bench.ts); grouped, the node list ran 1.35× and the recording list 1.2× as fast.
 * The price: a statement waits for those ahead of it in its group, at most three of the same text.
 * Only the same text: a library search (`ILIKE`, no index) must not hold up the access generation
 * read that every request waits for, nor a node's credential lookup.
 */
class StatementGroups {
  /** The statements asked for since the last flush, by text. */
  private forming: Map<string, Pending[]> | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly run: Run,
  ) {}

  send(sql: string, params: readonly SqlValue[]): Promise<pg.QueryResult> {
    return new Promise((resolve, reject) => {
      if (!this.forming) {
        this.forming = new Map();
        setImmediate(() => this.flush());
      }
      const same = this.forming.get(sql);
      const statement = { sql, params, resolve, reject };
      if (same) same.push(statement);
      else this.forming.set(sql, [statement]);
    });
  }

  private flush(): void {
    const forming = this.forming ?? new Map<string, Pending[]>();
    this.forming = undefined;
    for (const same of forming.values())
      for (let i = 0; i < same.length; i += STATEMENTS_PER_GROUP)
        void this.sendGroup(same.slice(i, i + STATEMENTS_PER_GROUP));
  }

  private async sendGroup(group: Pending[]): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      for (const statement of group) statement.reject(error);
      return;
    }
    let broken: Error | undefined;
    const onError = (error: Error) => {
      broken = error; // the statements in flight reject too
    };
    client.on('error', onError);
    const send = batched(client, this.run);
    await Promise.allSettled(
      group.map((statement) =>
        send(statement.sql, statement.params).then(statement.resolve, statement.reject),
      ),
    );
    client.removeListener('error', onError);
    client.release(broken);
  }
}

export class PgRawDb implements RawDb {
  readonly provider = 'postgresql' as const;

  private readonly run = runner();
  /** Statements outside a transaction. */
  private readonly grouped: StatementGroups;

  /** `locks`: the pool `exclusive` holds its advisory locks on (not `pool`: see there). */
  constructor(
    private readonly pool: pg.Pool,
    private readonly locks: pg.Pool = pool,
  ) {
    this.grouped = new StatementGroups(pool, this.run);
  }

  async exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const client = await this.locks.connect();
    const params = [EXCLUSIVE_LOCK_NAMESPACE, exclusiveLockId(key)];
    let broken = false;
    try {
      await client.query('SELECT pg_advisory_lock($1::int, $2::int)', params);
      return await fn();
    } finally {
      try {
        await client.query('SELECT pg_advisory_unlock($1::int, $2::int)', params);
      } catch {
        broken = true; // the server ended the session, and its locks with it
      }
      client.release(broken);
    }
  }

  inList(column: string, values: readonly string[], param: (value: SqlValue) => string): string {
    return `${column} = ANY(${param(values)}::text[])`;
  }

  jsonArray(expressions: readonly string[]): string {
    return `json_build_array(${expressions.join(', ')})::text`;
  }

  jsonAggregate(expression: string, from: string, orderBy: string): string {
    return `(SELECT COALESCE(json_agg(${expression} ORDER BY ${orderBy}), '[]'::json)::text ${from})`;
  }

  isoDate(value: unknown): string | null {
    if (value === null || value === undefined) return null;
    // JSON writes a timestamp without zone as `YYYY-MM-DDTHH:MM:SS[.f]` (UTC, as Prisma stores
    // it), trailing zeros of the fraction dropped.
    const text = String(value);
    return text.length === 23 ? `${text}Z` : new Date(`${text}Z`).toISOString();
  }

  async query<T = RawRow>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return (await this.grouped.send(sql, params)).rows as T[];
  }

  async execute(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return (await this.grouped.send(sql, params)).rowCount ?? 0;
  }

  async transaction<T>(fn: (tx: RawTx) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const send = batched(client, this.run);
    let open = true;
    let broken: Error | undefined;
    const onError = (error: Error) => {
      broken = error; // the queries in flight reject too
    };
    client.on('error', onError);
    const commit = async () => {
      open = false;
      const { command } = await send('COMMIT', []);
      // An earlier statement failed unseen: the server rolled back instead.
      if (command !== 'COMMIT') throw new Error('the transaction was rolled back');
    };
    const tx: RawTx = {
      query: async (sql, params = []) => (await send(sql, params)).rows,
      execute: async (sql, params = []) => (await send(sql, params)).rowCount ?? 0,
      queryAndCommit: async <R>(sql: string, params: readonly SqlValue[] = []) => {
        // The COMMIT is pipelined behind the statement; both answers are awaited.
        const [result, committed] = await Promise.allSettled([send(sql, params), commit()]);
        if (result.status === 'rejected') throw result.reason;
        if (committed.status === 'rejected') throw committed.reason;
        return result.value.rows as R[];
      },
    };
    try {
      const begun = send('BEGIN', []); // pipelined ahead of fn's first statement
      const [, result] = await Promise.all([begun, fn(tx)]);
      if (open) await commit();
      return result;
    } catch (error) {
      if (open) await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw error;
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }
}
