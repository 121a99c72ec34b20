/**
 * Three controller replicas on one PostgreSQL database, all configured with the bot token,
 * against the local fake Discord: exactly one (the elected leader) runs the bot; when the
 * leader is SIGKILLed another takes over within a stated bound, restores the open voice
 * session the dead one left in the database and continues it, and the session closes with
 * its whole duration when the member leaves. The next leader SIGSTOPped: the last one takes
 * over, and the frozen one, SIGCONTed, is fenced by its lease: it never identifies again nor
 * writes its stale open sessions over the new leader's. That leader SIGTERMed: the resumed one
 * takes over promptly. At every moment the fake gateway saw at most one bot session (it ends a
 * connection that stops heartbeating, as Discord does), and no advisory lock is left at the end.
 *
 * The database is the run's PostgreSQL under EARSHOT_TEST_DB=postgres, else a throwaway
 * cluster started here. The controllers keep the wall clock, so durations are bounded by
 * what the test saw (as in attendance-end-to-end.test.ts). Waits are on conditions.
 */
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  LEADER_POLL_INTERVAL_MS,
  LEADER_SESSION_TIMEOUT_MS,
} from '../../controller/src/cluster/leader-election.js';
import { controllerReady, controllerSetup, fetchData, setUpOwner } from '../support/controller-process.js';
import { FakeDiscord } from '../support/fake-discord/fake-discord.js';
import {
  createDatabase,
  type RunningPostgres,
  startPostgres,
  uniqueDatabaseName,
} from '../support/postgres.js';
import {
  CONTROLLER_CLI,
  type RunningProcess,
  requireBuild,
  startProcess,
  waitFor,
} from '../support/processes.js';
import { type TempDir, tempDir } from '../support/tmp.js';
import { until } from '../support/until.js';

const OWNER = { username: 'e2e-owner', password: 'e2e owner password 123' };
const GUILD = '510000000000000001';
const VOICE = '510000000000000011';
const TEXT = '510000000000000012';
const ALICE = '510000000000000101';
/** Followers poll every 2 s; a take-over is that plus restoring and connecting to the gateway. */
const TAKE_OVER_MS = 15_000;
const WAIT_MS = 60_000;
/** Active time the first leader counts before it is killed, so a fresh session cannot pass for the old one. */
const STAY_SECONDS = 3;
const IDENTIFY = 2;
/** A SIGSTOPped leader: its session ends after the idle timeout, a follower takes the lock at its next poll, then connects. */
const FROZEN_TAKE_OVER_MS = LEADER_SESSION_TIMEOUT_MS + LEADER_POLL_INTERVAL_MS + 10_000;
/** A SIGTERMed leader stops its bot and releases the lock: the follower takes it at its next poll, then connects. */
const STOPPED_TAKE_OVER_MS = LEADER_POLL_INTERVAL_MS + 10_000;
/** The fake's heartbeats: a frozen bot's connection is ended well before a follower can lead. */
const GATEWAY_HEARTBEAT_MS = 1_000;
const GATEWAY_SILENCE_MS = 3_000;

interface Replica {
  name: string;
  base: string;
  process: RunningProcess;
}

describe('three controller replicas on one PostgreSQL: one bot, hand-over on SIGKILL, SIGSTOP and SIGTERM of the leader', () => {
  let dir: TempDir;
  let fake: FakeDiscord;
  let ownPg: RunningPostgres | undefined;
  let dbUrl = '';
  const replicas: Replica[] = [];
  let token = '';
  const measured: Record<string, number> = {};
  const logs = () => replicas.map((r) => `--- ${r.name} ---\n${r.process.output().slice(-4000)}`).join('\n');

  async function sql<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
    const client = new pg.Client({ connectionString: dbUrl });
    await client.connect();
    try {
      return (await client.query<T>(text, values)).rows;
    } finally {
      await client.end();
    }
  }

  const api = <T = Record<string, unknown>>(replica: Replica, path: string, init: RequestInit = {}) =>
    fetchData<T>(replica.base, path, token, init);

  /** This replica's role, from its `earshot_leader` gauge. */
  async function role(replica: Replica): Promise<string | undefined> {
    const text = await (await fetch(`${replica.base}/metrics`)).text();
    return /^earshot_leader\{role="(leader|follower)"\} 1$/m.exec(text)?.[1];
  }

  async function aliceLive(replica: Replica) {
    const { channels } = await api<{
      channels: { channel_id: string; members: { user_id: string; active_seconds: number }[] }[];
    }>(replica, `/api/v1/guilds/${GUILD}/analytics/live-occupancy`);
    for (const channel of channels) {
      const member = channel.members.find((m) => m.user_id === ALICE);
      if (member) return { ...member, channel_id: channel.channel_id };
    }
    return undefined;
  }

  const identifies = () => fake.gatewayLog.filter((e) => e.kind === 'received' && e.op === IDENTIFY).length;

  /** Returns once every leader-election connection but the lock holder's has polled since now. */
  async function followersPolled(): Promise<void> {
    const [{ at }] = (await sql<{ at: Date }>('SELECT clock_timestamp() AS at')) as [{ at: Date }];
    await until(
      async () => {
        const rows = await sql<{ last: Date; holder: boolean }>(
          `SELECT a.state_change AS last,
                  EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.granted) AS holder
             FROM pg_stat_activity a
            WHERE a.application_name = 'earshot-leader-election' AND a.datname = current_database()`,
        );
        const followers = rows.filter((r) => !r.holder);
        return followers.length > 0 && followers.every((r) => r.last > at);
      },
      { timeoutMs: WAIT_MS, what: 'a poll by the follower' },
    );
  }

  async function startReplica(name: string): Promise<Replica> {
    const { base, env } = await controllerSetup(join(dir.path, name), {
      EARSHOT_METRICS_ALLOW_ANONYMOUS: 'true',
      EARSHOT_DISCORD_BOT_TOKEN: fake.token,
      EARSHOT_DISCORD_API_BASE: fake.restApiBase,
      DATABASE_URL: dbUrl,
    });
    const process = startProcess(name, [CONTROLLER_CLI], env);
    const replica = { name, base, process };
    replicas.push(replica);
    return replica;
  }

  const ready = (replica: Replica) => controllerReady(replica.name, replica.base, WAIT_MS, logs);

  beforeAll(async () => {
    requireBuild();
    dir = await tempDir('e2e-leader');
    fake = await FakeDiscord.start({
      heartbeatIntervalMs: GATEWAY_HEARTBEAT_MS,
      heartbeatTimeoutMs: GATEWAY_SILENCE_MS,
    });
    fake.addGuild({
      id: GUILD,
      name: 'Replicated Guild',
      channels: [
        { id: VOICE, name: 'Stand-up', type: 2 },
        { id: TEXT, name: 'general', type: 0 },
      ],
      members: [{ id: ALICE, username: 'alice' }],
    });
    let pgBaseUrl = inject('pgBaseUrl');
    if (!pgBaseUrl) {
      ownPg = await startPostgres();
      pgBaseUrl = ownPg.url;
    }
    dbUrl = await createDatabase(pgBaseUrl, uniqueDatabaseName('e2e_leader'));
    // All at once, as replicas behind a load balancer start.
    const started = await Promise.all([startReplica('a'), startReplica('b'), startReplica('c')]);
    await Promise.all(started.map(ready));
    token = await setUpOwner(started[0]!.base, OWNER);
  }, 180_000);

  afterAll(async () => {
    for (const replica of replicas) replica.process.child.kill('SIGCONT');
    await Promise.all(replicas.map((r) => r.process.stop()));
    if (Object.keys(measured).length > 0) console.log('bot hand-over (ms):', JSON.stringify(measured));
    await fake?.stop();
    await ownPg?.stop();
    await dir?.cleanup();
  });

  let leader: Replica;
  let follower: Replica;

  it('exactly one replica is the leader and only its bot connects to the gateway', async () => {
    const roles = await Promise.all(replicas.map(role));
    expect([...roles].sort()).toEqual(['follower', 'follower', 'leader']);
    leader = replicas[roles.indexOf('leader')]!;
    follower = replicas[roles.indexOf('follower')]!;

    await until(() => fake.connectedSessions === 1, { timeoutMs: WAIT_MS, what: 'the bot connected' });
    // The follower keeps polling for the lock meanwhile, and its bot stays down.
    await followersPolled();
    expect(identifies(), logs()).toBe(1);
    expect(fake.connectedSessions).toBe(1);
    expect(await role(follower)).toBe('follower');
    expect(await api(leader, `/api/v1/guilds/${GUILD}/bot-present`)).toMatchObject({
      present: true,
      bot_state: 'ready',
    });
    expect(await api(follower, `/api/v1/guilds/${GUILD}/bot-present`)).toMatchObject({
      present: false,
      bot_state: 'stopped',
      last_known_present: true, // the leader registered the guild in the shared database
    });
    expect(leader.process.output()).toContain('leader election: this controller is the leader');
    for (const other of replicas.filter((r) => r !== leader))
      expect(other.process.output()).not.toContain('leader election: this controller is the leader');
  });

  it(`the leader SIGKILLed with a member in voice: the other replica takes over within ${TAKE_OVER_MS / 1000} s and continues the session`, async () => {
    const joinSentAt = Date.now();
    fake.voice(GUILD, ALICE, { channelId: VOICE });
    await until(async () => (await aliceLive(leader)) !== undefined, {
      timeoutMs: WAIT_MS,
      what: 'Alice tracked by the leader',
    });
    const joinSeenAt = Date.now();
    // Counted a while by the first leader, and her open session in the database.
    await until(async () => ((await aliceLive(leader))?.active_seconds ?? 0) >= STAY_SECONDS, {
      timeoutMs: WAIT_MS,
      what: `Alice active ${STAY_SECONDS} s`,
    });
    const persisted = await waitFor(
      "Alice's open session persisted",
      async () => {
        const [row] = await sql<{ state: string }>(
          'SELECT state FROM "OpenVoiceSession" WHERE "guildId" = $1 AND "userId" = $2',
          [GUILD, ALICE],
        );
        return row ? (JSON.parse(row.state) as { sessionId: string; startedAtMs: number }) : undefined;
      },
      WAIT_MS,
      logs,
    );

    expect(await leader.process.stop('SIGKILL')).toBeNull();
    await until(() => identifies() === 2 && fake.connectedSessions === 1, {
      timeoutMs: TAKE_OVER_MS,
      what: "the other replica's bot connected",
    });
    const alive = replicas.filter((r) => r !== leader);
    const roles = await Promise.all(alive.map(role));
    follower = alive[roles.indexOf('leader')]!;
    expect([...roles].sort()).toEqual(['follower', 'leader']);
    expect(follower.process.output()).toContain('leader election: this controller is the leader');

    // The session the dead leader left goes on: the time it counted is still there.
    // Read once the guild is reconciled (restored first, the outage credited when the gateway
    // shows her still there); that it is the same session is checked by its id below.
    const resumed = await waitFor(
      'Alice tracked by the new leader',
      async () => {
        const live = await aliceLive(follower);
        return live && live.active_seconds >= STAY_SECONDS ? live : undefined;
      },
      WAIT_MS,
      logs,
    );
    expect(resumed.channel_id).toBe(VOICE);
    expect(resumed.active_seconds).toBeGreaterThanOrEqual(STAY_SECONDS);

    const leaveSentAt = Date.now();
    fake.voice(GUILD, ALICE, { channelId: null });
    const stats = await waitFor(
      "Alice's session stored",
      async () => {
        const s = await api<{ sessions: number; active_seconds: number }>(
          follower,
          `/api/v1/guilds/${GUILD}/stats?user_id=${ALICE}`,
        );
        return s.sessions === 1 && (await aliceLive(follower)) === undefined ? s : undefined;
      },
      WAIT_MS,
      logs,
    );
    const leaveSeenAt = Date.now();
    // One session for the whole stay, the take-over included (well within the outage credit).
    expect(stats.active_seconds).toBeGreaterThanOrEqual(Math.floor((leaveSentAt - joinSeenAt) / 1000));
    expect(stats.active_seconds).toBeLessThanOrEqual(Math.floor((leaveSeenAt - joinSentAt) / 1000));
    const stored = await sql<{ id: string; startedAt: Date; closeReason: string }>(
      'SELECT id, "startedAt", "closeReason" FROM "VoiceSession" WHERE "guildId" = $1 AND "userId" = $2',
      [GUILD, ALICE],
    );
    expect(stored).toEqual([
      { id: persisted.sessionId, startedAt: new Date(persisted.startedAtMs), closeReason: 'leave' },
    ]);
    expect(await sql('SELECT 1 FROM "OpenVoiceSession"')).toEqual([]);
  });

  it('never writes the bot token to the log', () => {
    for (const replica of replicas) expect(replica.process.output()).not.toContain(fake.token);
  });

  it(`the leader SIGSTOPped with a member in voice: the last replica's bot takes over within ${FROZEN_TAKE_OVER_MS / 1000} s; SIGCONTed, the frozen one is fenced: no IDENTIFY, no write`, async () => {
    const frozen = follower; // the leader since the SIGKILL
    const [next] = replicas.filter((r) => r !== leader && r !== frozen) as [Replica];
    fake.voice(GUILD, ALICE, { channelId: VOICE });
    await until(async () => (await aliceLive(frozen)) !== undefined, { what: 'Alice tracked by the leader' });
    await waitFor(
      "Alice's open session persisted",
      async () => ((await sql('SELECT 1 FROM "OpenVoiceSession"')).length === 1 ? true : undefined),
      WAIT_MS,
      logs,
    );
    const identifiesBefore = identifies();

    const signalAt = Date.now();
    frozen.process.child.kill('SIGSTOP');
    await until(() => identifies() === identifiesBefore + 1 && fake.connectedSessions === 1, {
      timeoutMs: FROZEN_TAKE_OVER_MS,
      what: "the last replica's bot connected while the leader is frozen",
    });
    measured.sigstop = Date.now() - signalAt;
    expect(await role(next)).toBe('leader');
    // Alice is still in voice: the new leader continues her session, then she leaves while the
    // old leader is frozen, so the only open session the old one knows of is stale.
    await waitFor('Alice tracked by the new leader', () => aliceLive(next), WAIT_MS, logs);
    fake.voice(GUILD, ALICE, { channelId: null });
    await until(async () => (await sql('SELECT 1 FROM "OpenVoiceSession"')).length === 0, {
      timeoutMs: WAIT_MS,
      what: "Alice's session closed by the new leader",
    });

    frozen.process.child.kill('SIGCONT');
    await until(() => frozen.process.output().includes('leader work stopped'), {
      timeoutMs: WAIT_MS,
      what: 'the resumed leader stopping its work',
    });
    expect(await role(frozen)).toBe('follower');
    // Both followers polled since: the resumed one competes again, and loses.
    await followersPolled();
    expect(identifies(), logs()).toBe(identifiesBefore + 1);
    expect(fake.connectedSessions).toBe(1);
    expect(fake.mostConnectedSessions).toBe(1);
    expect(await role(next)).toBe('leader');
    expect(frozen.process.output()).toMatch(/leader election: (stepping down|the lease ran out)/);
    // It wrote nothing of its stale view: no open session came back, one stored stay of hers.
    expect(await sql('SELECT 1 FROM "OpenVoiceSession"')).toEqual([]);
    follower = next;
    leader = frozen;
  });

  it(`the leader SIGTERMed: its bot stops and the resumed replica's bot takes over within ${STOPPED_TAKE_OVER_MS / 1000} s`, async () => {
    const stopping = follower;
    const resumed = leader;
    const identifiesBefore = identifies();
    const signalAt = Date.now();
    const exit = stopping.process.stop('SIGTERM');
    await until(() => identifies() === identifiesBefore + 1 && fake.connectedSessions === 1, {
      timeoutMs: STOPPED_TAKE_OVER_MS,
      what: "the resumed replica's bot connected",
    });
    measured.sigterm = Date.now() - signalAt;
    expect(await exit).toBe(0);
    expect(await role(resumed)).toBe('leader');
    expect(fake.mostConnectedSessions).toBe(1);
  });

  it('no advisory lock and no election session is left once every replica stopped', async () => {
    const codes = await Promise.all(replicas.map((r) => r.process.stop()));
    expect(codes.filter((code) => code !== null)).toEqual([0, 0]); // the SIGKILLed one: null
    const advisory = await sql(
      `SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database
        WHERE l.locktype = 'advisory' AND d.datname = current_database()`,
    );
    expect(advisory).toEqual([]);
    expect(
      await sql(
        `SELECT pid FROM pg_stat_activity
          WHERE application_name = 'earshot-leader-election' AND datname = current_database()`,
      ),
    ).toEqual([]);
    expect(fake.connectedSessions).toBe(0);
    expect(fake.mostConnectedSessions).toBe(1);
  });
});
