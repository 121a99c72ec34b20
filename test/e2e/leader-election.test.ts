/**
 * Two controller replicas on one PostgreSQL database, both configured with the bot
 * token, against the local fake Discord: exactly one (the elected leader) runs the bot;
 * when the leader is SIGKILLed the other takes over within a stated bound, restores the
 * open voice session the dead one left in the database and continues it, and the session
 * closes with its whole duration when the member leaves.
 *
 * The database is the run's PostgreSQL under EARSHOT_TEST_DB=postgres, else a throwaway
 * cluster started here. The controllers keep the wall clock, so durations are bounded by
 * what the test saw (as in attendance-end-to-end.test.ts). Waits are on conditions.
 */
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
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

interface Replica {
  name: string;
  base: string;
  process: RunningProcess;
}

describe('two controller replicas on one PostgreSQL: one bot, hand-over on the leader dying', () => {
  let dir: TempDir;
  let fake: FakeDiscord;
  let ownPg: RunningPostgres | undefined;
  let dbUrl = '';
  const replicas: Replica[] = [];
  let token = '';
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
    fake = await FakeDiscord.start();
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
    // Both at once, as replicas behind a load balancer start.
    const started = await Promise.all([startReplica('a'), startReplica('b')]);
    await Promise.all(started.map(ready));
    token = await setUpOwner(started[0]!.base, OWNER);
  }, 180_000);

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.process.stop()));
    await fake?.stop();
    await ownPg?.stop();
    await dir?.cleanup();
  });

  let leader: Replica;
  let follower: Replica;

  it('exactly one replica is the leader and only its bot connects to the gateway', async () => {
    const roles = await Promise.all(replicas.map(role));
    expect([...roles].sort()).toEqual(['follower', 'leader']);
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
    expect(follower.process.output()).not.toContain('leader election: this controller is the leader');
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
    expect(await role(follower)).toBe('leader');
    expect(follower.process.output()).toContain('leader election: this controller is the leader');

    // The session the dead leader left goes on: the time it counted is still there.
    const resumed = await waitFor(
      'Alice tracked by the new leader',
      () => aliceLive(follower),
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
});
