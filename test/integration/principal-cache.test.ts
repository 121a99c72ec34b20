/**
 * Resolved callers are cached per credential (auth/principal-cache.ts) only while the access
 * generation is unchanged (auth/access-generation.ts). These pin that a change made through
 * one controller denies the very next request on another controller sharing the database
 * (and on itself): token revoke, logout, user disable, grants replaced, role changed.
 * Each first warms the second controller's cache with a successful request.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp, type ControllerApp } from '../../controller/src/app.js';
import { type Db, openDatabase } from '../../controller/src/db/client.js';
import { bearer, type TestController, testController, userWithRole } from '../support/controller.js';

describe(`cached callers and access changes across replicas (${inject('testDb')})`, () => {
  let a: TestController;
  let replicaDb: Db;
  let b: ControllerApp;
  let owner: string;

  const get = (app: ControllerApp | TestController, url: string, token: string) =>
    app.app.inject({ method: 'GET', url, headers: bearer(token) });
  const call = (method: 'POST' | 'PATCH' | 'DELETE', url: string, token: string, payload?: object) =>
    a.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });

  async function apiToken(session: string): Promise<{ id: string; token: string }> {
    const created = await call('POST', '/api/v1/auth/api-tokens', session, { name: 'replica test' });
    expect(created.statusCode).toBe(201);
    return (created.json() as { data: { id: string; token: string } }).data;
  }

  async function userId(username: string): Promise<string> {
    return (await a.db.user.findUniqueOrThrow({ where: { username } })).id;
  }

  /** Warmed on both controllers: the second request on each is answered from the cache. */
  async function expectServedTwice(url: string, token: string): Promise<void> {
    for (const app of [b, b, a, a]) expect((await get(app, url, token)).statusCode).toBe(200);
  }

  async function expectRefusedAtOnce(url: string, token: string, status: number): Promise<void> {
    expect((await get(b, url, token)).statusCode).toBe(status);
    expect((await get(a, url, token)).statusCode).toBe(status);
  }

  beforeAll(async () => {
    a = await testController();
    replicaDb = openDatabase(a.target);
    b = await buildApp({ config: a.config, db: replicaDb, provider: a.target.provider, logger: false });
    await b.app.ready();
    owner = await a.ownerToken();
  });
  afterAll(async () => {
    await b.close();
    await replicaDb.$disconnect();
    await a.stop();
  });

  it('a revoked API token is refused at once on the other controller', async () => {
    const { id, token } = await apiToken(owner);
    await expectServedTwice('/api/v1/auth/me', token);
    expect((await call('DELETE', `/api/v1/auth/api-tokens/${id}`, owner)).statusCode).toBe(204);
    await expectRefusedAtOnce('/api/v1/auth/me', token, 401);
  });

  it('a logged-out session is refused at once on the other controller', async () => {
    const session = await userWithRole(a, 'logout-user', 'viewer');
    await expectServedTwice('/api/v1/auth/me', session);
    expect((await call('POST', '/api/v1/auth/logout', session)).statusCode).toBe(204);
    await expectRefusedAtOnce('/api/v1/auth/me', session, 401);
  });

  it('a disabled user is refused at once on the other controller', async () => {
    const session = await userWithRole(a, 'disabled-user', 'viewer');
    const { token } = await apiToken(session);
    await expectServedTwice('/api/v1/nodes', token);
    const disabled = await call(
      'PATCH',
      `/api/v1/auth/users/${await userId('disabled-user')}/status`,
      owner,
      {
        disabled: true,
      },
    );
    expect(disabled.statusCode).toBe(200);
    await expectRefusedAtOnce('/api/v1/nodes', token, 401);
  });

  it('grants replaced: the other controller checks the new access at once', async () => {
    const session = await userWithRole(a, 'regranted-user', 'viewer');
    const { token } = await apiToken(session);
    await expectServedTwice('/api/v1/nodes', token);
    const updated = await call(
      'PATCH',
      `/api/v1/auth/users/${await userId('regranted-user')}/access`,
      owner,
      {
        grants: [],
      },
    );
    expect(updated.statusCode).toBe(200);
    await expectRefusedAtOnce('/api/v1/nodes', token, 403);
  });

  it("a role losing a permission: the other controller checks its holders' new access at once", async () => {
    const created = await call('POST', '/api/v1/auth/roles', owner, {
      name: 'node-readers',
      permissions: ['node:read'],
    });
    expect(created.statusCode).toBe(201);
    const roleId = (created.json() as { data: { id: string } }).data.id;
    const session = await userWithRole(a, 'role-holder', 'viewer');
    const updated = await call('PATCH', `/api/v1/auth/users/${await userId('role-holder')}/access`, owner, {
      grants: [{ role: 'node-readers', scope: { type: 'fleet' } }],
    });
    expect(updated.statusCode).toBe(200);
    const { token } = await apiToken(await login('role-holder'));
    await expectServedTwice('/api/v1/nodes', token);
    const changed = await call('PATCH', `/api/v1/auth/roles/${roleId}`, owner, {
      permissions: ['recording:read'],
    });
    expect(changed.statusCode).toBe(200);
    await expectRefusedAtOnce('/api/v1/nodes', token, 403);
    expect(session).toBeTruthy();
  });

  async function login(username: string): Promise<string> {
    const response = await a.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username, password: `${username}-password-123` },
    });
    expect(response.statusCode).toBe(200);
    return (response.json() as { data: { token: string } }).data.token;
  }
});
