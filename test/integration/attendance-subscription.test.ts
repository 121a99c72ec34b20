/**
 * The plan tier per guild: read by anyone who may read the guild, set only by the
 * controller's operator (settings:manage over the fleet), audited with before/after;
 * what it gates answers 402 plan_required on a free guild, saying how to change plan.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirePlan } from '../../controller/src/modules/attendance/integrations/plan.js';
import { requestAs } from '../support/api.js';
import { type TestController, testController } from '../support/controller.js';

const GUILD = '430000000000000001';
const OTHER_GUILD = '430000000000000002';

describe('subscription', () => {
  let ctl: TestController;
  let owner: string;
  const api = (method: 'GET' | 'PATCH', token: string, payload?: object, guildId = GUILD) =>
    requestAs(ctl.app, token, method, `/api/v1/guilds/${guildId}/subscription`, payload);

  /** A user holding a built-in role over one guild only. */
  async function guildUser(username: string, role: 'admin' | 'viewer'): Promise<string> {
    const { hashPassword } = await import('../../controller/src/crypto/password.js');
    const roleRow = await ctl.db.role.findUniqueOrThrow({ where: { name: role } });
    await ctl.db.user.create({
      data: {
        username,
        displayName: username,
        passwordHash: await hashPassword(`${username}-password`, 10),
        grants: { create: { roleId: roleRow.id, scopeType: 'guild', scopeId: GUILD } },
      },
    });
    const login = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username, password: `${username}-password` },
    });
    return login.json().data.token as string;
  }

  beforeAll(async () => {
    ctl = await testController();
    owner = await ctl.ownerToken();
    await ctl.services.attendance.onGuildAvailable(GUILD, 'Plans', [], null);
    await ctl.services.attendance.onGuildAvailable(OTHER_GUILD, 'Other', [], null);
  });
  afterAll(async () => ctl.stop());

  it('starts free and lists each feature with the tier it needs', async () => {
    const response = await api('GET', owner);
    expect(response.statusCode, response.body).toBe(200);
    const data = response.json().data;
    expect(data).toMatchObject({ guild_id: GUILD, tier: 'free' });
    const byFeature = Object.fromEntries(
      data.features.map((f: { feature: string; required_tier: string; available: boolean }) => [
        f.feature,
        [f.required_tier, f.available],
      ]),
    );
    expect(byFeature).toMatchObject({
      log_destinations: ['free', true],
      period_export: ['pro', false],
      verified_roles: ['pro', false],
      webhooks: ['pro', false],
    });
  });

  it('the operator sets the tier; audited with before and after', async () => {
    const response = await api('PATCH', owner, { tier: 'pro' });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json().data.tier).toBe('pro');
    expect(response.json().data.features.every((f: { available: boolean }) => f.available)).toBe(true);
    expect((await api('GET', owner)).json().data.tier).toBe('pro');
    // The other guild is untouched.
    expect((await api('GET', owner, undefined, OTHER_GUILD)).json().data.tier).toBe('free');
    const audit = await ctl.db.auditEvent.findFirstOrThrow({
      where: { action: 'attendance.subscription.update' },
    });
    expect(audit).toMatchObject({ outcome: 'success', permission: 'settings:manage', targetId: GUILD });
    expect(JSON.parse(audit.before!)).toEqual({ tier: 'free' });
    expect(JSON.parse(audit.after!)).toEqual({ tier: 'pro' });
    expect(audit.requestId).toBe(response.headers['x-request-id']);
  });

  it('refuses a guild admin (settings:manage on the guild only) and a viewer; reads 404 outside scope', async () => {
    const admin = await guildUser('guild-admin', 'admin');
    const viewer = await guildUser('guild-viewer', 'viewer');
    expect((await api('GET', viewer)).statusCode).toBe(200);
    const byAdmin = await api('PATCH', admin, { tier: 'free' });
    expect(byAdmin.statusCode, byAdmin.body).toBe(403);
    expect(byAdmin.json().error.message).toContain('whole fleet');
    // Fleet-wide by nature: refused at the route, before the guild is looked at, and audited.
    const denied = await ctl.db.auditEvent.findFirstOrThrow({
      where: { requestId: byAdmin.headers['x-request-id'] as string },
    });
    expect(denied).toMatchObject({
      actorName: 'guild-admin',
      outcome: 'denied',
      permission: 'settings:manage',
      action: 'http.patch /api/v1/guilds/:guildId/subscription',
    });
    expect((await api('PATCH', viewer, { tier: 'free' })).statusCode).toBe(403);
    expect((await api('GET', viewer, undefined, OTHER_GUILD)).statusCode).toBe(404);
    expect((await api('PATCH', admin, { tier: 'pro' }, OTHER_GUILD)).statusCode).toBe(403);
    expect((await api('GET', owner)).json().data.tier).toBe('pro');
  });

  it('refuses bad input and unknown guilds', async () => {
    for (const body of [{ tier: 'enterprise' }, {}, { tier: 'pro', extra: 1 }, { tier: null }])
      expect((await api('PATCH', owner, body)).statusCode, JSON.stringify(body)).toBe(400);
    expect((await api('GET', owner, undefined, '999999999999999999')).statusCode).toBe(404);
    expect((await api('GET', owner, undefined, 'not-a-guild')).statusCode).toBe(400);
  });

  it('requirePlan names the plan and the way to change it', () => {
    expect(() => requirePlan({ id: GUILD, planTier: 'free' }, 'webhooks')).toThrow(
      expect.objectContaining({
        statusCode: 402,
        code: 'plan_required',
        message: expect.stringMatching(/needs the pro plan.*PATCH \/api\/v1\/guilds\/\d+\/subscription/),
      }),
    );
    expect(() => requirePlan({ id: GUILD, planTier: 'pro' }, 'webhooks')).not.toThrow();
    // An unknown stored tier counts as free.
    expect(() => requirePlan({ id: GUILD, planTier: 'gold' }, 'period_export')).toThrow();
  });
});
