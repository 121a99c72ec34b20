/**
 * Rate-limit profiles and route assignments: CRUD through the admin API, enforcement
 * by @fastify/rate-limit with our error shape and Retry-After, lifting a limit,
 * refusals (409, 400), permissions, and audit of every write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Method, requestAs } from '../support/api.js';
import { type TestController, testController, userWithRole } from '../support/controller.js';

const BASE = '/api/v1/admin/limits';

describe('rate limits', () => {
  let ctl: TestController;
  let owner: string;
  let viewer: string;
  let operator: string;
  let auditor: string;

  beforeAll(async () => {
    ctl = await testController();
    owner = await ctl.ownerToken();
    viewer = await userWithRole(ctl, 'rl-viewer', 'viewer');
    operator = await userWithRole(ctl, 'rl-operator', 'operator');
    auditor = await userWithRole(ctl, 'rl-auditor', 'auditor');
  });
  afterAll(async () => ctl.stop());

  const call = (token: string, method: Method, url: string, payload?: object) =>
    requestAs(ctl.app, token, method, url, payload);

  async function createProfile(name: string, max: number, windowSeconds = 60) {
    const response = await call(owner, 'POST', `${BASE}/profiles`, { name, max, windowSeconds });
    expect(response.statusCode, response.body).toBe(201);
    return response.json().data as { id: string; name: string; max: number; assignments: number };
  }

  async function assign(route: string, profileId: string) {
    const response = await call(owner, 'POST', `${BASE}/assignments`, { route, profileId });
    expect(response.statusCode, response.body).toBe(201);
    return response.json().data as { id: string; route: string; profile: { id: string } };
  }

  async function lastEvent(action: string) {
    return ctl.db.auditEvent.findFirstOrThrow({ where: { action }, orderBy: { seq: 'desc' } });
  }

  it('creates, lists, updates and deletes profiles, each write audited', async () => {
    const created = await call(owner, 'POST', `${BASE}/profiles`, {
      name: 'burst',
      max: 10,
      windowSeconds: 30,
      description: 'short bursts',
    });
    expect(created.statusCode).toBe(201);
    const profile = created.json().data;
    expect(profile).toMatchObject({ name: 'burst', max: 10, windowSeconds: 30, assignments: 0 });
    const createdEvent = await lastEvent('limits.profile.create');
    expect(createdEvent).toMatchObject({
      outcome: 'success',
      permission: 'settings:manage',
      targetId: profile.id,
      requestId: created.headers['x-request-id'],
    });

    const duplicate = await call(owner, 'POST', `${BASE}/profiles`, {
      name: 'burst',
      max: 1,
      windowSeconds: 1,
    });
    expect(duplicate.statusCode).toBe(409);
    expect((await lastEvent('limits.profile.create')).outcome).toBe('failure');

    const updated = await call(owner, 'PUT', `${BASE}/profiles/${profile.id}`, {
      name: 'burst',
      max: 20,
      windowSeconds: 30,
    });
    expect(updated.statusCode).toBe(200);
    expect(updated.json().data).toMatchObject({ max: 20, description: null });
    const updateEvent = await lastEvent('limits.profile.update');
    expect(JSON.parse(updateEvent.before!)).toMatchObject({ max: 10, description: 'short bursts' });
    expect(JSON.parse(updateEvent.after!)).toMatchObject({ max: 20, description: null });

    const listed = await call(viewer, 'GET', `${BASE}/profiles`);
    expect(listed.statusCode).toBe(200);
    expect(listed.json().data.map((p: { name: string }) => p.name)).toContain('burst');

    expect(
      (await call(owner, 'PUT', `${BASE}/profiles/nope`, { name: 'x', max: 1, windowSeconds: 1 })).statusCode,
    ).toBe(404);
    const deleted = await call(owner, 'DELETE', `${BASE}/profiles/${profile.id}`);
    expect(deleted.statusCode).toBe(204);
    expect((await lastEvent('limits.profile.delete')).targetId).toBe(profile.id);
    expect((await call(owner, 'DELETE', `${BASE}/profiles/${profile.id}`)).statusCode).toBe(404);
  });

  it('validates profile input', async () => {
    for (const payload of [
      { name: 'zero', max: 0, windowSeconds: 60 },
      { name: 'nowindow', max: 1, windowSeconds: 0 },
      { name: '', max: 1, windowSeconds: 60 },
      { name: 'extra', max: 1, windowSeconds: 60, surprise: true },
    ]) {
      const response = await call(owner, 'POST', `${BASE}/profiles`, payload);
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
    }
  });

  it('limits an assigned route to its profile with 429, Retry-After and our error shape, and lifts it', async () => {
    const profile = await createProfile('three-per-minute', 3, 60);
    const assignment = await assign('GET /api/v1/auth/me', profile.id);
    expect(assignment.route).toBe('GET /api/v1/auth/me');
    expect((await lastEvent('limits.assignment.create')).targetId).toBe(assignment.id);

    const me = (token: string) => call(token, 'GET', '/api/v1/auth/me');
    for (let i = 0; i < 3; i++) {
      const ok = await me(viewer);
      expect(ok.statusCode, `call ${i + 1}`).toBe(200);
      expect(ok.headers['x-ratelimit-limit']).toBe('3');
    }
    const limited = await me(viewer);
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(limited.json()).toEqual({
      error: { code: 'rate_limited', message: expect.any(String) },
      requestId: limited.headers['x-request-id'],
    });

    // Counted per caller: another user still has their own three.
    expect((await me(operator)).statusCode).toBe(200);
    // Other routes are not limited.
    expect((await call(viewer, 'GET', `${BASE}/assignments`)).statusCode).toBe(200);

    const listed = await call(viewer, 'GET', `${BASE}/assignments`);
    expect(listed.json().data).toEqual([
      expect.objectContaining({
        id: assignment.id,
        route: 'GET /api/v1/auth/me',
        profile: expect.objectContaining({ max: 3 }),
      }),
    ]);

    const removed = await call(owner, 'DELETE', `${BASE}/assignments/${assignment.id}`);
    expect(removed.statusCode).toBe(204);
    expect((await lastEvent('limits.assignment.delete')).targetId).toBe(assignment.id);
    for (let i = 0; i < 5; i++) expect((await me(viewer)).statusCode).toBe(200);
    await call(owner, 'DELETE', `${BASE}/profiles/${profile.id}`);
  });

  it('applies a changed profile at once', async () => {
    const profile = await createProfile('tight', 1, 60);
    const assignment = await assign('GET /api/v1/auth/api-tokens', profile.id);
    const tokens = () => call(auditor, 'GET', '/api/v1/auth/api-tokens');
    expect((await tokens()).statusCode).toBe(200);
    expect((await tokens()).statusCode).toBe(429);
    const widened = await call(owner, 'PUT', `${BASE}/profiles/${profile.id}`, {
      name: 'tight',
      max: 5,
      windowSeconds: 60,
    });
    expect(widened.statusCode).toBe(200);
    expect((await tokens()).statusCode).toBe(200);
    await call(owner, 'DELETE', `${BASE}/assignments/${assignment.id}`);
    await call(owner, 'DELETE', `${BASE}/profiles/${profile.id}`);
  });

  it('refuses to delete a profile that is still assigned (409)', async () => {
    const profile = await createProfile('in-use', 100);
    const assignment = await assign('GET /api/v1/nodes', profile.id);
    const refused = await call(owner, 'DELETE', `${BASE}/profiles/${profile.id}`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('conflict');
    const failure = await lastEvent('limits.profile.delete');
    expect(failure).toMatchObject({ outcome: 'failure', targetId: profile.id });
    expect(await ctl.db.rateLimitProfile.count({ where: { id: profile.id } })).toBe(1);

    await call(owner, 'DELETE', `${BASE}/assignments/${assignment.id}`);
    expect((await call(owner, 'DELETE', `${BASE}/profiles/${profile.id}`)).statusCode).toBe(204);
  });

  it('accepts only declared routes, once each (400, 404, 409)', async () => {
    const profile = await createProfile('checks', 100);
    for (const route of [
      'GET /api/v1/no-such-route',
      'PATCH /api/v1/auth/me',
      'GET /api/v1/nodes/abc', // a concrete url, not the declared pattern
      'nonsense',
      'GET /api/v1/admin/limits/profiles', // the admin routes stay unlimited
    ]) {
      const response = await call(owner, 'POST', `${BASE}/assignments`, { route, profileId: profile.id });
      expect(response.statusCode, route).toBe(400);
      expect(response.json().error.code).toBe('bad_request');
    }
    expect((await lastEvent('limits.assignment.create')).outcome).toBe('failure');

    const unknownProfile = await call(owner, 'POST', `${BASE}/assignments`, {
      route: 'GET /api/v1/nodes/:id',
      profileId: 'missing',
    });
    expect(unknownProfile.statusCode).toBe(404);

    // Method case is normalised; the pattern must match as declared.
    const first = await call(owner, 'POST', `${BASE}/assignments`, {
      route: 'get /api/v1/nodes/:id',
      profileId: profile.id,
    });
    expect(first.statusCode).toBe(201);
    expect(first.json().data.route).toBe('GET /api/v1/nodes/:id');
    const again = await call(owner, 'POST', `${BASE}/assignments`, {
      route: 'GET /api/v1/nodes/:id',
      profileId: profile.id,
    });
    expect(again.statusCode).toBe(409);
    await call(owner, 'DELETE', `${BASE}/assignments/${first.json().data.id}`);
    expect((await call(owner, 'DELETE', `${BASE}/assignments/${first.json().data.id}`)).statusCode).toBe(404);
  });

  it('needs settings:read to read and settings:manage to write', async () => {
    const profile = await createProfile('perm-check', 100);
    // The auditor and viewer hold settings:read; only owner/admin hold settings:manage.
    for (const token of [viewer, auditor, operator]) {
      expect((await call(token, 'GET', `${BASE}/profiles`)).statusCode).toBe(200);
      expect((await call(token, 'GET', `${BASE}/assignments`)).statusCode).toBe(200);
      const writes = [
        call(token, 'POST', `${BASE}/profiles`, { name: 'x', max: 1, windowSeconds: 1 }),
        call(token, 'PUT', `${BASE}/profiles/${profile.id}`, { name: 'x', max: 1, windowSeconds: 1 }),
        call(token, 'DELETE', `${BASE}/profiles/${profile.id}`),
        call(token, 'POST', `${BASE}/assignments`, { route: 'GET /api/v1/nodes', profileId: profile.id }),
        call(token, 'DELETE', `${BASE}/assignments/any`),
      ];
      for (const response of await Promise.all(writes)) {
        expect(response.statusCode).toBe(403);
        expect(response.json().error.code).toBe('forbidden');
      }
    }
    expect((await ctl.app.inject({ method: 'GET', url: `${BASE}/profiles` })).statusCode).toBe(401);
    const denial = await ctl.db.auditEvent.findFirstOrThrow({
      where: { outcome: 'denied', permission: 'settings:manage' },
      orderBy: { seq: 'desc' },
    });
    expect(denial.action).toMatch(/^http\.(post|put|delete) \/api\/v1\/admin\/limits\//);
    await call(owner, 'DELETE', `${BASE}/profiles/${profile.id}`);
  });

  it('keeps the audit chain intact', async () => {
    expect((await ctl.services.audit.verifyChain()).ok).toBe(true);
  });
});

describe('login throttling per address', () => {
  let ctl: TestController;
  beforeAll(async () => {
    ctl = await testController({ loginFailuresPerAccountPerHour: 100, loginFailuresPerAddressPerHour: 4 });
    await ctl.ownerToken();
  });
  afterAll(async () => ctl.stop());

  it('answers 429 with Retry-After from one address across accounts, existing or not, alike', async () => {
    const login = (username: string, password = 'wrong password!') =>
      ctl.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password } });
    for (const username of ['owner', 'ghost-1', 'owner', 'ghost-2'])
      expect((await login(username)).statusCode).toBe(401);
    const existing = await login('owner');
    const missing = await login('ghost-3');
    for (const blocked of [existing, missing]) {
      expect(blocked.statusCode).toBe(429);
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
      expect(blocked.json().error).toEqual({ code: 'rate_limited', message: expect.any(String) });
    }
    // Same answer whether the account exists: nothing to tell them apart.
    expect(existing.json().error.message.replace(/\d+/g, 'N')).toBe(
      missing.json().error.message.replace(/\d+/g, 'N'),
    );
  });
});
