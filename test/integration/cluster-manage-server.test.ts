/**
 * A web front end's token on a follower replica: the bot (and its gateway session) runs on the
 * leader only, so a follower asks Discord's REST API whether the user may manage the guild
 * (discord/manage-server-rest.ts) instead of answering 503. Two controllers on one PostgreSQL:
 * A started (it leads and runs the bot against the fake Discord), B built on the same database
 * and not started, as a follower's bot is.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp, type ControllerApp } from '../../controller/src/app.js';
import { type Db, openDatabase } from '../../controller/src/db/client.js';
import { bearer, type TestController, testController } from '../support/controller.js';
import { FakeDiscord } from '../support/fake-discord/fake-discord.js';
import { until } from '../support/until.js';

const SECRET = 'bff-shared-secret-for-tests-0123456789';
const GUILD = '610000000000000001';
const VOICE = '610000000000000011';
const MODS = '610000000000000021';
const OWNER_USER = '610000000000000101';
const MOD = '610000000000000102';
const MEMBER = '610000000000000103';
const STRANGER = '610000000000000104';
const MANAGE_GUILD = String(1 << 5);

describe.skipIf(!inject('pgBaseUrl'))('front-end tokens on a follower replica', () => {
  let fake: FakeDiscord;
  let a: TestController;
  let b: ControllerApp;
  let bDb: Db;

  const mint = (userId: string) =>
    new SignJWT({ user_id: userId, guild_id: GUILD })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(new TextEncoder().encode(SECRET));
  const overview = async (app: ControllerApp['app'], token: string) =>
    app.inject({ method: 'GET', url: `/api/v1/guilds/${GUILD}/overview`, headers: bearer(token) });

  beforeAll(async () => {
    fake = await FakeDiscord.start();
    fake.addGuild({
      id: GUILD,
      name: 'Replicated front end',
      ownerId: OWNER_USER,
      roles: [{ id: MODS, name: 'mods', permissions: MANAGE_GUILD }],
      channels: [{ id: VOICE, name: 'Voice', type: 2 }],
      members: [
        { id: OWNER_USER, username: 'owner' },
        { id: MOD, username: 'mod', roles: [MODS] },
        { id: MEMBER, username: 'member' },
      ],
    });
    a = await testController({
      discordBotToken: fake.token,
      discordApiBase: fake.restApiBase,
      frontendTokenSecret: SECRET,
    });
    await a.start();
    const owner = await a.ownerToken();
    await until(async () => (await overview(a.app, owner)).statusCode === 200, {
      what: 'the guild registered',
    });
    bDb = openDatabase(a.target);
    b = await buildApp({
      config: a.config,
      db: bDb,
      provider: a.target.provider,
      databaseUrl: a.target.provider === 'postgresql' ? a.target.url : undefined,
      logger: false,
    });
    await b.app.ready();
  });

  afterAll(async () => {
    await b?.close();
    await bDb?.$disconnect();
    await a?.stop();
    await fake?.stop();
  });

  it('the follower (its bot stopped) answers from Discord REST: Manage Server through a role and the owner get in', async () => {
    expect(b.services.discord.state).toBe('stopped');
    const before = fake.restCalls.length;
    for (const user of [MOD, OWNER_USER]) {
      const response = await overview(b.app, await mint(user));
      expect(response.statusCode, response.body).toBe(200);
    }
    const asked = fake.restCalls.slice(before).map((c) => `${c.method} ${c.path}`);
    expect(asked).toContain(`GET /guilds/${GUILD}`);
    expect(asked).toContain(`GET /guilds/${GUILD}/members/${MOD}`);
  });

  it('a plain member and a stranger are refused (403), not told Discord is unavailable', async () => {
    for (const user of [MEMBER, STRANGER]) {
      const response = await overview(b.app, await mint(user));
      expect(response.statusCode, response.body).toBe(403);
    }
  });
});
