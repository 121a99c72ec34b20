import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, OWNER, type TestController, testController, userWithRole } from '../support/controller.js';

describe('setup, login, sessions, API tokens', () => {
  let ctl: TestController;
  beforeAll(async () => {
    ctl = await testController();
  });
  afterAll(async () => ctl.stop());

  it('creates the first owner once, then refuses', async () => {
    const before = await ctl.app.inject({ method: 'GET', url: '/api/v1/setup' });
    expect(before.json()).toEqual({ data: { setupNeeded: true } });
    const first = await ctl.app.inject({ method: 'POST', url: '/api/v1/setup', payload: OWNER });
    expect(first.statusCode).toBe(201);
    const second = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/setup',
      payload: { ...OWNER, username: 'other' },
    });
    expect(second.statusCode).toBe(409);
    expect(second.json().error.code).toBe('conflict');
    expect(second.headers['x-request-id']).toBe(second.json().requestId);
  });

  it('logs in with a cookie and a CSRF token; the cookie alone cannot mutate', async () => {
    const login = await ctl.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: OWNER });
    expect(login.statusCode).toBe(200);
    const { token, csrfToken } = login.json().data;
    const cookie = login.cookies.find((c) => c.name === 'earshot_session');
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.value).toBe(token);

    const me = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      cookies: { earshot_session: token },
    });
    expect(me.statusCode).toBe(200);
    expect(me.json().data.user.username).toBe('owner');
    expect(me.json().data.permissions.map((p: { permission: string }) => p.permission)).toContain(
      'audit:read',
    );

    const noCsrf = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/api-tokens',
      cookies: { earshot_session: token },
      payload: { name: 'x' },
    });
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.json().error.code).toBe('csrf_token_invalid');

    const withCsrf = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/api-tokens',
      cookies: { earshot_session: token },
      headers: { 'x-csrf-token': csrfToken },
      payload: { name: 'x' },
    });
    expect(withCsrf.statusCode).toBe(201);

    const viaBearer = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/api-tokens',
      headers: bearer(token),
      payload: { name: 'y' },
    });
    expect(viaBearer.statusCode).toBe(201);
  });

  it('refuses a wrong password without telling whether the account exists', async () => {
    const wrong = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { ...OWNER, password: 'nope-nope-nope' },
    });
    const missing = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'ghost', password: 'nope-nope-nope' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(missing.statusCode).toBe(401);
    expect(wrong.json().error.message).toBe(missing.json().error.message);
  });

  it('shows an API token once, lists only its hint, and stops accepting it after revoke', async () => {
    const session = (
      await ctl.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: OWNER })
    ).json().data.token;
    const created = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/api-tokens',
      headers: bearer(session),
      payload: { name: 'prometheus' },
    });
    const { id, token, hint } = created.json().data;
    expect(token).toMatch(/^eat_/);
    expect(hint).toBe(`…${token.slice(-4)}`);
    const list = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/auth/api-tokens',
      headers: bearer(session),
    });
    expect(JSON.stringify(list.json())).not.toContain(token);
    expect(
      (await ctl.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(token) })).statusCode,
    ).toBe(200);
    const revoke = await ctl.app.inject({
      method: 'DELETE',
      url: `/api/v1/auth/api-tokens/${id}`,
      headers: bearer(session),
    });
    expect(revoke.statusCode).toBe(204);
    expect(
      (await ctl.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(token) })).statusCode,
    ).toBe(401);
  });

  it('logout revokes the session', async () => {
    const session = (
      await ctl.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: OWNER })
    ).json().data.token;
    expect(
      (await ctl.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: bearer(session) }))
        .statusCode,
    ).toBe(204);
    expect(
      (await ctl.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(session) })).statusCode,
    ).toBe(401);
  });

  it('audits every change and chains the events', async () => {
    const token = await ctl.ownerToken();
    const events = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/audit-events?limit=200',
      headers: bearer(token),
    });
    const actions = events.json().data.map((e: { action: string }) => e.action);
    expect(actions).toContain('setup.owner_create');
    expect(actions).toContain('auth.login');
    expect(actions).toContain('auth.api_token.revoke');
    const verify = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/audit-events/verify',
      headers: bearer(token),
    });
    expect(verify.json().data.ok).toBe(true);
    expect(verify.json().data.checked).toBe(events.json().data.length);
  });
});

describe('session expiry with an injected clock', () => {
  let ctl: TestController;
  let nowMs = Date.parse('2026-01-01T08:00:00Z');
  beforeAll(async () => {
    ctl = await testController({ sessionIdleMinutes: 30, sessionAbsoluteHours: 2 }, () => new Date(nowMs));
    await ctl.ownerToken();
  });
  afterAll(async () => ctl.stop());

  const me = (token: string) =>
    ctl.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(token) });
  const login = async () =>
    (await ctl.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: OWNER })).json().data
      .token as string;

  it('ends a session left idle past the idle window', async () => {
    const token = await login();
    nowMs += 29 * 60_000;
    expect((await me(token)).statusCode).toBe(200);
    nowMs += 31 * 60_000; // 31 min after the last use
    expect((await me(token)).statusCode).toBe(401);
  });

  it('ends a busy session at the absolute limit', async () => {
    const token = await login();
    for (let i = 0; i < 5; i++) {
      nowMs += 20 * 60_000;
      expect((await me(token)).statusCode).toBe(200);
    }
    nowMs += 21 * 60_000; // 2 h 1 min after login, used every 20 min
    expect((await me(token)).statusCode).toBe(401);
  });
});

describe('login throttling', () => {
  let ctl: TestController;
  beforeAll(async () => {
    ctl = await testController({ loginFailuresPerAccountPerHour: 3, loginFailuresPerAddressPerHour: 50 });
    await ctl.ownerToken();
  });
  afterAll(async () => ctl.stop());

  it('answers 429 with Retry-After once an account has too many failures, existing or not', async () => {
    for (const username of [OWNER.username, 'nobody-here']) {
      for (let i = 0; i < 3; i++) {
        const r = await ctl.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          payload: { username, password: 'wrong password!' },
        });
        expect(r.statusCode).toBe(401);
      }
      const blocked = await ctl.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username, password: 'wrong password!' },
      });
      expect(blocked.statusCode).toBe(429);
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
      expect(blocked.json().error.code).toBe('rate_limited');
    }
    // The right password is refused too while throttled.
    const right = await ctl.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: OWNER });
    expect(right.statusCode).toBe(429);
  });
});

describe('changing your own password', () => {
  let ctl: TestController;
  beforeAll(async () => {
    ctl = await testController();
    await userWithRole(ctl, 'vera', 'viewer');
  });
  afterAll(async () => ctl.stop());

  const login = (password: string) =>
    ctl.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'vera', password } });

  it('needs the current password, keeps this session and ends the others', async () => {
    const here = (await login('vera-password-123')).json().data.token;
    const elsewhere = (await login('vera-password-123')).json().data.token;
    const change = (body: object) =>
      ctl.app.inject({
        method: 'PATCH',
        url: '/api/v1/auth/me/password',
        headers: bearer(here),
        payload: body,
      });
    expect(
      (await change({ currentPassword: 'wrong one', password: 'a brand new long password' })).statusCode,
    ).toBe(403);
    expect((await change({ currentPassword: 'vera-password-123', password: 'short' })).statusCode).toBe(400);
    expect(
      (await change({ currentPassword: 'vera-password-123', password: 'a brand new long password' }))
        .statusCode,
    ).toBe(204);
    expect(
      (await ctl.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(here) })).statusCode,
    ).toBe(200);
    expect(
      (await ctl.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(elsewhere) }))
        .statusCode,
    ).toBe(401);
    expect((await login('vera-password-123')).statusCode).toBe(401);
    expect((await login('a brand new long password')).statusCode).toBe(200);
  });
});
