/**
 * Guild registration through the API, for attendance sources other than the Discord bot:
 * register (audited in its transaction), list, read, rename; who may do it; duplicates and
 * bad input; and then the inbound webhook, signing and verification work for that guild.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Method, requestAs, voiceWebhook } from '../support/api.js';
import { type TestController, testController, userWithRole } from '../support/controller.js';

const GUILD = '710000000000000001';
const SCOPED_GUILD = '720000000000000002';
const BOT_GUILD = '730000000000000003';
const ROOM = '810000000000000001';
const ALICE = '910000000000000001';
const WEBHOOK_SECRET = 'guild-registration-webhook-secret';

describe('guild registration', () => {
  let ctl: TestController;
  let owner: string;
  let nowMs = Date.parse('2025-09-01T08:00:00.000Z');
  const api = (method: Method, url: string, payload?: object, token = owner) =>
    requestAs(ctl.app, token, method, url, payload);
  const eventsOf = (response: { headers: Record<string, unknown> }) =>
    ctl.db.auditEvent.findMany({ where: { requestId: response.headers['x-request-id'] as string } });

  /** A user holding a built-in role over one guild only. */
  async function guildScoped(username: string, role: 'admin' | 'viewer', guildId: string) {
    const { hashPassword } = await import('../../controller/src/crypto/password.js');
    const roleRow = await ctl.db.role.findUniqueOrThrow({ where: { name: role } });
    const password = `${username}-password-123`;
    await ctl.db.user.create({
      data: {
        username,
        displayName: username,
        passwordHash: await hashPassword(password, 10),
        grants: { create: { roleId: roleRow.id, scopeType: 'guild', scopeId: guildId } },
      },
    });
    const login = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username, password },
    });
    return login.json().data.token as string;
  }

  beforeAll(async () => {
    ctl = await testController({ attendanceWebhookSecret: WEBHOOK_SECRET }, () => new Date(nowMs));
    owner = await ctl.ownerToken();
  });
  afterAll(async () => ctl.stop());

  it('without registration the inbound webhook does not know the guild', async () => {
    const response = await voiceWebhook(ctl.app, WEBHOOK_SECRET, GUILD, ALICE, ROOM);
    expect(response.statusCode).toBe(404);
    expect(response.json().error.message).toMatch(/guild not found/);
  });

  it('registers a guild, audited in the same request, and shows it', async () => {
    const created = await api('POST', '/api/v1/guilds', {
      id: GUILD,
      name: 'Lecture hall A',
      time_zone: 'Europe/Berlin',
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json().data).toEqual({
      id: GUILD,
      name: 'Lecture hall A',
      time_zone: 'Europe/Berlin',
      tracking_mode: 'all',
      bot_present: false,
      period_index: 0,
      period_started_at: '2025-09-01T08:00:00.000Z',
      created_at: expect.any(String),
    });
    const events = await eventsOf(created);
    expect(events.map((e) => [e.action, e.outcome, e.targetType, e.targetId, e.actorType])).toEqual([
      ['attendance.guild.create', 'success', 'guild', GUILD, 'user'],
    ]);
    expect(JSON.parse(events[0]!.after!)).toEqual({ name: 'Lecture hall A', timeZone: 'Europe/Berlin' });

    const read = await api('GET', `/api/v1/guilds/${GUILD}`);
    expect(read.json().data).toMatchObject({ id: GUILD, name: 'Lecture hall A' });
    const list = await api('GET', '/api/v1/guilds');
    expect(list.json().data.map((g: { id: string }) => g.id)).toEqual([GUILD]);
    // The time zone defaults to UTC.
    const other = await api('POST', '/api/v1/guilds', { id: SCOPED_GUILD, name: 'Room 2' });
    expect(other.json().data.time_zone).toBe('UTC');
  });

  it('registering an id that exists is a 409, whoever registered it; nothing changes', async () => {
    const again = await api('POST', '/api/v1/guilds', { id: GUILD, name: 'Someone else' });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.message).toMatch(/already registered.*PATCH \/api\/v1\/guilds\//);
    await ctl.services.attendance.onGuildAvailable(BOT_GUILD, 'Seen by the bot', [], null);
    const botGuild = await api('POST', '/api/v1/guilds', { id: BOT_GUILD, name: 'Mine now' });
    expect(botGuild.statusCode).toBe(409);
    expect((await ctl.db.guild.findUniqueOrThrow({ where: { id: GUILD } })).name).toBe('Lecture hall A');
    expect(await ctl.db.auditEvent.count({ where: { action: 'attendance.guild.create' } })).toBe(2);
  });

  it('refuses bad input with 400 and creates nothing', async () => {
    const before = await ctl.db.guild.count();
    for (const body of [
      {},
      { id: 'abc', name: 'x' },
      { id: '12', name: 'x' },
      { id: 74000000, name: 'x' },
      { id: '740000000000000004' },
      { id: '740000000000000004', name: '' },
      { id: '740000000000000004', name: '   ' },
      { id: '740000000000000004', name: 'x'.repeat(101) },
      { id: '740000000000000004', name: 'x', time_zone: 'Mars/Olympus_Mons' },
      { id: '740000000000000004', name: 'x', time_zone: '' },
      { id: '740000000000000004', name: 'x', plan: 'pro' },
    ]) {
      const response = await api('POST', '/api/v1/guilds', body);
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      expect(response.json().error.message.length, JSON.stringify(body)).toBeGreaterThan(5);
    }
    const zone = await api('POST', '/api/v1/guilds', {
      id: '740000000000000004',
      name: 'x',
      time_zone: 'Nowhere/Else',
    });
    expect(zone.json().error.message).toMatch(/unknown time zone "Nowhere\/Else"/);
    expect(await ctl.db.guild.count()).toBe(before);
    expect((await api('GET', '/api/v1/guilds?cursor=not-a-cursor')).statusCode).toBe(400);
  });

  it('needs attendance:manage over that guild or the fleet; refusals are audited', async () => {
    const viewer = await userWithRole(ctl, 'fleet-viewer', 'viewer');
    const refused = await api('POST', '/api/v1/guilds', { id: '750000000000000005', name: 'x' }, viewer);
    expect(refused.statusCode).toBe(403);
    expect((await eventsOf(refused)).map((e) => e.outcome)).toEqual(['denied']);

    // A guild-scoped admin may register its own guild, not another one.
    const scoped = await guildScoped('guild-admin', 'admin', '760000000000000006');
    const other = await api('POST', '/api/v1/guilds', { id: '770000000000000007', name: 'x' }, scoped);
    expect(other.statusCode).toBe(403);
    expect(other.json().error.message).toMatch(/attendance:manage permission over guild 770000000000000007/);
    const denied = await eventsOf(other);
    expect(denied.map((e) => [e.outcome, e.targetType, e.targetId])).toEqual([
      ['denied', 'guild', '770000000000000007'],
    ]);
    const own = await api('POST', '/api/v1/guilds', { id: '760000000000000006', name: 'Own room' }, scoped);
    expect(own.statusCode, own.body).toBe(201);
    // It lists only the guilds its grants reach; the fleet owner lists them all.
    const listed = await api('GET', '/api/v1/guilds', undefined, scoped);
    expect(listed.json().data.map((g: { id: string }) => g.id)).toEqual(['760000000000000006']);
    expect((await api('GET', `/api/v1/guilds/${GUILD}`, undefined, scoped)).statusCode).toBe(404);
    const all = await api('GET', '/api/v1/guilds?limit=2');
    expect(all.json().data).toHaveLength(2);
    const next = await api('GET', `/api/v1/guilds?limit=2&cursor=${all.json().nextCursor}`);
    expect([...all.json().data, ...next.json().data].map((g: { id: string }) => g.id)).toEqual(
      [GUILD, SCOPED_GUILD, BOT_GUILD, '760000000000000006'].sort(),
    );
    // A guild viewer may read it but not change it.
    const guildViewer = await guildScoped('guild-viewer', 'viewer', GUILD);
    expect((await api('GET', `/api/v1/guilds/${GUILD}`, undefined, guildViewer)).statusCode).toBe(200);
    const patch = await api('PATCH', `/api/v1/guilds/${GUILD}`, { name: 'nope' }, guildViewer);
    expect(patch.statusCode).toBe(403);
  });

  it('renames a guild and changes its time zone, audited with before and after', async () => {
    const renamed = await api('PATCH', `/api/v1/guilds/${GUILD}`, {
      name: 'Lecture hall B',
      time_zone: 'UTC',
    });
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect(renamed.json().data).toMatchObject({ name: 'Lecture hall B', time_zone: 'UTC' });
    const [event] = await eventsOf(renamed);
    expect(event!.action).toBe('attendance.guild.update');
    expect(JSON.parse(event!.before!)).toEqual({ name: 'Lecture hall A', timeZone: 'Europe/Berlin' });
    expect(JSON.parse(event!.after!)).toEqual({ name: 'Lecture hall B', timeZone: 'UTC' });
    // The same values again change nothing and write nothing.
    const same = await api('PATCH', `/api/v1/guilds/${GUILD}`, { name: 'Lecture hall B' });
    expect(same.statusCode).toBe(200);
    expect(await eventsOf(same)).toEqual([]);
    for (const body of [{}, { name: '' }, { time_zone: 'Mars/Olympus_Mons' }, { tracking_mode: 'off' }])
      expect((await api('PATCH', `/api/v1/guilds/${GUILD}`, body)).statusCode, JSON.stringify(body)).toBe(
        400,
      );
    expect((await api('PATCH', '/api/v1/guilds/780000000000000008', { name: 'x' })).statusCode).toBe(404);
  });

  it('then the inbound webhook, signing and public verification work for it', async () => {
    const keys = await api('POST', `/api/v1/guilds/${GUILD}/signing/generate-keys`, {
      passphrase: 'a passphrase long enough for the key',
    });
    expect(keys.statusCode, keys.body).toBe(201);
    const joined = await voiceWebhook(ctl.app, WEBHOOK_SECRET, GUILD, ALICE, ROOM);
    expect(joined.statusCode, joined.body).toBe(200);
    expect(joined.json().data.open_session_id).toEqual(expect.any(String));
    nowMs += 20 * 60_000;
    const left = await voiceWebhook(ctl.app, WEBHOOK_SECRET, GUILD, ALICE, null);
    expect(left.json().data.stored).toBe(1);
    const session = await ctl.db.voiceSession.findFirstOrThrow({ where: { guildId: GUILD } });
    expect([session.source, Number(session.activeMs), session.signedAt !== null]).toEqual([
      'webhook',
      20 * 60_000,
      true,
    ]);
    const verified = await ctl.app.inject({ method: 'GET', url: `/api/v1/verify/session/${session.id}` });
    expect(verified.json().data).toEqual({ valid: true, key_id: keys.json().data.key_id });
    const board = await api('GET', `/api/v1/guilds/${GUILD}/leaderboard`);
    expect(board.json().data.entries.map((e: { user_id: string }) => e.user_id)).toEqual([ALICE]);
  });
});
