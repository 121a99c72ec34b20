/**
 * The web front end's token (README, "Discord attendance"): a 60-second
 * HS256 JWT naming a Discord user and a guild reaches that guild's attendance routes
 * when Discord says the user has Manage Server there. The check runs through the real
 * discord.js bot against the local fake Discord, so its REST calls show the cache.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type TestController, testController } from '../support/controller.js';
import { FakeDiscord } from '../support/fake-discord/fake-discord.js';
import { until } from '../support/until.js';

const SECRET = 'bff-shared-secret-for-tests-0123456789';
const GUILD = '600000000000000001';
const OTHER_GUILD = '600000000000000002';
const VOICE = '600000000000000011';
const OTHER_VOICE = '600000000000000012';
const MODS = '600000000000000021';
const OWNER_USER = '600000000000000101';
const MOD = '600000000000000102';
const MEMBER = '600000000000000103';
const CACHED_MOD = '600000000000000104';
/** Manage Server (Manage Guild) as Discord's permission bit field. */
const MANAGE_GUILD = String(1 << 5);

interface MintOptions {
  expiresInSeconds?: number;
  secret?: string;
}

describe('front-end token (Discord user with Manage Server)', () => {
  let fake: FakeDiscord;
  let ctl: TestController;
  let nowMs = Date.parse('2026-04-06T09:00:00Z');

  const mint = (userId: string, guildId = GUILD, options: MintOptions = {}) =>
    new SignJWT({ user_id: userId, guild_id: guildId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuedAt(Math.floor(nowMs / 1000))
      .setExpirationTime(Math.floor(nowMs / 1000) + (options.expiresInSeconds ?? 60))
      .sign(new TextEncoder().encode(options.secret ?? SECRET));

  const get = async (url: string, token: string) =>
    ctl.app.inject({ method: 'GET', url, headers: bearer(token) });

  const memberFetches = (guildId: string, userId: string) =>
    fake.restCalls.filter(
      (call) => call.method === 'GET' && call.path === `/guilds/${guildId}/members/${userId}`,
    ).length;

  const discordAudit = (userId: string) =>
    ctl.db.auditEvent.findMany({ where: { actorType: 'discord', actorId: userId }, orderBy: { seq: 'asc' } });

  beforeAll(async () => {
    fake = await FakeDiscord.start();
    fake.addGuild({
      id: GUILD,
      name: 'Front end',
      ownerId: OWNER_USER,
      roles: [{ id: MODS, name: 'mods', permissions: MANAGE_GUILD }],
      channels: [{ id: VOICE, name: 'Voice', type: 2 }],
      members: [
        { id: OWNER_USER, username: 'owner' },
        { id: MOD, username: 'mod', roles: [MODS] },
        { id: MEMBER, username: 'member' },
        { id: CACHED_MOD, username: 'cached', roles: [MODS] },
      ],
    });
    // MOD is a plain member here; OWNER_USER owns it.
    fake.addGuild({
      id: OTHER_GUILD,
      name: 'Elsewhere',
      ownerId: OWNER_USER,
      channels: [{ id: OTHER_VOICE, name: 'Voice', type: 2 }],
      members: [
        { id: OWNER_USER, username: 'owner' },
        { id: MOD, username: 'mod' },
      ],
    });
    ctl = await testController(
      { discordBotToken: fake.token, discordApiBase: fake.restApiBase, frontendTokenSecret: SECRET },
      () => new Date(nowMs),
    );
    await ctl.start();
    // Both guilds are registered once the bot has seen them.
    const owner = await ctl.ownerToken();
    for (const guildId of [GUILD, OTHER_GUILD]) {
      await until(async () => (await get(`/api/v1/guilds/${guildId}/overview`, owner)).statusCode === 200);
    }
  });

  afterAll(async () => {
    await ctl?.stop();
    await fake?.stop();
  });

  it('lets a member with Manage Server (through a role) read and manage their guild', async () => {
    const token = await mint(MOD);
    for (const path of ['overview', 'leaderboard', 'fairness', 'tracked-channels', 'signing/status']) {
      const response = await get(`/api/v1/guilds/${GUILD}/${path}`, token);
      expect(response.statusCode, `${path}: ${response.body}`).toBe(200);
    }
    // A change: bearer, so no CSRF token; audited with the Discord user as actor.
    const patch = await ctl.app.inject({
      method: 'PATCH',
      url: `/api/v1/guilds/${GUILD}/fairness`,
      headers: bearer(token),
      payload: { pause_on_mute: true },
    });
    expect(patch.statusCode, patch.body).toBe(200);
    expect(patch.json().data.pause_on_mute).toBe(true);
    const events = await discordAudit(MOD);
    expect(events).toEqual([
      expect.objectContaining({
        outcome: 'success',
        actorType: 'discord',
        actorId: MOD,
        requestId: patch.headers['x-request-id'],
      }),
    ]);
  });

  it('lets the guild owner in without any role', async () => {
    const response = await get(`/api/v1/guilds/${GUILD}/leaderboard`, await mint(OWNER_USER));
    expect(response.statusCode, response.body).toBe(200);
  });

  it('refuses a member without Manage Server with 403, audited with the Discord user as actor', async () => {
    const response = await get(`/api/v1/guilds/${GUILD}/overview`, await mint(MEMBER));
    expect(response.statusCode).toBe(403);
    expect(response.json().error).toMatchObject({
      code: 'forbidden',
      message: expect.stringContaining('needs Manage Server in this guild'),
    });
    const events = await discordAudit(MEMBER);
    expect(events.at(-1)).toMatchObject({
      actorType: 'discord',
      actorId: MEMBER,
      outcome: 'denied',
      permission: 'attendance:read',
      reason: 'discord user lacks manage server',
      requestId: response.headers['x-request-id'],
    });
  });

  it('keeps a token to its own guild', async () => {
    // A token for GUILD, used on another guild's path.
    const elsewhere = await get(`/api/v1/guilds/${OTHER_GUILD}/overview`, await mint(MOD));
    expect(elsewhere.statusCode).toBe(403);
    expect(elsewhere.json().error.message).toContain('for another guild');
    // A token for OTHER_GUILD, where MOD has no Manage Server.
    const notThere = await get(`/api/v1/guilds/${OTHER_GUILD}/overview`, await mint(MOD, OTHER_GUILD));
    expect(notThere.statusCode).toBe(403);
    expect(notThere.json().error.message).toContain('needs Manage Server');
    // A guild the bot is not in: Discord cannot confirm Manage Server there.
    const unknown = '600000000000000099';
    expect((await get(`/api/v1/guilds/${unknown}/overview`, await mint(MOD, unknown))).statusCode).toBe(403);
    const reasons = (await discordAudit(MOD)).filter((e) => e.outcome === 'denied').map((e) => e.reason);
    expect(reasons).toEqual([
      'front-end token for another guild',
      'discord user lacks manage server',
      'discord user lacks manage server',
    ]);
  });

  it('reaches no route outside the guild attendance routes', async () => {
    const token = await mint(MOD);
    for (const url of ['/api/v1/auth/users', '/api/v1/auth/me', '/api/v1/nodes', '/api/v1/audit-events']) {
      const response = await get(url, token);
      expect(response.statusCode, url).toBe(403);
      expect(response.json().error.message).toContain('only reaches the attendance routes');
    }
    const denied = (await discordAudit(MOD)).filter(
      (e) => e.reason === 'front-end token outside guild attendance routes',
    );
    expect(denied.map((e) => e.action)).toEqual([
      'http.get /api/v1/auth/users',
      'http.get /api/v1/auth/me',
      'http.get /api/v1/nodes',
      'http.get /api/v1/audit-events',
    ]);
  });

  it('is refused by every declared route outside its reach, before any Discord call', async () => {
    const token = await mint(MOD);
    const fetches = memberFetches(GUILD, MOD);
    const checked: string[] = [];
    for (const route of ctl.routes) {
      if (route.access.public) continue;
      const reachable =
        route.url.startsWith('/api/v1/guilds/:guildId/') &&
        (route.access.user === 'attendance:read' || route.access.user === 'attendance:manage');
      if (reachable) continue;
      const url = route.url.replace(/:(\w+)/g, (_match, name: string) => (name === 'guildId' ? GUILD : '1'));
      const response = await ctl.app.inject({ method: route.method as 'GET', url, headers: bearer(token) });
      expect(response.statusCode, `${route.method} ${route.url}: ${response.body}`).toBe(403);
      checked.push(`${route.method} ${route.url}`);
    }
    expect(checked).toContain('POST /api/v1/auth/logout');
    expect(memberFetches(GUILD, MOD)).toBe(fetches);
  });

  it('asks Discord once per (guild, user) within the TTL, and again after it', async () => {
    const url = `/api/v1/guilds/${GUILD}/overview`;
    expect(memberFetches(GUILD, CACHED_MOD)).toBe(0);
    expect((await get(url, await mint(CACHED_MOD))).statusCode).toBe(200);
    expect(memberFetches(GUILD, CACHED_MOD)).toBe(1);
    nowMs += 30_000; // a fresh token, within the cache's 60 s
    expect((await get(url, await mint(CACHED_MOD))).statusCode).toBe(200);
    expect((await get(`/api/v1/guilds/${GUILD}/fairness`, await mint(CACHED_MOD))).statusCode).toBe(200);
    expect(memberFetches(GUILD, CACHED_MOD)).toBe(1);
    nowMs += 31_000; // past the TTL
    expect((await get(url, await mint(CACHED_MOD))).statusCode).toBe(200);
    expect(memberFetches(GUILD, CACHED_MOD)).toBe(2);

    // A "no" is cached for a shorter time.
    const before = memberFetches(GUILD, MEMBER);
    expect((await get(url, await mint(MEMBER))).statusCode).toBe(403);
    const afterFirst = memberFetches(GUILD, MEMBER);
    expect(afterFirst).toBe(before + 1);
    expect((await get(url, await mint(MEMBER))).statusCode).toBe(403);
    expect(memberFetches(GUILD, MEMBER)).toBe(afterFirst);
    nowMs += 11_000;
    expect((await get(url, await mint(MEMBER))).statusCode).toBe(403);
    expect(memberFetches(GUILD, MEMBER)).toBe(afterFirst + 1);
  });

  it('refuses expired, long-lived, wrongly signed and query-string tokens with 401', async () => {
    const url = `/api/v1/guilds/${GUILD}/overview`;
    const expired = await mint(MOD, GUILD, { expiresInSeconds: -30 });
    const response = await get(url, expired);
    expect(response.statusCode).toBe(401);
    expect(response.json().error.message).toContain('expired');
    // A token that was fine when minted, presented after it lapsed.
    const token = await mint(MOD);
    nowMs += 70_000;
    expect((await get(url, token)).statusCode).toBe(401);
    expect((await get(url, await mint(MOD, GUILD, { expiresInSeconds: 3600 }))).statusCode).toBe(401);
    const forged = await mint(MOD, GUILD, { secret: 'not-the-shared-secret-but-long-enough' });
    expect((await get(url, forged)).statusCode).toBe(401);
    const query = await ctl.app.inject({ method: 'GET', url: `${url}?token=${await mint(MOD)}` });
    expect(query.statusCode).toBe(401);
    // Refusals are audited (the caller is unknown: anonymous).
    const refused = await ctl.db.auditEvent.findMany({
      where: { reason: { startsWith: 'front-end token refused' } },
    });
    expect(refused.map((e) => e.reason)).toEqual([
      'front-end token refused: expired',
      'front-end token refused: expired',
      expect.stringMatching(/^front-end token refused: exp: more than 60 s/),
      'front-end token refused: bad signature',
    ]);
  });

  it('counts route rate limits per Discord user, not per front-end address', async () => {
    const owner = await ctl.ownerToken();
    const admin = '/api/v1/admin/limits';
    const profile = await ctl.app.inject({
      method: 'POST',
      url: `${admin}/profiles`,
      headers: bearer(owner),
      payload: { name: 'front-end', max: 2, windowSeconds: 60 },
    });
    expect(profile.statusCode, profile.body).toBe(201);
    const assignment = await ctl.app.inject({
      method: 'POST',
      url: `${admin}/assignments`,
      headers: bearer(owner),
      payload: { route: 'GET /api/v1/guilds/:guildId/analytics/heatmap', profileId: profile.json().data.id },
    });
    expect(assignment.statusCode, assignment.body).toBe(201);
    const url = `/api/v1/guilds/${GUILD}/analytics/heatmap`;
    try {
      // Every request comes from the same address (the web front end): two users, two budgets.
      for (const user of [OWNER_USER, MOD]) {
        expect((await get(url, await mint(user))).statusCode).toBe(200);
        expect((await get(url, await mint(user))).statusCode).toBe(200);
      }
      expect((await get(url, await mint(MOD))).statusCode).toBe(429);
    } finally {
      await ctl.app.inject({
        method: 'DELETE',
        url: `${admin}/assignments/${assignment.json().data.id}`,
        headers: bearer(owner),
      });
    }
  });
});

describe('front-end token without the secret, or without the bot', () => {
  const claims = { user_id: '600000000000000102', guild_id: '600000000000000001' };
  const mint = (secret: string) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('60s')
      .sign(new TextEncoder().encode(secret));
  const url = `/api/v1/guilds/${claims.guild_id}/overview`;

  it('is just an invalid credential when no secret is configured', async () => {
    const ctl = await testController();
    try {
      const response = await ctl.app.inject({ method: 'GET', url, headers: bearer(await mint(SECRET)) });
      expect(response.statusCode).toBe(401);
    } finally {
      await ctl.stop();
    }
  });

  it('answers 503 discord_unavailable when no bot can check Manage Server', async () => {
    const ctl = await testController({ frontendTokenSecret: SECRET });
    try {
      const response = await ctl.app.inject({ method: 'GET', url, headers: bearer(await mint(SECRET)) });
      expect(response.statusCode).toBe(503);
      expect(response.json().error.code).toBe('discord_unavailable');
    } finally {
      await ctl.stop();
    }
  });
});
