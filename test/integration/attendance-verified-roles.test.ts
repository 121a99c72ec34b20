/**
 * Verified roles end to end, with the real discord.js bot against the local fake
 * Discord: rules are a Pro feature (402 on a free guild); a member who passes a rule's
 * threshold in a period gets the role once (a PUT seen by the fake, one grant row, one
 * audit event); a failed grant is retried on the member's next session; a guild back on
 * the free plan grants nothing; without a bot the rules still work and nothing is tried.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_GRANT_ATTEMPTS } from '../../controller/src/modules/attendance/integrations/verified-roles.service.js';
import { guildApi, voiceWebhook } from '../support/api.js';
import { ownerApiToken, type TestController, testController } from '../support/controller.js';
import { FakeDiscord, type RestCall } from '../support/fake-discord/fake-discord.js';
import { until } from '../support/until.js';

const GUILD = '420000000000000001';
const OTHER_GUILD = '420000000000000002';
const VOICE = '420000000000000011';
const ROLE = '420000000000000021';
const ROLE_2 = '420000000000000022';
const ALICE = '420000000000000101';
const BOB = '420000000000000102';
const CAROL = '420000000000000103';
const DAVE = '420000000000000104';
const WEBHOOK_SECRET = 'verified-roles-webhook-secret';

const roleCalls = (fake: FakeDiscord, userId: string): RestCall[] =>
  fake.restCalls.filter(
    (c) => c.method === 'PUT' && c.path.startsWith(`/guilds/${GUILD}/members/${userId}/roles/`),
  );

describe('verified roles with the Discord bot', () => {
  let fake: FakeDiscord;
  let ctl: TestController;
  let owner: string;
  let nowMs = Date.parse('2026-03-02T10:00:00Z');
  const api = guildApi(
    () => ctl.app,
    () => owner,
    GUILD,
  );
  const guildInput = (members: string[]) => ({
    id: GUILD,
    name: 'Roles',
    channels: [{ id: VOICE, name: 'Voice', type: 2 }],
    roles: [
      { id: ROLE, name: 'Regular', permissions: '0' },
      { id: ROLE_2, name: 'Devoted', permissions: '0' },
    ],
    members: members.map((id) => ({ id, username: `member-${id.slice(-3)}` })),
  });
  /** A session through the bot: join, `minutes` later leave; resolves once it is stored and handled. */
  async function botSession(userId: string, minutes: number): Promise<void> {
    const stored = await ctl.db.voiceSession.count({ where: { guildId: GUILD } });
    fake.voice(GUILD, userId, { channelId: VOICE });
    await until(() => ctl.services.attendance.openSessions(GUILD).some((s) => s.userId === userId));
    nowMs += minutes * 60_000;
    fake.voice(GUILD, userId, { channelId: null });
    await until(async () => (await ctl.db.voiceSession.count({ where: { guildId: GUILD } })) === stored + 1);
    await ctl.services.attendanceEvents.idle();
  }
  /** A session through the inbound webhook (for a member Discord does not know). */
  async function webhookSession(userId: string, minutes: number): Promise<void> {
    const hook = (channelId: string | null) =>
      voiceWebhook(ctl.app, WEBHOOK_SECRET, GUILD, userId, channelId);
    expect((await hook(VOICE)).statusCode).toBe(200);
    nowMs += minutes * 60_000;
    expect((await hook(null)).json().data.stored).toBe(1);
    await ctl.services.attendanceEvents.idle();
  }

  beforeAll(async () => {
    fake = await FakeDiscord.start();
    fake.addGuild(guildInput([ALICE, BOB]));
    ctl = await testController(
      {
        discordBotToken: fake.token,
        discordApiBase: fake.restApiBase,
        attendanceWebhookSecret: WEBHOOK_SECRET,
      },
      () => new Date(nowMs),
    );
    await ctl.start();
    owner = await ownerApiToken(ctl, 'attendance-tests');
    await until(() => ctl.services.discord.isInGuild(GUILD));
    await until(async () => (await api('GET', '/subscription')).statusCode === 200);
    await ctl.services.attendance.onGuildAvailable(OTHER_GUILD, 'Other', [], null);
  });
  afterAll(async () => {
    await ctl?.stop();
    await fake?.stop();
  });

  it('refuses the rules on a free guild with 402 saying which plan and how to change it', async () => {
    for (const [method, path, payload] of [
      ['GET', '/verified-roles', undefined],
      ['POST', '/verified-roles', { role_id: ROLE, threshold_seconds: 600 }],
      ['DELETE', '/verified-roles/00000000-0000-4000-8000-000000000000', undefined],
    ] as const) {
      const response = await api(method, path, payload);
      expect(response.statusCode, `${method} ${path}`).toBe(402);
      expect(response.json().error).toMatchObject({
        code: 'plan_required',
        message: expect.stringContaining('needs the pro plan'),
        details: { feature: 'verified_roles', required_tier: 'pro', current_tier: 'free' },
      });
      expect(response.json().error.message).toContain(`PATCH /api/v1/guilds/${GUILD}/subscription`);
    }
    expect(await ctl.db.verifiedRole.count()).toBe(0);
  });

  let ruleId: string;
  it('creates (201) and updates (200) rules by role id on a Pro guild, audited', async () => {
    expect((await api('PATCH', '/subscription', { tier: 'pro' })).statusCode).toBe(200);
    const created = await api('POST', '/verified-roles', { role_id: ROLE, threshold_seconds: 900 });
    expect(created.statusCode, created.body).toBe(201);
    ruleId = created.json().data.id;
    const updated = await api('POST', '/verified-roles', { role_id: ROLE, threshold_seconds: 600 });
    expect(updated.statusCode, updated.body).toBe(200);
    expect(updated.json().data).toMatchObject({ id: ruleId, role_id: ROLE, threshold_seconds: 600 });
    expect(
      (await api('POST', '/verified-roles', { role_id: ROLE_2, threshold_seconds: 3600 })).statusCode,
    ).toBe(201);
    for (const bad of [
      { role_id: ROLE, threshold_seconds: 0 },
      { role_id: ROLE, threshold_seconds: 1.5 },
      { role_id: 'admin', threshold_seconds: 60 },
      { role_id: ROLE },
    ])
      expect((await api('POST', '/verified-roles', bad)).statusCode, JSON.stringify(bad)).toBe(400);
    const list = (await api('GET', '/verified-roles')).json().data;
    expect(
      list.map((r: { role_id: string; threshold_seconds: number }) => [r.role_id, r.threshold_seconds]),
    ).toEqual([
      [ROLE, 600],
      [ROLE_2, 3600],
    ]);
    const audit = await ctl.db.auditEvent.findMany({
      where: { action: { startsWith: 'attendance.verified_role.' } },
      orderBy: { seq: 'asc' },
    });
    expect(audit.map((e) => e.action)).toEqual([
      'attendance.verified_role.create',
      'attendance.verified_role.update',
      'attendance.verified_role.create',
    ]);
    expect(JSON.parse(audit[1]!.before!)).toMatchObject({ roleId: ROLE, thresholdSeconds: 900 });
    expect(JSON.parse(audit[1]!.after!)).toMatchObject({ roleId: ROLE, thresholdSeconds: 600 });
  });

  it('grants the role once when the threshold is crossed in the period', async () => {
    await botSession(ALICE, 6);
    expect(roleCalls(fake, ALICE)).toHaveLength(0);
    await botSession(ALICE, 5);
    await fake.waitFor(() => roleCalls(fake, ALICE).length === 1, { what: 'the role PUT' });
    const [put] = roleCalls(fake, ALICE);
    expect(put!.path).toBe(`/guilds/${GUILD}/members/${ALICE}/roles/${ROLE}`);
    expect(put!.status).toBe(204);
    expect(fake.memberRoles(GUILD, ALICE)).toEqual([ROLE]);
    const grants = await ctl.db.verifiedRoleGrant.findMany({ where: { userId: ALICE } });
    expect(grants).toEqual([
      expect.objectContaining({ ruleId, periodIndex: 0, status: 'granted', attempts: 1, lastError: null }),
    ]);
    const audit = await ctl.db.auditEvent.findMany({ where: { action: 'attendance.verified_role.grant' } });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ outcome: 'success', actorType: 'system' });
    expect(JSON.parse(audit[0]!.after!)).toMatchObject({
      roleId: ROLE,
      userId: ALICE,
      periodIndex: 0,
      attempt: 1,
    });

    // More time in the same period: no second grant of that role.
    await botSession(ALICE, 2);
    expect(roleCalls(fake, ALICE)).toHaveLength(1);
  });

  it('retries a failed grant on the member’s next session', async () => {
    // Carol is not (yet) a member on Discord: the grant fails there.
    await webhookSession(CAROL, 11);
    await fake.waitFor(() => roleCalls(fake, CAROL).length === 1, { what: 'the first attempt' });
    expect(roleCalls(fake, CAROL)[0]!.status).toBe(404);
    const failed = await ctl.db.verifiedRoleGrant.findFirstOrThrow({ where: { userId: CAROL } });
    expect(failed).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: expect.stringContaining('Unknown Member'),
    });
    const failure = await ctl.db.auditEvent.findFirstOrThrow({
      where: { action: 'attendance.verified_role.grant', outcome: 'failure' },
    });
    expect(failure.reason).toContain('Unknown Member');

    // She joins the server; her next session retries and the role is granted.
    fake.addGuild(guildInput([ALICE, BOB, CAROL]));
    await webhookSession(CAROL, 1);
    await fake.waitFor(() => roleCalls(fake, CAROL).length === 2, { what: 'the retry' });
    expect(fake.memberRoles(GUILD, CAROL)).toEqual([ROLE]);
    expect(await ctl.db.verifiedRoleGrant.findFirstOrThrow({ where: { userId: CAROL } })).toMatchObject({
      status: 'granted',
      attempts: 2,
      lastError: null,
    });
  });

  it(`stops retrying after ${MAX_GRANT_ATTEMPTS} attempts`, async () => {
    await webhookSession(DAVE, 11);
    for (let i = 0; i < MAX_GRANT_ATTEMPTS + 1; i++) await webhookSession(DAVE, 1);
    expect(roleCalls(fake, DAVE)).toHaveLength(MAX_GRANT_ATTEMPTS);
    expect(await ctl.db.verifiedRoleGrant.findFirstOrThrow({ where: { userId: DAVE } })).toMatchObject({
      status: 'failed',
      attempts: MAX_GRANT_ATTEMPTS,
    });
  });

  it('grants again in the next period, and nothing on a guild back on the free plan', async () => {
    expect((await api('POST', '/reset-now')).statusCode).toBe(200);
    await botSession(ALICE, 11);
    await fake.waitFor(() => roleCalls(fake, ALICE).length === 2, { what: 'the grant in period 1' });
    expect(await ctl.db.verifiedRoleGrant.count({ where: { userId: ALICE } })).toBe(2);

    expect((await api('PATCH', '/subscription', { tier: 'free' })).statusCode).toBe(200);
    await botSession(BOB, 70);
    expect(roleCalls(fake, BOB)).toHaveLength(0);
    expect(await ctl.db.verifiedRoleGrant.count({ where: { userId: BOB } })).toBe(0);
    expect((await api('GET', '/verified-roles')).statusCode).toBe(402);
  });

  it('deletes a rule (audited); 404 for an unknown rule or another guild', async () => {
    expect((await api('PATCH', '/subscription', { tier: 'pro' })).statusCode).toBe(200);
    expect((await api('PATCH', '/subscription', { tier: 'pro' }, OTHER_GUILD)).statusCode).toBe(200);
    expect((await api('DELETE', `/verified-roles/${ruleId}`, undefined, OTHER_GUILD)).statusCode).toBe(404);
    expect((await api('DELETE', '/verified-roles/00000000-0000-4000-8000-000000000000')).statusCode).toBe(
      404,
    );
    expect((await api('DELETE', '/verified-roles/not-a-uuid')).statusCode).toBe(400);
    expect((await api('DELETE', `/verified-roles/${ruleId}`)).statusCode).toBe(204);
    expect((await api('DELETE', `/verified-roles/${ruleId}`)).statusCode).toBe(404);
    const audit = await ctl.db.auditEvent.findFirstOrThrow({
      where: { action: 'attendance.verified_role.delete' },
    });
    expect(JSON.parse(audit.before!)).toMatchObject({ ruleId, roleId: ROLE });
    // Its grants go with it; the roles already granted stay on Discord.
    expect(await ctl.db.verifiedRoleGrant.count({ where: { ruleId } })).toBe(0);
    expect(fake.memberRoles(GUILD, ALICE)).toEqual([ROLE]);
  });
});

describe('verified roles without a Discord bot', () => {
  let ctl: TestController;
  let owner: string;
  let nowMs = Date.parse('2026-03-02T10:00:00Z');

  beforeAll(async () => {
    ctl = await testController({ attendanceWebhookSecret: WEBHOOK_SECRET }, () => new Date(nowMs));
    owner = await ownerApiToken(ctl, 'attendance-tests');
    await ctl.services.attendance.onGuildAvailable(GUILD, 'No bot', [], null);
  });
  afterAll(async () => ctl.stop());

  it('keeps the rules and tries no grant', async () => {
    const call = guildApi(
      () => ctl.app,
      () => owner,
      GUILD,
    );
    expect((await call('PATCH', '/subscription', { tier: 'pro' })).statusCode).toBe(200);
    expect((await call('POST', '/verified-roles', { role_id: ROLE, threshold_seconds: 60 })).statusCode).toBe(
      201,
    );
    const hook = (channelId: string | null) => voiceWebhook(ctl.app, WEBHOOK_SECRET, GUILD, ALICE, channelId);
    await hook(VOICE);
    nowMs += 5 * 60_000;
    expect((await hook(null)).json().data.stored).toBe(1);
    await ctl.services.attendanceEvents.idle();
    expect(await ctl.db.verifiedRoleGrant.count()).toBe(0);
  });
});
