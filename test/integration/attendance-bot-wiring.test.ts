/**
 * The controller with a bot token runs the attendance bot: what the real discord.js
 * client (against the local fake Discord) sees reaches the API — guilds registered under
 * their Discord names, a member's time in voice in the leaderboard, settings changes
 * applied through the bot's bridge, members shown by the names their voice states carry,
 * slash commands answered and counted, the guild's
 * channels and the bot's presence from the live gateway, and the bot leaving a guild.
 * The controller's clock is the test's.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type TestController, testController } from '../support/controller.js';
import { FakeDiscord } from '../support/fake-discord/fake-discord.js';

const GUILD = '400000000000000001';
const CATEGORY = '400000000000000010';
const CHANNEL = '400000000000000011';
const TEXT = '400000000000000012';
const AFK = '400000000000000013';
const SECOND_GUILD = '400000000000000002';
const SECOND_CHANNEL = '400000000000000021';
const UNKNOWN_TO_BOT = '400000000000000003';
const ALICE = '400000000000000101';
const BOB = '400000000000000102';

function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
    child.stdin.end(text);
  });
}

describe('attendance bot wired into the controller', () => {
  let fake: FakeDiscord;
  let ctl: TestController;
  let owner: string;
  let nowMs = Date.parse('2026-03-02T10:00:00Z');
  const get = (url: string) => ctl.app.inject({ method: 'GET', url, headers: bearer(owner) });
  const guildUrl = (path: string, guildId = GUILD) => `/api/v1/guilds/${guildId}${path}`;
  const live = async (guildId = GUILD) =>
    (await get(guildUrl('/analytics/live-occupancy', guildId))).json().data.channels as {
      channel_id: string;
      members: { user_id: string }[];
    }[];

  beforeAll(async () => {
    fake = await FakeDiscord.start();
    fake.addGuild({
      id: GUILD,
      name: 'Wiring',
      afkChannelId: AFK,
      channels: [
        { id: CATEGORY, name: 'Rooms', type: 4 },
        { id: CHANNEL, name: 'Voice', type: 2, parentId: CATEGORY },
        { id: TEXT, name: 'general', type: 0 },
        { id: AFK, name: 'AFK', type: 2 },
      ],
      members: [
        { id: ALICE, username: 'alice' },
        { id: BOB, username: 'bob' },
      ],
    });
    fake.addGuild({
      id: SECOND_GUILD,
      name: 'Second',
      channels: [{ id: SECOND_CHANNEL, name: 'Lounge', type: 2 }],
      members: [{ id: BOB, username: 'bob' }],
    });
    ctl = await testController(
      { discordBotToken: fake.token, discordApiBase: fake.restApiBase },
      () => new Date(nowMs),
    );
    // Known before the bot ever saw it (a session stored for it names it by its id): renamed on sight.
    await ctl.db.guild.create({ data: { id: GUILD, name: GUILD } });
    // A guild the bot is not in (registered while it was, say).
    await ctl.db.guild.create({ data: { id: UNKNOWN_TO_BOT, name: 'Elsewhere' } });
    owner = await ctl.ownerToken();
    await ctl.start();
  });
  afterAll(async () => {
    await ctl?.stop();
    await fake?.stop();
  });

  it('registers guilds under their Discord names: a new one created, a known one renamed', async () => {
    await expect
      .poll(async () => (await get(guildUrl('/overview', SECOND_GUILD))).statusCode, { timeout: 20_000 })
      .toBe(200);
    await expect
      .poll(async () => (await get(guildUrl('/overview'))).json().data.guild.name, { timeout: 20_000 })
      .toBe('Wiring');
    const second = (await get(guildUrl('/overview', SECOND_GUILD))).json().data;
    expect(second.guild).toMatchObject({ id: SECOND_GUILD, name: 'Second', bot_present: true });
    expect(second.bot).toEqual({ state: 'ready', present: true });
    const first = await ctl.db.guild.findUniqueOrThrow({ where: { id: GUILD } });
    expect(first).toMatchObject({ name: 'Wiring', afkChannelId: AFK, botPresent: true });
    const events = await ctl.db.auditEvent.findMany({
      where: { action: { in: ['attendance.guild.register', 'attendance.guild.update'] } },
      orderBy: { action: 'asc' },
    });
    expect(events.map((e) => [e.action, e.targetId])).toEqual(
      expect.arrayContaining([
        ['attendance.guild.register', SECOND_GUILD],
        ['attendance.guild.update', GUILD],
      ]),
    );
  });

  it('stores the session a member spent in voice', async () => {
    fake.voice(GUILD, ALICE, { channelId: CHANNEL });
    await expect.poll(async () => JSON.stringify(await live()), { timeout: 20_000 }).toContain(ALICE);
    nowMs += 90_000;
    fake.voice(GUILD, ALICE, { channelId: null });
    await expect
      .poll(async () => (await get(guildUrl('/leaderboard'))).json().data.entries, { timeout: 20_000 })
      .toEqual([
        expect.objectContaining({ user_id: ALICE, display_name: 'alice', active_seconds: 90, rank: 1 }),
      ]);
  });

  it('shows members by the name the guild gives them, kept from their voice states', async () => {
    const names = await get(guildUrl(`/members?user_ids=${ALICE},${BOB}`));
    expect(names.statusCode, names.body).toBe(200);
    // Bob has not been in voice yet: no name known, left out.
    expect(names.json().data.members).toEqual([
      { user_id: ALICE, display_name: 'alice', seen_at: expect.any(String) },
    ]);
    expect((await get(guildUrl(`/stats?user_id=${ALICE}`))).json().data.display_name).toBe('alice');
    expect((await get(guildUrl(`/stats?user_id=${BOB}`))).json().data.display_name).toBeNull();

    // Renamed in the guild: the next voice state carries the nickname, which replaces the name.
    fake.renameMember(GUILD, ALICE, 'Alice (host)');
    fake.voice(GUILD, ALICE, { channelId: CHANNEL });
    await expect
      .poll(async () => (await get(guildUrl('/leaderboard'))).json().data.entries[0]?.display_name, {
        timeout: 20_000,
      })
      .toBe('Alice (host)');
    fake.voice(GUILD, ALICE, { channelId: null });
    await expect.poll(async () => JSON.stringify(await live()), { timeout: 20_000 }).not.toContain(ALICE);
    expect(await ctl.db.guildMember.findMany({ where: { guildId: GUILD } })).toEqual([
      expect.objectContaining({ userId: ALICE, displayName: 'Alice (host)' }),
    ]);
    const bad = await get(guildUrl('/members?user_ids=1,abc'));
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toMatch(/user_ids/);
  });

  it('applies a settings change to the live tracker through the bot, attributed to the caller', async () => {
    fake.voice(GUILD, BOB, { channelId: CHANNEL });
    await expect.poll(async () => JSON.stringify(await live()), { timeout: 20_000 }).toContain(BOB);
    nowMs += 30_000;
    const off = await ctl.app.inject({
      method: 'PATCH',
      url: guildUrl('/tracking-mode'),
      headers: bearer(owner),
      payload: { mode: 'off' },
    });
    expect(off.statusCode, off.body).toBe(200);
    const untracked = await ctl.db.voiceSession.findFirstOrThrow({ where: { userId: BOB, guildId: GUILD } });
    expect(untracked).toMatchObject({ activeMs: 30_000n, closeReason: 'untracked' });
    const stored = await ctl.db.auditEvent.findFirstOrThrow({
      where: { action: 'attendance.sessions.store', targetId: GUILD },
      orderBy: { seq: 'desc' },
    });
    expect(stored.actorType).toBe('user');

    // Tracked again: Bob, still there, has a session from now.
    nowMs += 10_000;
    await ctl.app.inject({
      method: 'PATCH',
      url: guildUrl('/tracking-mode'),
      headers: bearer(owner),
      payload: { mode: 'all' },
    });
    expect(JSON.stringify(await live())).toContain(BOB);
    nowMs += 20_000;
    fake.voice(GUILD, BOB, { channelId: null });
    await expect
      .poll(async () => ctl.db.voiceSession.count({ where: { userId: BOB, guildId: GUILD } }), {
        timeout: 20_000,
      })
      .toBe(2);
    const again = await ctl.db.voiceSession.findFirstOrThrow({
      where: { userId: BOB, guildId: GUILD, closeReason: 'leave' },
    });
    expect(again.activeMs).toBe(20_000n);
  });

  it('answers a slash command and counts it in the overview and the metrics', async () => {
    const { id } = fake.sendInteraction({ guildId: GUILD, channelId: TEXT, userId: ALICE, name: 'stats' });
    const callback = await fake.waitFor(
      (f) => f.restCalls.find((call) => call.path.startsWith(`/interactions/${id}/`)),
      { what: 'the interaction callback', timeoutMs: 20_000 },
    );
    expect(callback.body).toMatchObject({ data: { content: expect.stringContaining('1 min in voice') } });
    await expect
      .poll(async () => (await get(guildUrl('/overview'))).json().data.commands, { timeout: 20_000 })
      .toEqual([{ command: 'stats', count: 1, last_at: new Date(nowMs).toISOString() }]);

    fake.sendInteraction({ guildId: GUILD, channelId: TEXT, userId: BOB, name: 'stats' });
    fake.sendInteraction({ guildId: GUILD, channelId: TEXT, userId: BOB, name: 'leaderboard' });
    await expect
      .poll(async () => (await get(guildUrl('/overview'))).json().data.commands, { timeout: 20_000 })
      .toEqual([
        expect.objectContaining({ command: 'leaderboard', count: 1 }),
        expect.objectContaining({ command: 'stats', count: 2 }),
      ]);

    const metrics = await get('/metrics');
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('earshot_discord_commands_total{command="stats",outcome="answered"} 2');
    expect(metrics.body).toContain(
      'earshot_discord_commands_total{command="leaderboard",outcome="answered"} 1',
    );
    expect(metrics.body).toContain('earshot_discord_bot_state{state="ready"} 1');
    expect(metrics.body).toContain('earshot_discord_bot_state{state="stopped"} 0');
    expect(metrics.body).toContain('earshot_discord_guilds 2');
    const { code, output } = await promtoolCheck(metrics.body);
    expect(output).toBe('');
    expect(code).toBe(0);
  });

  it("lists the guild's channels from the gateway; 409 for a guild the bot is not in", async () => {
    const channels = await get(guildUrl('/channels'));
    expect(channels.statusCode, channels.body).toBe(200);
    expect(channels.json().data).toEqual({
      guild_id: GUILD,
      channels: expect.arrayContaining([
        { id: CATEGORY, name: 'Rooms', type: 'category', parent_id: null, position: expect.any(Number) },
        { id: CHANNEL, name: 'Voice', type: 'voice', parent_id: CATEGORY, position: expect.any(Number) },
        { id: TEXT, name: 'general', type: 'text', parent_id: null, position: expect.any(Number) },
        { id: AFK, name: 'AFK', type: 'voice', parent_id: null, position: expect.any(Number) },
      ]),
    });
    expect(channels.json().data.channels).toHaveLength(4);

    const elsewhere = await get(guildUrl('/channels', UNKNOWN_TO_BOT));
    expect(elsewhere.statusCode).toBe(409);
    expect(elsewhere.json().error.code).toBe('discord_bot_not_in_guild');
    expect(elsewhere.json().error.message).toMatch(/[Ii]nvite the bot/);
    expect((await get(guildUrl('/bot-present', UNKNOWN_TO_BOT))).json().data).toEqual({
      guild_id: UNKNOWN_TO_BOT,
      present: false,
      bot_state: 'ready',
      enabled: true,
      last_known_present: false,
    });
    expect((await get(guildUrl('/bot-present'))).json().data).toMatchObject({
      present: true,
      bot_state: 'ready',
      last_known_present: true,
    });
  });

  it('the bot removed from a guild: its open sessions close, and it is marked absent', async () => {
    fake.voice(SECOND_GUILD, BOB, { channelId: SECOND_CHANNEL });
    await expect
      .poll(async () => JSON.stringify(await live(SECOND_GUILD)), { timeout: 20_000 })
      .toContain(BOB);
    nowMs += 45_000;
    fake.removeGuild(SECOND_GUILD);
    await expect
      .poll(async () => (await get(guildUrl('/bot-present', SECOND_GUILD))).json().data, { timeout: 20_000 })
      .toEqual({
        guild_id: SECOND_GUILD,
        present: false,
        bot_state: 'ready',
        enabled: true,
        last_known_present: false,
      });
    const closed = await ctl.db.voiceSession.findFirstOrThrow({ where: { guildId: SECOND_GUILD } });
    expect(closed).toMatchObject({ userId: BOB, activeMs: 45_000n, closeReason: 'reconcile' });
    expect(await live(SECOND_GUILD)).toEqual([]);
    expect((await get(guildUrl('/channels', SECOND_GUILD))).statusCode).toBe(409);
    expect(
      await ctl.db.auditEvent.count({
        where: { action: 'attendance.guild.bot_remove', targetId: SECOND_GUILD },
      }),
    ).toBe(1);
  });
});

describe('Discord routes without a connected bot', () => {
  let ctl: TestController;
  let owner: string;
  const get = (url: string) => ctl.app.inject({ method: 'GET', url, headers: bearer(owner) });
  afterAll(async () => ctl?.stop());

  it('no bot configured: absent and disabled; channels are a clear 503', async () => {
    ctl = await testController();
    owner = await ctl.ownerToken();
    await ctl.services.attendance.onGuildAvailable(GUILD, 'Offline', [], null);
    expect((await get(`/api/v1/guilds/${GUILD}/bot-present`)).json().data).toEqual({
      guild_id: GUILD,
      present: false,
      bot_state: 'disabled',
      enabled: false,
      last_known_present: true,
    });
    const channels = await get(`/api/v1/guilds/${GUILD}/channels`);
    expect(channels.statusCode).toBe(503);
    expect(channels.json().error.code).toBe('discord_unavailable');
    const overview = (await get(`/api/v1/guilds/${GUILD}/overview`)).json().data;
    expect(overview.bot).toEqual({ state: 'disabled', present: false });
    expect(overview.commands).toEqual([]);
    const metrics = await get('/metrics');
    expect(metrics.body).toContain('earshot_discord_bot_state{state="disabled"} 1');
    expect(metrics.body).toContain('earshot_discord_guilds 0');
    await ctl.stop();
  });

  it('a bot configured but not connected: 503 with discord_unavailable, not a 409', async () => {
    // Nothing listens on port 9 here: the login never gets through.
    ctl = await testController({
      discordBotToken: 'not-a-real-token.0123456789',
      discordApiBase: 'http://127.0.0.1:9/api',
    });
    owner = await ctl.ownerToken();
    await ctl.services.attendance.onGuildAvailable(GUILD, 'Offline', [], null);
    await ctl.start();
    const channels = await get(`/api/v1/guilds/${GUILD}/channels`);
    expect(channels.statusCode).toBe(503);
    expect(channels.json().error.code).toBe('discord_unavailable');
    const presence = (await get(`/api/v1/guilds/${GUILD}/bot-present`)).json().data;
    expect(presence).toMatchObject({ present: false, enabled: true });
    expect(['connecting', 'stopped']).toContain(presence.bot_state);
  });
});
