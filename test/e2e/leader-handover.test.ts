/**
 * Three controller processes on one PostgreSQL database: the leader's work (attendance's part,
 * retention, the audit chain watch: cluster/leader-work.ts) runs on exactly one of them, which
 * `earshot_cluster_leader{replica}` and the advisory lock agree on. The leader SIGSTOPped (alive,
 * its socket open, silent): the server ends its idle session after `idle_session_timeout` and
 * another replica takes over within the stated bound; SIGCONTed, the old leader finds its
 * connection gone and stays a follower. The new leader SIGTERMed: the last one takes over at
 * once. At teardown no advisory lock and no election session is left in the database.
 *
 * The database is the run's PostgreSQL under EARSHOT_TEST_DB=postgres, else a throwaway cluster
 * started here. Hand-over times are measured from the signal to the new leader's gauge and
 * printed; the machine is shared, so the bounds leave room.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  LEADER_LOCK_ID,
  LEADER_POLL_INTERVAL_MS,
  LEADER_SESSION_TIMEOUT_MS,
} from '../../controller/src/cluster/leader-election.js';
import { controllerReady, controllerSetup } from '../support/controller-process.js';
import {
  createDatabase,
  type RunningPostgres,
  startPostgres,
  uniqueDatabaseName,
} from '../support/postgres.js';
import { CONTROLLER_CLI, type RunningProcess, requireBuild, startProcess } from '../support/processes.js';
import { type TempDir, tempDir } from '../support/tmp.js';
import { until } from '../support/until.js';

const WAIT_MS = 60_000;
/** A SIGSTOPped leader: its session ends after the idle timeout, a follower takes the lock at its next poll. */
const FROZEN_TAKE_OVER_MS = LEADER_SESSION_TIMEOUT_MS + LEADER_POLL_INTERVAL_MS + 8_000;
/** A SIGTERMed leader releases the lock as it stops: a follower takes it at its next poll. */
const STOPPED_TAKE_OVER_MS = LEADER_POLL_INTERVAL_MS + 8_000;
const WORK_STARTED = 'leader work started: attendance, audit chain watch, retention';

interface Replica {
  name: string;
  base: string;
  process: RunningProcess;
}

describe('three controller replicas on one PostgreSQL: the leader work runs once, hand-over on SIGSTOP and SIGTERM', () => {
  let dir: TempDir;
  let ownPg: RunningPostgres | undefined;
  let dbUrl = '';
  const replicas: Replica[] = [];
  const measured: Record<string, number> = {};
  const logs = () => replicas.map((r) => `--- ${r.name} ---\n${r.process.output().slice(-3000)}`).join('\n');

  async function sql<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
    const client = new pg.Client({ connectionString: dbUrl });
    await client.connect();
    try {
      return (await client.query<T>(text, values)).rows;
    } finally {
      await client.end();
    }
  }

  /** Backends holding the leader lock in this database. */
  const lockHolders = () =>
    sql<{ pid: number }>(
      `SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database
        WHERE l.locktype = 'advisory' AND l.granted AND l.objid = $1 AND d.datname = current_database()`,
      [LEADER_LOCK_ID],
    );

  /** The replica's `earshot_cluster_leader` (1 or 0) and its replica label; undefined when it does not answer. */
  async function gauge(replica: Replica): Promise<{ leader: number; label: string } | undefined> {
    const response = await fetch(`${replica.base}/metrics`, { signal: AbortSignal.timeout(2_000) }).catch(
      () => undefined,
    );
    if (!response?.ok) return undefined;
    const match = /^earshot_cluster_leader\{replica="([^"]+)"\} ([01])$/m.exec(await response.text());
    return match ? { label: match[1]!, leader: Number(match[2]) } : undefined;
  }

  /** The replicas (among `among`) whose gauge says leader. */
  async function leadersAmong(among: Replica[]): Promise<Replica[]> {
    const gauges = await Promise.all(among.map(gauge));
    return among.filter((_, i) => gauges[i]?.leader === 1);
  }

  const count = (replica: Replica, line: string) => replica.process.output().split(line).length - 1;
  const started = (replica: Replica) => count(replica, WORK_STARTED);
  /** 1 while the replica runs the leader work (started once more than it stopped it). */
  const running = (replica: Replica) => started(replica) - count(replica, 'leader work stopped');

  async function startReplica(name: string): Promise<Replica> {
    await mkdir(join(dir.path, name));
    const { base, env } = await controllerSetup(join(dir.path, name), {
      EARSHOT_METRICS_ALLOW_ANONYMOUS: 'true',
      DATABASE_URL: dbUrl,
    });
    const replica = { name, base, process: startProcess(name, [CONTROLLER_CLI], env) };
    replicas.push(replica);
    return replica;
  }

  beforeAll(async () => {
    requireBuild();
    dir = await tempDir('e2e-handover');
    let pgBaseUrl = inject('pgBaseUrl');
    if (!pgBaseUrl) {
      ownPg = await startPostgres();
      pgBaseUrl = ownPg.url;
    }
    dbUrl = await createDatabase(pgBaseUrl, uniqueDatabaseName('e2e_handover'));
    // All at once, as replicas behind a load balancer start.
    const all = await Promise.all(['a', 'b', 'c'].map(startReplica));
    await Promise.all(all.map((r) => controllerReady(r.name, r.base, WAIT_MS, logs)));
  }, 180_000);

  afterAll(async () => {
    for (const replica of replicas) replica.process.child.kill('SIGCONT');
    await Promise.all(replicas.map((r) => r.process.stop()));
    await ownPg?.stop();
    await dir?.cleanup();
    if (Object.keys(measured).length > 0) console.log('leader hand-over (ms):', JSON.stringify(measured));
  });

  let leader: Replica;

  it('exactly one replica leads: one gauge at 1, one lock holder, the work started in that process only', async () => {
    await until(async () => (await leadersAmong(replicas)).length === 1, {
      timeoutMs: WAIT_MS,
      what: 'one leader',
    });
    [leader] = (await leadersAmong(replicas)) as [Replica];
    const gauges = await Promise.all(replicas.map(gauge));
    // Each replica labels its gauges with its own instance id.
    expect(new Set(gauges.map((g) => g?.label)).size).toBe(3);
    expect(gauges.map((g) => g?.leader).sort()).toEqual([0, 0, 1]);
    expect(await lockHolders()).toHaveLength(1);
    await until(() => running(leader) === 1, { timeoutMs: WAIT_MS, what: 'the leader work started' });
    for (const replica of replicas) expect(running(replica), logs()).toBe(replica === leader ? 1 : 0);
    expect(started(leader)).toBe(1); // no hand-over as the replicas started
    // Followers are per replica too: earshot_cluster_nodes_connected is labelled alike.
    const text = await (await fetch(`${leader.base}/metrics`)).text();
    expect(text).toMatch(/^earshot_cluster_nodes_connected\{replica="[^"]+"\} 0$/m);
  });

  it(`the leader SIGSTOPped: another takes over within ${FROZEN_TAKE_OVER_MS / 1000} s; SIGCONTed, the old one stays a follower`, async () => {
    const frozen = leader;
    const others = replicas.filter((r) => r !== frozen);
    const signalAt = Date.now();
    frozen.process.child.kill('SIGSTOP');
    await until(async () => (await leadersAmong(others)).length === 1, {
      timeoutMs: FROZEN_TAKE_OVER_MS,
      what: 'a new leader while the old one is frozen',
    });
    measured.sigstop = Date.now() - signalAt;
    // Not before the server ended the frozen leader's idle session (idle since its last heartbeat).
    expect(measured.sigstop).toBeGreaterThanOrEqual(LEADER_SESSION_TIMEOUT_MS - LEADER_POLL_INTERVAL_MS);
    [leader] = (await leadersAmong(others)) as [Replica];
    expect(started(leader)).toBe(1);
    expect(await lockHolders()).toHaveLength(1);

    frozen.process.child.kill('SIGCONT');
    await until(() => frozen.process.output().includes('leader election: stepping down'), {
      timeoutMs: WAIT_MS,
      what: 'the old leader stepping down once it runs again',
    });
    await until(async () => (await gauge(frozen))?.leader === 0, {
      timeoutMs: WAIT_MS,
      what: 'its gauge at 0',
    });
    expect(frozen.process.output()).toContain('leader work stopped');
    expect(await leadersAmong(replicas)).toEqual([leader]);
    expect(await lockHolders()).toHaveLength(1);
  });

  it(`the new leader SIGTERMed: the work stops there and another takes over within ${STOPPED_TAKE_OVER_MS / 1000} s`, async () => {
    const stopping = leader;
    const others = replicas.filter((r) => r !== stopping);
    const signalAt = Date.now();
    const exit = stopping.process.stop('SIGTERM');
    await until(async () => (await leadersAmong(others)).length === 1, {
      timeoutMs: STOPPED_TAKE_OVER_MS,
      what: 'a new leader after SIGTERM',
    });
    measured.sigterm = Date.now() - signalAt;
    expect(await exit).toBe(0);
    expect(running(stopping)).toBe(0);
    [leader] = (await leadersAmong(others)) as [Replica];
    await until(() => running(leader) === 1, { timeoutMs: WAIT_MS, what: 'the new leader work started' });
    expect(await lockHolders()).toHaveLength(1);
    // Three elections, three starts in all; the work runs on the last leader only.
    expect(replicas.map(started).reduce((a, b) => a + b, 0)).toBe(3);
    expect(replicas.map(running)).toEqual(replicas.map((r) => (r === leader ? 1 : 0)));
  });

  it('no advisory lock and no election session is left once every replica stopped', async () => {
    for (const replica of replicas) replica.process.child.kill('SIGCONT');
    const codes = await Promise.all(replicas.map((r) => r.process.stop()));
    expect(codes).toEqual([0, 0, 0]);
    expect(await lockHolders()).toEqual([]);
    const advisory = await sql(
      `SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database
        WHERE l.locktype = 'advisory' AND d.datname = current_database()`,
    );
    expect(advisory).toEqual([]);
    const sessions = await sql(
      `SELECT pid FROM pg_stat_activity
        WHERE application_name = 'earshot-leader-election' AND datname = current_database()`,
    );
    expect(sessions).toEqual([]);
  });
});
