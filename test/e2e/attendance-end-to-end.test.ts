/**
 * Discord attendance as processes: the built controller runs the real discord.js client
 * against the local fake Discord (gateway + REST, in this test's process), and
 * everything is checked through the controller's HTTP API. A guild registered under
 * its name; a stay in voice measured; a slash command answered and counted; channels and
 * presence from the live gateway; and a controller restart (SIGTERM, start again) while
 * a member is in voice, after which the same session continues and closes correctly.
 *
 * The controller keeps the wall clock, so durations are bounded by what the test saw:
 * a session starts between the moment the join was sent and the moment the API showed
 * it, and ends between the moment the leave was sent and the moment the API showed the
 * session stored. Waits are on conditions with generous timeouts, never on fixed times.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { controllerSetup, fetchData, runController, setUpOwner } from '../support/controller-process.js';
import { FakeDiscord } from '../support/fake-discord/fake-discord.js';
import { createDatabase, uniqueDatabaseName } from '../support/postgres.js';
import { type RunningProcess, requireBuild, waitFor } from '../support/processes.js';
import { type TempDir, tempDir } from '../support/tmp.js';

const OWNER = { username: 'e2e-owner', password: 'e2e owner password 123' };
const GUILD = '500000000000000001';
const CATEGORY = '500000000000000010';
const VOICE = '500000000000000011';
const TEXT = '500000000000000012';
const ALICE = '500000000000000101';
const BOB = '500000000000000102';
/** A stay long enough to be whole seconds apart from the bounds' slack. */
const STAY_MS = 3_000;
const WAIT_MS = 60_000;

interface UserStats {
  sessions: number;
  active_seconds: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('end to end: controller process + discord.js + fake Discord', () => {
  let dir: TempDir;
  let fake: FakeDiscord;
  let controller: RunningProcess;
  let base: string;
  let token = '';
  let startController: () => Promise<void>;
  const logs = () => `controller:\n${controller?.output().slice(-5000)}`;

  const api = <T = Record<string, unknown>>(path: string, init: RequestInit = {}): Promise<T> =>
    fetchData<T>(base, path, token, init);
  const guildApi = <T = Record<string, unknown>>(path: string) => api<T>(`/api/v1/guilds/${GUILD}${path}`);
  const stats = (userId: string) => guildApi<UserStats>(`/stats?user_id=${userId}`);
  const liveMembers = async () =>
    (
      await guildApi<{
        channels: { channel_id: string; members: { user_id: string; active_seconds: number }[] }[];
      }>('/analytics/live-occupancy')
    ).channels.flatMap((c) => c.members.map((m) => ({ ...m, channel_id: c.channel_id })));

  /** Sends the join, waits until the API shows the member in voice; returns when it was sent and seen. */
  async function joinVoice(userId: string): Promise<{ sentAt: number; seenAt: number }> {
    const sentAt = Date.now();
    fake.voice(GUILD, userId, { channelId: VOICE });
    await waitFor(
      `${userId} in live occupancy`,
      async () => ((await liveMembers()).some((m) => m.user_id === userId) ? true : undefined),
      WAIT_MS,
      logs,
    );
    return { sentAt, seenAt: Date.now() };
  }

  /** Sends the leave, waits until the member's stats count `sessions`; returns when sent and seen. */
  async function leaveVoice(userId: string, sessions: number) {
    const sentAt = Date.now();
    fake.voice(GUILD, userId, { channelId: null });
    const seen = await waitFor(
      `${userId}'s session stored`,
      async () => {
        const s = await stats(userId);
        const gone = !(await liveMembers()).some((m) => m.user_id === userId);
        return s.sessions === sessions && gone ? s : undefined;
      },
      WAIT_MS,
      logs,
    );
    return { sentAt, seenAt: Date.now(), stats: seen };
  }

  /** Whole seconds the controller can have counted between a join and a leave the test saw. */
  function expectActiveSeconds(
    actual: number,
    joined: { sentAt: number; seenAt: number },
    left: { sentAt: number; seenAt: number },
  ) {
    expect(actual).toBeGreaterThanOrEqual(Math.floor((left.sentAt - joined.seenAt) / 1000));
    expect(actual).toBeLessThanOrEqual(Math.floor((left.seenAt - joined.sentAt) / 1000));
  }

  beforeAll(async () => {
    requireBuild();
    dir = await tempDir('e2e-attendance');
    fake = await FakeDiscord.start();
    fake.addGuild({
      id: GUILD,
      name: 'E2E Guild',
      channels: [
        { id: CATEGORY, name: 'Voice rooms', type: 4 },
        { id: VOICE, name: 'Stand-up', type: 2, parentId: CATEGORY },
        { id: TEXT, name: 'general', type: 0 },
      ],
      members: [
        { id: ALICE, username: 'alice' },
        { id: BOB, username: 'bob' },
      ],
    });
    const pgBaseUrl = inject('pgBaseUrl');
    const setup = await controllerSetup(join(dir.path, 'controller'), {
      EARSHOT_DISCORD_BOT_TOKEN: fake.token,
      EARSHOT_DISCORD_API_BASE: fake.restApiBase,
      DATABASE_URL: pgBaseUrl
        ? await createDatabase(pgBaseUrl, uniqueDatabaseName('e2e_attendance'))
        : undefined,
    });
    base = setup.base;
    startController = async () => {
      await runController(setup, {
        timeoutMs: WAIT_MS,
        context: logs,
        onSpawn: (started) => (controller = started),
      });
    };
    await startController();
    token = await setUpOwner(base, OWNER);
  }, 180_000);

  afterAll(async () => {
    await controller?.stop();
    await fake?.stop();
    await dir?.cleanup();
  });

  it('registers the guild under its Discord name once the bot is connected', async () => {
    const overview = await waitFor(
      'the guild registered',
      async () => {
        const response = await fetch(`${base}/api/v1/guilds/${GUILD}/overview`, {
          headers: { authorization: `Bearer ${token}` },
        });
        return response.ok ? ((await response.json()) as { data: Record<string, unknown> }).data : undefined;
      },
      WAIT_MS,
      logs,
    );
    expect(overview.guild).toMatchObject({ id: GUILD, name: 'E2E Guild', bot_present: true });
    expect(overview.bot).toEqual({ state: 'ready', present: true });
  });

  it('answers channels and bot presence from the live gateway', async () => {
    expect(await guildApi('/bot-present')).toEqual({
      guild_id: GUILD,
      present: true,
      bot_state: 'ready',
      enabled: true,
      last_known_present: true,
    });
    const { channels } = await guildApi<{ channels: Record<string, unknown>[] }>('/channels');
    expect(channels).toHaveLength(3);
    expect(channels).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: CATEGORY, name: 'Voice rooms', type: 'category', parent_id: null }),
        expect.objectContaining({ id: VOICE, name: 'Stand-up', type: 'voice', parent_id: CATEGORY }),
        expect.objectContaining({ id: TEXT, name: 'general', type: 'text', parent_id: null }),
      ]),
    );
  });

  it('a member joins and leaves voice: the completed session is in the leaderboard and stats', async () => {
    const joined = await joinVoice(ALICE);
    await sleep(STAY_MS);
    const left = await leaveVoice(ALICE, 1);
    expectActiveSeconds(left.stats.active_seconds, joined, left);
    expect(left.stats.active_seconds).toBeGreaterThanOrEqual(STAY_MS / 1000 - 1);
    const board = await guildApi<{ entries: Record<string, unknown>[] }>('/leaderboard');
    expect(board.entries).toEqual([
      // Named as her voice states showed her (her username: no nickname, no display name of her own).
      {
        rank: 1,
        user_id: ALICE,
        display_name: 'alice',
        active_seconds: left.stats.active_seconds,
        sessions: 1,
      },
    ]);
  });

  it('answers a slash command and counts it in the overview', async () => {
    const { id } = fake.sendInteraction({ guildId: GUILD, channelId: TEXT, userId: ALICE, name: 'stats' });
    const callback = await fake.waitFor(
      (f) => f.restCalls.find((call) => call.path.startsWith(`/interactions/${id}/`)),
      { what: 'the interaction callback', timeoutMs: WAIT_MS },
    );
    expect(callback.status).toBe(204);
    expect(callback.body).toMatchObject({
      type: 4,
      data: { content: expect.stringContaining('1 session(s), rank #1'), flags: 64 },
    });
    const commands = await waitFor(
      'the command counted',
      async () => {
        const overview = await guildApi<{ commands: { command: string; count: number }[] }>('/overview');
        return overview.commands.length > 0 ? overview.commands : undefined;
      },
      WAIT_MS,
      logs,
    );
    expect(commands).toEqual([{ command: 'stats', count: 1, last_at: expect.any(String) }]);
  });

  it('a controller restart while a member is in voice: the session continues and closes correctly', async () => {
    const joined = await joinVoice(BOB);
    await sleep(STAY_MS);
    const sessionsBefore = fake.connectedSessions;
    expect(sessionsBefore).toBe(1);

    expect(await controller.stop('SIGTERM'), logs()).toBe(0);
    // The bot closed its gateway session on the way out.
    await fake.waitFor((f) => f.connectedSessions === 0, {
      what: 'the gateway session closed',
      timeoutMs: WAIT_MS,
    });
    await startController();

    // Bob, still in voice, is found again: the restored session continues (nothing stored yet).
    const resumed = await waitFor(
      'Bob in live occupancy after the restart',
      async () => {
        if (fake.connectedSessions !== 1) return undefined;
        return (await liveMembers()).find((m) => m.user_id === BOB);
      },
      WAIT_MS,
      logs,
    );
    expect(resumed.channel_id).toBe(VOICE);
    expect(resumed.active_seconds).toBeGreaterThanOrEqual(STAY_MS / 1000 - 1);
    expect((await stats(BOB)).sessions).toBe(1); // the open one, counted live

    await sleep(1_000);
    const left = await leaveVoice(BOB, 1);
    // One session for the whole stay, the restart included (well within the outage credit).
    expectActiveSeconds(left.stats.active_seconds, joined, left);
    const board = await guildApi<{ entries: { user_id: string; sessions: number }[] }>('/leaderboard');
    expect(board.entries.find((e) => e.user_id === BOB)).toMatchObject({ sessions: 1 });
    // Alice's session from before the restart is still there.
    expect((await stats(ALICE)).sessions).toBe(1);
  });

  it('never writes the bot token to the log', () => {
    expect(controller.output()).not.toContain(fake.token);
  });
});
