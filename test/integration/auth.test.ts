import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, OWNER, type TestController, testController } from '../support/controller.js';

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
    expect(actions).toContain('setup.owner_created');
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
