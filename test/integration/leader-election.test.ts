/**
 * Leader election among replicas on one PostgreSQL database (controller/src/cluster/
 * leader-election.ts), against a real server: the run's shared one under
 * EARSHOT_TEST_DB=postgres, else one started here for this file. Two (or three) electors
 * on one database, each as its own connection the way replicas are: one leader; its
 * connection ended by the server promotes another; a leader that stops hands over only
 * after its work stopped. Plus the lone leader used on SQLite.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  LEADER_LOCK_ID,
  type LeaderElection,
  type LeaderLease,
  PostgresLeaderElection,
  SoleLeader,
} from '../../controller/src/cluster/leader-election.js';
import {
  createDatabase,
  type RunningPostgres,
  startPostgres,
  uniqueDatabaseName,
} from '../support/postgres.js';
import { until } from '../support/until.js';

/** Short, so a take-over is quick to see; the bound below is stated against it. */
const POLL_MS = 100;
const TAKE_OVER_MS = 5_000;

interface Elector {
  name: string;
  election: PostgresLeaderElection;
}

describe('leader election on PostgreSQL', () => {
  let own: RunningPostgres | undefined;
  let baseUrl = '';
  const started: LeaderElection[] = [];
  /** Every transition of every elector, in the order they happened. */
  let events: string[] = [];
  let logLines: string[] = [];

  beforeAll(async () => {
    baseUrl = inject('pgBaseUrl');
    if (!baseUrl) {
      own = await startPostgres();
      baseUrl = own.url;
    }
  });

  afterAll(async () => {
    await Promise.all(started.map((e) => e.stop()));
    await own?.stop();
  });

  const log = (name: string) =>
    ({
      info: (_obj: unknown, msg: string) => logLines.push(`${name} info ${msg}`),
      warn: (_obj: unknown, msg: string) => logLines.push(`${name} warn ${msg}`),
      error: (_obj: unknown, msg: string) => logLines.push(`${name} error ${msg}`),
    }) as unknown as ConstructorParameters<typeof PostgresLeaderElection>[0]['log'];

  async function database(): Promise<string> {
    events = [];
    logLines = [];
    return createDatabase(baseUrl, uniqueDatabaseName('leader'));
  }

  function elector(
    url: string,
    name: string,
    overrides: Partial<ConstructorParameters<typeof PostgresLeaderElection>[0]> = {},
  ): Elector {
    const election = new PostgresLeaderElection({
      connectionString: url,
      pollIntervalMs: POLL_MS,
      log: log(name),
      onElected: async () => void events.push(`${name} elected`),
      onDemoted: async () => void events.push(`${name} demoted`),
      ...overrides,
    });
    started.push(election);
    return { name, election };
  }

  async function sql<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<T>(text, values)).rows;
    } finally {
      await client.end();
    }
  }

  /** Backends holding the leader lock in this database. */
  const lockHolders = (url: string) =>
    sql<{ pid: number }>(
      url,
      `SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database
        WHERE l.locktype = 'advisory' AND l.granted AND l.objid = $1 AND d.datname = current_database()`,
      [LEADER_LOCK_ID],
    );

  /** Returns once every elector's connection but the lock holder's has run a query since now: a poll went by. */
  async function followersPolled(url: string): Promise<void> {
    const [{ at }] = (await sql<{ at: Date }>(url, 'SELECT clock_timestamp() AS at')) as [{ at: Date }];
    const [holder] = await lockHolders(url);
    await until(
      async () => {
        const rows = await sql<{ last: Date }>(
          url,
          `SELECT state_change AS last FROM pg_stat_activity
            WHERE application_name = 'earshot-leader-election' AND datname = current_database() AND pid <> $1`,
          [holder?.pid ?? 0],
        );
        return rows.length > 0 && rows.every((r) => r.last > at);
      },
      { what: 'a poll by every follower' },
    );
  }

  const leaders = (electors: Elector[]) => electors.filter((e) => e.election.role === 'leader');

  it('two electors on one database: exactly one leads, holding the lock; the other follows', async () => {
    const url = await database();
    const a = elector(url, 'a');
    const b = elector(url, 'b');
    await Promise.all([a.election.start(), b.election.start()]);

    expect(leaders([a, b])).toHaveLength(1);
    const [leader] = leaders([a, b]);
    expect(events).toEqual([`${leader!.name} elected`]);
    expect(await lockHolders(url)).toHaveLength(1);
    expect(logLines).toContain(`${leader!.name} info leader election: this controller is the leader`);

    // The follower keeps trying: still the same one leader after its next poll.
    const holder = (await lockHolders(url))[0]!.pid;
    await followersPolled(url);
    expect(events).toHaveLength(1);
    expect(leaders([a, b])).toHaveLength(1);
    expect((await lockHolders(url)).map((r) => r.pid)).toEqual([holder]);
  });

  it(`the leader's connection ended by the server: it steps down at once and the other leads within ${TAKE_OVER_MS / 1000} s`, async () => {
    const url = await database();
    const a = elector(url, 'a');
    await a.election.start();
    const b = elector(url, 'b');
    await b.election.start();
    expect([a.election.role, b.election.role]).toEqual(['leader', 'follower']);

    const [holder] = await lockHolders(url);
    await sql(url, 'SELECT pg_terminate_backend($1)', [holder!.pid]);

    await until(() => b.election.role === 'leader', { timeoutMs: TAKE_OVER_MS, what: 'b leading' });
    expect(a.election.role).toBe('follower');
    expect(events).toEqual(['a elected', 'a demoted', 'b elected']);
    expect(logLines.some((l) => l.startsWith('a warn leader election: stepping down'))).toBe(true);

    // a reconnects as a follower and stays one.
    const electorConnections = async () =>
      (
        await sql<{ n: number }>(
          url,
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE application_name = 'earshot-leader-election' AND datname = current_database()`,
        )
      )[0]?.n;
    await until(async () => (await electorConnections()) === 2, { what: 'a connected again' });
    await followersPolled(url);
    expect(leaders([a, b]).map((e) => e.name)).toEqual(['b']);
  });

  it(`a leader whose session idles past idle_session_timeout (as a frozen one does) loses the lock on the server's side; another leads within ${TAKE_OVER_MS / 1000} s`, async () => {
    const url = await database();
    // a's heartbeat is a minute away, its session ends after 0.5 s idle: a SIGSTOPped leader, sped
    // up. Its lease out of the way: this is the server's side alone (the lease: the next test).
    const a = elector(url, 'a', { pollIntervalMs: 60_000, sessionTimeoutMs: 500, leaseMs: 60_000 });
    await a.election.start();
    const b = elector(url, 'b');
    await b.election.start();
    expect([a.election.role, b.election.role]).toEqual(['leader', 'follower']);
    const startedAt = Date.now();

    await until(() => b.election.role === 'leader', { timeoutMs: TAKE_OVER_MS, what: 'b leading' });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(400); // not before the server ended a's session
    expect(a.election.role).toBe('follower');
    expect(events.slice(0, 1)).toEqual(['a elected']);
    expect([...events].sort()).toEqual(['a demoted', 'a elected', 'b elected']);
    const [holder] = await lockHolders(url);
    const [bPid] = await sql<{ pid: number }>(
      url,
      `SELECT pid FROM pg_stat_activity WHERE application_name = 'earshot-leader-election'
          AND datname = current_database() AND pid = $1`,
      [holder!.pid],
    );
    expect(bPid).toBeDefined();
  });

  it('a leader frozen past its lease (its event loop blocked) is a follower the moment it runs again, before its connection says so; it hands nothing over; another leads', async () => {
    const url = await database();
    let lease: LeaderLease | undefined;
    const a = elector(url, 'a', {
      sessionTimeoutMs: 1_000, // lease: 1 000 - min(100, 250) = 900 ms
      onElected: async (given) => {
        lease = given;
        events.push('a elected');
      },
      onDemoted: async () =>
        void events.push(`a demoted, lease ${lease?.unexpired() ? 'running' : 'expired'}`),
    });
    await a.election.start();
    const b = elector(url, 'b');
    await b.election.start();
    expect([a.election.role, b.election.role]).toEqual(['leader', 'follower']);
    expect(lease?.holds()).toBe(true);

    // Frozen 1.2 s (past the lease, past the idle timeout): nothing of a's runs meanwhile.
    const until1200 = performance.now() + 1_200;
    while (performance.now() < until1200);
    // The first thing that asks, before any socket or timer of a's had a turn: not the leader.
    expect(lease?.holds()).toBe(false);
    expect(a.election.role).toBe('follower');

    await until(() => b.election.role === 'leader', { timeoutMs: TAKE_OVER_MS, what: 'b leading' });
    expect(events).toEqual(['a elected', 'a demoted, lease expired', 'b elected']);
    expect(logLines).toContain(
      'a warn leader election: the lease ran out (this process was frozen or starved); the work stops now',
    );
    expect(a.election.role).toBe('follower');
  });

  it("the leader's heartbeat keeps a busy session: with polls shorter than the idle timeout it stays leader", async () => {
    const url = await database();
    const a = elector(url, 'a', { sessionTimeoutMs: 1_000 });
    await a.election.start();
    const b = elector(url, 'b', { sessionTimeoutMs: 1_000 });
    await b.election.start();
    const [holder] = await lockHolders(url);
    // Well past the idle timeout: every heartbeat (100 ms) kept a's session, and so its lock.
    const [{ at }] = (await sql<{ at: Date }>(url, "SELECT clock_timestamp() + interval '2 s' AS at")) as [
      { at: Date },
    ];
    await until(async () => (await sql<{ now: Date }>(url, 'SELECT clock_timestamp() AS now'))[0]!.now > at, {
      what: '2 s on the server clock',
    });
    expect((await lockHolders(url)).map((r) => r.pid)).toEqual([holder!.pid]);
    expect(events).toEqual(['a elected']);
  });

  it('a leader that stops: its work stops before the lock is free; a follower takes over, a third stays follower', async () => {
    const url = await database();
    let stopping: (() => void) | undefined;
    const a = elector(url, 'a', {
      // The work takes a while to stop: nobody may lead meanwhile.
      onDemoted: () =>
        new Promise<void>((resolve) => {
          events.push('a stopping');
          stopping = () => {
            events.push('a demoted');
            resolve();
          };
        }),
    });
    await a.election.start();
    const b = elector(url, 'b');
    const c = elector(url, 'c');
    await Promise.all([b.election.start(), c.election.start()]);

    const stopped = a.election.stop();
    await until(() => stopping !== undefined, { what: "a's work stopping" });
    // b and c poll while a's work is still stopping: the lock is still a's.
    await followersPolled(url);
    expect(await lockHolders(url)).toHaveLength(1);
    expect(leaders([b, c])).toEqual([]);
    expect(events).toEqual(['a elected', 'a stopping']);
    stopping!();
    await stopped;

    await until(() => leaders([b, c]).length === 1, { timeoutMs: TAKE_OVER_MS, what: 'a new leader' });
    const [next] = leaders([b, c]);
    expect(events).toEqual(['a elected', 'a stopping', 'a demoted', `${next!.name} elected`]);
    expect(a.election.role).toBe('follower');

    // The new leader stops too: the last one leads.
    await next!.election.stop();
    const last = next === b ? c : b;
    await until(() => last.election.role === 'leader', { timeoutMs: TAKE_OVER_MS, what: 'the last leading' });
    expect(events.slice(-2)).toEqual([`${next!.name} demoted`, `${last.name} elected`]);
  });

  it('a leader whose work fails to start steps down (undoing it) and lets another lead', async () => {
    const url = await database();
    const a = elector(url, 'a', {
      onElected: async () => {
        events.push('a elected');
        throw new Error('the bot could not start');
      },
    });
    await a.election.start();
    expect(events).toEqual(['a elected', 'a demoted']);
    expect(a.election.role).toBe('follower');
    await a.election.stop();

    const b = elector(url, 'b');
    await b.election.start();
    expect(b.election.role).toBe('leader');
  });
});

describe('the lone leader (SQLite)', () => {
  const quiet = { info: () => {}, warn: () => {}, error: () => {} } as unknown as ConstructorParameters<
    typeof SoleLeader
  >[1];

  it('leads from start to stop', async () => {
    const events: string[] = [];
    const sole = new SoleLeader(
      {
        onElected: async () => void events.push('elected'),
        onDemoted: async () => void events.push('demoted'),
      },
      quiet,
    );
    expect(sole.role).toBe('follower');
    await sole.start();
    expect(sole.role).toBe('leader');
    await sole.stop();
    await sole.stop();
    expect(sole.role).toBe('follower');
    expect(events).toEqual(['elected', 'demoted']);
  });

  it('a failed start is undone and thrown: a lone controller that cannot lead does not start', async () => {
    const events: string[] = [];
    const sole = new SoleLeader(
      {
        onElected: async () => {
          events.push('elected');
          throw new Error('snapshot unreadable');
        },
        onDemoted: async () => void events.push('demoted'),
      },
      quiet,
    );
    await expect(sole.start()).rejects.toThrow('snapshot unreadable');
    expect(events).toEqual(['elected', 'demoted']);
    expect(sole.role).toBe('follower');
  });
});
