/**
 * One leader among controller replicas that share a PostgreSQL database, for the work
 * that must run exactly once: the Discord bot (one gateway session, one tracker of voice
 * sessions) and the runners that act on what it tracks (scheduled period resets, log
 * summaries). Everything else runs on every replica.
 *
 * PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) held on a dedicated
 * connection, outside Prisma's pool. Followers try to take it every poll interval; the
 * leader checks its connection at the same pace. The lock lives exactly as long as that
 * connection: when the leader's process dies (even SIGKILL) the server ends its session
 * and the lock is free for the next poll of a follower. A leader that is alive but frozen
 * (SIGSTOP, a paused VM, a partition) keeps its socket open, so the connection also sets
 * `idle_session_timeout` (LEADER_SESSION_TIMEOUT_MS) and short TCP keepalives: the leader's
 * heartbeat (every poll: "do I still hold the lock?") keeps its session busy; a leader that
 * misses heartbeats for that long loses its session, and so the lock, on the server's side.
 * A SIGSTOPped leader is replaced within LEADER_SESSION_TIMEOUT_MS + one poll (+ the new
 * leader's start). When the leader's connection errors or ends, or the heartbeat finds the
 * lock gone, it steps down at once (`onDemoted`): another replica may already hold the lock;
 * it then sits out two polls, so a follower takes over rather than itself. On `stop()` the
 * leader stops its work first, then releases the lock.
 *
 * The lease (fencing a resumed leader). A leader frozen past the idle timeout may have been
 * replaced, and once it runs again, whatever its event loop takes first (a socket's data, a
 * timer) comes before its connection's error. So the leader counts itself the leader only
 * within a lease: LEADER_LEASE_MS (the idle timeout less one poll) after it last sent a query
 * that confirmed the lock, measured on the monotonic clock (`performance.now()`, which a
 * frozen process's clock keeps counting). The server cannot end the session sooner than the
 * idle timeout after that query, so no other replica can lead within the lease. The work asks
 * `lease.holds()` before each unit (a gateway event, a timer's pass, an IDENTIFY); the first
 * call past the lease steps down at once (the role is a follower from that moment) and ends
 * the connection, and a watchdog asks every LEADER_WATCHDOG_MS meanwhile. `lease.unexpired()`
 * says whether the lease still runs, for what a stepping-down leader writes for the next one
 * (attendance's hand-over): a leader fenced by its lease writes nothing.
 *
 * SQLite is one process by nature: `SoleLeader` is the leader from start to stop.
 *
 * Transitions run one at a time, in order; `onDemoted` follows only an `onElected` that
 * was called (also one that failed, to undo what it started). The constructors only assign.
 */

import pg from 'pg';
import type { Logger } from '../core/logger.js';

export type LeaderRole = 'leader' | 'follower';

/** What the leader's work asks before each unit of singleton work (see the lease above). */
export interface LeaderLease {
  /** This replica leads and its lease runs; false at once past the lease (and it steps down). */
  holds(): boolean;
  /** No other replica can lead yet: the last confirmation of the lock is within the lease. */
  unexpired(): boolean;
}

/** The lease of a process that leads alone (SQLite): held while it leads. */
export const ALWAYS_HELD: LeaderLease = { holds: () => true, unexpired: () => true };

export interface LeaderCallbacks {
  /** This replica became the leader: start the singleton work, each unit fenced by `lease`. A failure steps down. */
  onElected(lease: LeaderLease): Promise<void>;
  /** This replica is no longer the leader (or stops): stop the singleton work. */
  onDemoted(): Promise<void>;
}

export interface LeaderElection {
  readonly role: LeaderRole;
  /** The lease the leader's work is fenced by. */
  readonly lease: LeaderLease;
  /** Takes part; resolves after the first attempt (and its `onElected`, when won). */
  start(): Promise<void>;
  /** Leaves: the singleton work stopped (if leading), then the lock released. Idempotent. */
  stop(): Promise<void>;
}

/** The advisory lock key (distinct from the migration, setup, audit and access locks, 7_420_0xx). */
export const LEADER_LOCK_ID = 7_420_100;
/** How often followers try to take the lock, and the leader checks (heartbeat) that it still holds it. */
export const LEADER_POLL_INTERVAL_MS = 2_000;
/**
 * The server ends a leader-election session idle this long (`idle_session_timeout`): four
 * missed heartbeats. A frozen leader's lock is free after this, a follower takes it at its
 * next poll.
 */
export const LEADER_SESSION_TIMEOUT_MS = 8_000;
/**
 * How long the leader counts itself the leader after a query that confirmed the lock was sent
 * (its heartbeat, every poll): the idle timeout less one poll, so never as long as the server
 * keeps an idle session, whatever the leader's state.
 */
export const LEADER_LEASE_MS = LEADER_SESSION_TIMEOUT_MS - LEADER_POLL_INTERVAL_MS;
/** How often the leader's watchdog checks its lease (the work also checks before each unit). */
export const LEADER_WATCHDOG_MS = 250;

type Log = Pick<Logger, 'info' | 'warn' | 'error'>;

export interface PostgresLeaderElectionOptions extends LeaderCallbacks {
  /** The database the replicas share (advisory locks are per database). */
  connectionString: string;
  log: Log;
  lockId?: number;
  pollIntervalMs?: number;
  /** `idle_session_timeout` of the election's connection (default LEADER_SESSION_TIMEOUT_MS). */
  sessionTimeoutMs?: number;
  /** The lease (default: the session timeout less one poll, at most a quarter of it; LEADER_LEASE_MS with the defaults). */
  leaseMs?: number;
}

/** Runs `onElected`/`onDemoted` in order, and `onDemoted` only after an `onElected`. */
class Transitions {
  private chain: Promise<void> = Promise.resolve();
  private active = false;

  constructor(
    private readonly callbacks: LeaderCallbacks,
    private readonly log: Log,
  ) {}

  /** Resolves with the error `onElected` threw, if it did (the caller steps down). */
  elect(lease: LeaderLease): Promise<unknown> {
    const elected = this.chain.then(async (): Promise<unknown> => {
      if (!lease.holds() || this.active) return undefined;
      this.active = true;
      try {
        await this.callbacks.onElected(lease);
        return undefined;
      } catch (err) {
        this.log.error({ err }, 'leader election: starting the leader work failed; stepping down');
        return err ?? new Error('onElected failed');
      }
    });
    this.chain = elected.then(() => undefined);
    return elected;
  }

  demote(): Promise<void> {
    this.chain = this.chain.then(async () => {
      if (!this.active) return;
      this.active = false;
      try {
        await this.callbacks.onDemoted();
      } catch (err) {
        this.log.error({ err }, 'leader election: stopping the leader work failed');
      }
    });
    return this.chain;
  }
}

export class PostgresLeaderElection implements LeaderElection {
  private client: pg.Client | undefined;
  private leader = false;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  /**
   * A leader that lost its connection sits out two polls before competing again: every
   * follower polls in between, so one of them takes over rather than the replica whose
   * connection just failed.
   */
  private sitOutUntil = 0;
  /** Said once per stretch as a follower, not at every poll. */
  private followingSaid = false;
  private noIdleTimeoutSaid = false;
  /** When the last query that confirmed the lock was sent (`performance.now()`). */
  private confirmedAt = Number.NEGATIVE_INFINITY;
  private watchdog: NodeJS.Timeout | undefined;
  private readonly transitions: Transitions;
  readonly lease: LeaderLease = {
    holds: () => this.holds(),
    unexpired: () => performance.now() - this.confirmedAt < this.leaseMs,
  };

  constructor(private readonly options: PostgresLeaderElectionOptions) {
    this.transitions = new Transitions(options, options.log);
  }

  /** A leader past its lease is a follower from the moment anything asks. */
  get role(): LeaderRole {
    return this.holds() ? 'leader' : 'follower';
  }

  private get leaseMs(): number {
    const sessionTimeoutMs = this.options.sessionTimeoutMs ?? LEADER_SESSION_TIMEOUT_MS;
    return this.options.leaseMs ?? sessionTimeoutMs - Math.min(this.pollIntervalMs, sessionTimeoutMs / 4);
  }

  private holds(): boolean {
    if (!this.leader) return false;
    if (this.lease.unexpired()) return true;
    const client = this.client;
    const overMs = Math.round(performance.now() - this.confirmedAt - this.leaseMs);
    this.options.log.warn(
      { role: 'follower', leaseMs: this.leaseMs, overMs },
      'leader election: the lease ran out (this process was frozen or starved); the work stops now',
    );
    if (client) this.lost(client, 'its lease ran out');
    else void this.stepDown('its lease ran out');
    return false;
  }

  /** Runs `query` on the lock's connection; when it confirms the lock, the lease counts from its sending. */
  private async confirming<T>(query: () => Promise<T>, confirms: (result: T) => boolean): Promise<boolean> {
    const sentAt = performance.now();
    const confirmed = confirms(await query());
    if (confirmed) this.confirmedAt = sentAt;
    return confirmed;
  }

  private watch(on: boolean): void {
    clearInterval(this.watchdog);
    this.watchdog = undefined;
    if (!on) return;
    this.watchdog = setInterval(() => this.holds(), Math.min(LEADER_WATCHDOG_MS, this.leaseMs / 4));
    this.watchdog.unref();
  }

  async start(): Promise<void> {
    if (this.running || this.stopping) return;
    this.running = true;
    await this.poll();
  }

  stop(): Promise<void> {
    this.stopping ??= this.leave();
    return this.stopping;
  }

  private async leave(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.polling;
    const client = this.client;
    // Ours to end: its 'end' event is no longer a lost connection.
    this.client = undefined;
    // The work stops before the lock is released, so no two replicas ever run it together.
    await this.stepDown('this controller is stopping', undefined, 'info');
    if (client) {
      await client.query('SELECT pg_advisory_unlock($1)', [this.lockId]).catch(() => undefined);
      await client.end().catch(() => undefined);
    }
  }

  private get lockId(): number {
    return this.options.lockId ?? LEADER_LOCK_ID;
  }

  private get pollIntervalMs(): number {
    return this.options.pollIntervalMs ?? LEADER_POLL_INTERVAL_MS;
  }

  private poll(): Promise<void> {
    this.polling ??= this.attempt().finally(() => {
      this.polling = undefined;
      this.schedule();
    });
    return this.polling;
  }

  private schedule(): void {
    if (!this.running || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.poll();
    }, this.pollIntervalMs);
    this.timer.unref();
  }

  /** A follower tries to take the lock; the leader checks that its connection (and so its lock) is alive. */
  private async attempt(): Promise<void> {
    let client = this.client;
    if (!this.leader && Date.now() < this.sitOutUntil) return;
    try {
      client ??= await this.connect();
      if (this.leader) {
        await this.heartbeat(client);
        return;
      }
      const locked = await this.confirming(
        () => client!.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [this.lockId]),
        ({ rows }) => rows[0]?.locked === true,
      );
      if (!locked || this.client !== client) {
        if (!this.followingSaid && this.running)
          this.options.log.info({ role: 'follower' }, 'leader election: another replica is the leader');
        this.followingSaid = true;
        return;
      }
      this.leader = true;
      this.watch(true);
      this.followingSaid = false;
      this.options.log.info({ role: 'leader' }, 'leader election: this controller is the leader');
      const failed = await this.transitions.elect({
        holds: () => this.client === client && this.holds(),
        unexpired: this.lease.unexpired,
      });
      if (failed !== undefined) this.lost(client, 'starting the leader work failed', failed);
    } catch (err) {
      if (client) this.lost(client, 'its connection failed', err);
      else this.options.log.warn({ err }, 'leader election: cannot reach PostgreSQL; trying again');
    }
  }

  /** The leader's heartbeat: its session is busy again, and the lock is still its own (else it steps down). */
  private async heartbeat(client: pg.Client): Promise<void> {
    if (!this.holds()) return; // past its lease: it stepped down without asking
    const held = await this.confirming(
      () =>
        client.query<{ held: boolean }>(
          `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
              AND pid = pg_backend_pid() AND objid::bigint = $1::bigint AND objsubid = 1) AS held`,
          [this.lockId],
        ),
      ({ rows }) => rows[0]?.held === true,
    );
    if (!held) this.lost(client, 'its lock is no longer held');
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.options.connectionString,
      application_name: 'earshot-leader-election',
      keepAlive: true,
      keepAliveInitialDelayMillis: 5_000,
      connectionTimeoutMillis: 10_000,
      // A connection that stops answering is as good as lost: the server may end it any moment.
      query_timeout: 10_000,
    });
    client.on('error', (err) => this.lost(client, 'its connection failed', err));
    client.on('end', () => this.lost(client, 'its connection ended'));
    this.client = client;
    try {
      await client.connect();
    } catch (err) {
      this.client = undefined;
      throw err;
    }
    await this.limitIdleSession(client);
    return client;
  }

  /**
   * The server ends this session once idle past the timeout (a frozen leader then loses its
   * lock), and probes the peer's TCP every few seconds (a vanished host too). PostgreSQL
   * before 14 has no `idle_session_timeout`: said once, and only death or a broken TCP frees the lock.
   */
  private async limitIdleSession(client: pg.Client): Promise<void> {
    const timeoutMs = this.options.sessionTimeoutMs ?? LEADER_SESSION_TIMEOUT_MS;
    await client.query(
      `SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 3`,
    );
    try {
      await client.query(`SET idle_session_timeout = ${Math.max(1, Math.round(timeoutMs))}`);
    } catch (err) {
      if (!this.noIdleTimeoutSaid)
        this.options.log.warn(
          { err },
          'leader election: this PostgreSQL has no idle_session_timeout (before 14): a frozen leader keeps the lock',
        );
      this.noIdleTimeoutSaid = true;
    }
  }

  /** The lock's connection is gone (or unusable): step down at once, connect afresh on the next poll. */
  private lost(client: pg.Client, why: string, err?: unknown): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    if (this.leader) {
      this.sitOutUntil = Date.now() + 2 * this.pollIntervalMs;
      void this.stepDown(why, err);
    } else if (this.running) this.options.log.warn({ err }, `leader election: ${why}; trying again`);
  }

  private stepDown(why: string, err?: unknown, level: 'info' | 'warn' = 'warn'): Promise<void> {
    this.watch(false);
    if (this.leader) {
      this.leader = false;
      this.options.log[level]({ err, role: 'follower' }, `leader election: stepping down (${why})`);
    }
    return this.transitions.demote();
  }
}

/** The one process on SQLite: always the leader while it runs. */
export class SoleLeader implements LeaderElection {
  private leader = false;
  private readonly transitions: Transitions;
  readonly lease: LeaderLease = { holds: () => this.leader, unexpired: () => true };

  constructor(callbacks: LeaderCallbacks, log: Log) {
    this.transitions = new Transitions(callbacks, log);
  }

  get role(): LeaderRole {
    return this.leader ? 'leader' : 'follower';
  }

  /** Throws what `onElected` threw (after undoing it): a lone controller that cannot lead does not start. */
  async start(): Promise<void> {
    if (this.leader) return;
    this.leader = true;
    const failed = await this.transitions.elect(this.lease);
    if (failed === undefined) return;
    this.leader = false;
    await this.transitions.demote();
    throw failed;
  }

  async stop(): Promise<void> {
    this.leader = false;
    await this.transitions.demote();
  }
}

/**
 * One leader among the replicas sharing a PostgreSQL database (an advisory lock held on its
 * own connection); without a PostgreSQL URL (SQLite, or an app built by a test) this process
 * leads alone.
 */
export function electLeader(options: {
  work: LeaderCallbacks;
  connectionString?: string;
  log: Log;
}): LeaderElection {
  return options.connectionString
    ? new PostgresLeaderElection({
        ...options.work,
        connectionString: options.connectionString,
        log: options.log,
      })
    : new SoleLeader(options.work, options.log);
}
