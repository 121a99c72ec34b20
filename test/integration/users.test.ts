/**
 * Managing access through the API: users, action states, groups, custom roles,
 * access policies, and what changes do to sessions (disable, password, refresh).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Method, requestAs } from '../support/api.js';
import {
  enrolledNode,
  OWNER,
  type TestController,
  testController,
  userWithRole,
} from '../support/controller.js';

const PASSWORD = 'a perfectly long password';

describe('users, groups, roles, access policies, sessions', () => {
  let ctl: TestController;
  let owner: string;
  let ownerId: string;

  const call = (token: string, method: Method, url: string, payload?: object) =>
    requestAs(ctl.app, token, method, `/api/v1${url}`, payload);

  async function login(username: string, password = PASSWORD): Promise<string> {
    const response = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username, password },
    });
    expect(response.statusCode, response.body).toBe(200);
    return response.json().data.token;
  }

  async function createUser(username: string, body: object = {}): Promise<string> {
    const response = await call(owner, 'POST', '/auth/users', { username, password: PASSWORD, ...body });
    expect(response.statusCode, response.body).toBe(201);
    return response.json().data.id;
  }

  const status = async (token: string) => (await call(token, 'GET', '/auth/me')).statusCode;

  beforeAll(async () => {
    ctl = await testController();
    owner = await ctl.ownerToken();
    ownerId = (await call(owner, 'GET', '/auth/me')).json().data.user.id;
  });
  afterAll(async () => ctl.stop());

  it('creates, lists, shows and deletes users; passwords follow the policy', async () => {
    const id = await createUser('alice', {
      displayName: 'Alice',
      email: 'alice@example.org',
      grants: [{ role: 'viewer', scope: { type: 'fleet' } }],
    });
    const detail = (await call(owner, 'GET', `/auth/users/${id}`)).json().data;
    expect(detail).toMatchObject({
      username: 'alice',
      displayName: 'Alice',
      email: 'alice@example.org',
      disabled: false,
      hasPassword: true,
      grants: [{ role: 'viewer', scope: { type: 'fleet', id: null } }],
    });
    expect(detail.permissions.map((p: { permission: string }) => p.permission)).toContain('recording:read');
    expect(detail).not.toHaveProperty('passwordHash');

    const list = await call(owner, 'GET', '/auth/users?limit=1');
    expect(list.json().data).toHaveLength(1);
    const next = await call(owner, 'GET', `/auth/users?limit=1&cursor=${list.json().nextCursor}`);
    expect(next.json().data[0].username).not.toBe(list.json().data[0].username);
    expect(
      (await call(owner, 'GET', '/auth/users?q=alic')).json().data.map((u: { id: string }) => u.id),
    ).toEqual([id]);

    const short = await call(owner, 'POST', '/auth/users', { username: 'shorty', password: 'too short' });
    expect(short.statusCode).toBe(400);
    expect(
      (await call(owner, 'POST', '/auth/users', { username: 'alice', password: PASSWORD })).statusCode,
    ).toBe(409);

    const aliceToken = await login('alice');
    expect(await status(aliceToken)).toBe(200);
    expect((await call(owner, 'DELETE', `/auth/users/${id}`)).statusCode).toBe(204);
    expect((await call(owner, 'GET', `/auth/users/${id}`)).statusCode).toBe(404);
    expect(await status(aliceToken)).toBe(401);
  });

  it('keeps usernames unique whatever their case; any case signs in', async () => {
    await createUser('carol.case');
    for (const taken of ['Carol.Case', 'CAROL.CASE']) {
      const refused = await call(owner, 'POST', '/auth/users', { username: taken, password: PASSWORD });
      expect(refused.statusCode, taken).toBe(409);
      expect(refused.json().error.message).toContain(`The username ${taken} is taken`);
    }
    const me = async (token: string) => (await call(token, 'GET', '/auth/me')).json().data.user.username;
    expect(await me(await login('Carol.Case'))).toBe('carol.case');
    // Two names that differ only in case, stored before the rule: each signs in by its exact
    // spelling; another spelling names neither.
    const { passwordHash } = await ctl.db.user.findFirstOrThrow({ where: { username: 'carol.case' } });
    await ctl.db.user.createMany({
      data: ['Legacy.Name', 'legacy.name'].map((username) => ({
        username,
        displayName: username,
        passwordHash,
      })),
    });
    expect(await me(await login('Legacy.Name'))).toBe('Legacy.Name');
    expect(await me(await login('legacy.name'))).toBe('legacy.name');
    const ambiguous = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'LEGACY.NAME', password: PASSWORD },
    });
    expect(ambiguous.statusCode).toBe(401);
  });

  it('creates single-sign-on-only users who cannot log in with a password', async () => {
    const id = await createUser('sso-only', { password: null });
    expect((await call(owner, 'GET', `/auth/users/${id}`)).json().data.hasPassword).toBe(false);
    for (const password of ['', PASSWORD, 'anything at all really']) {
      const response = await ctl.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username: 'sso-only', password: password || 'x' },
      });
      expect(response.statusCode).toBe(401);
    }
  });

  it('shows action states with reasons', async () => {
    const id = await createUser('bob');
    const states = (await call(owner, 'GET', `/auth/users/${id}/actions`)).json().data;
    const byName = Object.fromEntries(states.map((s: { action: string }) => [s.action, s]));
    expect(byName.update_access).toMatchObject({ permitted: true, allowed: true, reason: null });
    expect(byName.disable).toMatchObject({ allowed: true });
    expect(byName.enable).toMatchObject({ allowed: false, reason: expect.stringMatching(/already enabled/) });
    expect(byName.delete).toMatchObject({ allowed: true });

    const self = (await call(owner, 'GET', `/auth/users/${ownerId}`)).json().data.actions;
    const selfBy = Object.fromEntries(self.map((s: { action: string }) => [s.action, s]));
    expect(selfBy.update_access).toMatchObject({
      allowed: false,
      reason: expect.stringMatching(/own access/),
    });
    expect(selfBy.reset_password).toMatchObject({ allowed: true });

    // Seen by another admin, the only owner cannot be disabled or deleted.
    await createUser('admin-1', { grants: [{ role: 'admin', scope: { type: 'fleet' } }] });
    const admin = await login('admin-1');
    const ownerSeen = (await call(admin, 'GET', `/auth/users/${ownerId}/actions`)).json().data;
    const ownerBy = Object.fromEntries(ownerSeen.map((s: { action: string }) => [s.action, s]));
    expect(ownerBy.disable).toMatchObject({
      allowed: false,
      reason: expect.stringMatching(/last enabled owner/),
    });
    expect(ownerBy.delete).toMatchObject({
      allowed: false,
      reason: expect.stringMatching(/last enabled owner/),
    });
    // And an owner's access is an owner's to change (the owner-role test below).
    expect(ownerBy.update_access).toMatchObject({
      allowed: false,
      reason: expect.stringMatching(/Only an owner/),
    });

    await call(owner, 'PATCH', `/auth/users/${id}/status`, { disabled: true });
    const disabled = (await call(owner, 'GET', `/auth/users/${id}/actions`)).json().data;
    const disabledBy = Object.fromEntries(disabled.map((s: { action: string }) => [s.action, s]));
    expect(disabledBy.enable).toMatchObject({ allowed: true, reason: null });
    expect(disabledBy.disable).toMatchObject({
      allowed: false,
      reason: expect.stringMatching(/already disabled/),
    });
  });

  it("gives group members the group's permissions", async () => {
    const id = await createUser('carol');
    const carol = await login('carol');
    expect((await call(carol, 'GET', '/audit-events')).statusCode).toBe(403);

    const group = await call(owner, 'POST', '/auth/groups', {
      name: 'auditors',
      oidcGroup: 'idp-auditors',
      grants: [{ role: 'auditor', scope: { type: 'fleet' } }],
    });
    expect(group.statusCode, group.body).toBe(201);
    const groupId = group.json().data.id;
    const added = await call(owner, 'PUT', `/auth/groups/${groupId}/members/${id}`);
    expect(added.statusCode, added.body).toBe(200);
    expect(added.json().data.members.map((m: { username: string }) => m.username)).toEqual(['carol']);
    // An access change ends the member's sessions; the next sign-in carries the group's grants.
    expect(await status(carol)).toBe(401);
    const again = await login('carol');
    expect((await call(again, 'GET', '/audit-events')).statusCode).toBe(200);
    const detail = (await call(owner, 'GET', `/auth/users/${id}`)).json().data;
    expect(detail.groups).toEqual([
      { id: groupId, name: 'auditors', grants: [{ role: 'auditor', scope: { type: 'fleet', id: null } }] },
    ]);

    const list = (await call(owner, 'GET', '/auth/groups')).json().data;
    expect(list.map((g: { name: string }) => g.name)).toContain('auditors');
    expect((await call(owner, 'DELETE', `/auth/groups/${groupId}/members/${id}`)).statusCode).toBe(204);
    const third = await login('carol');
    expect((await call(third, 'GET', '/audit-events')).statusCode).toBe(403);
    expect(
      (await call(owner, 'PATCH', `/auth/groups/${groupId}`, { description: 'read the trail' })).statusCode,
    ).toBe(200);
    expect((await call(owner, 'DELETE', `/auth/groups/${groupId}`)).statusCode).toBe(204);
  });

  it('keeps the owner role an owner’s to give and take: an admin over the fleet cannot replace the owners', async () => {
    await createUser('fleet-admin', { grants: [{ role: 'admin', scope: { type: 'fleet' } }] });
    const admin = await login('fleet-admin');
    const target = await createUser('would-be-owner');
    const second = await createUser('second-owner', {
      grants: [{ role: 'owner', scope: { type: 'fleet' } }],
    });
    const ownerGrant = [{ role: 'owner', scope: { type: 'fleet' } }];
    const denialsBefore = await ctl.db.auditEvent.count({
      where: { outcome: 'denied', actorName: 'fleet-admin' },
    });

    const refusals: [Method, string, object | undefined][] = [
      ['POST', '/auth/users', { username: 'made-owner', password: PASSWORD, grants: ownerGrant }],
      ['PATCH', `/auth/users/${target}/access`, { grants: ownerGrant }],
      ['PATCH', `/auth/users/${second}/access`, { grants: [] }],
      ['PATCH', `/auth/users/${second}/status`, { disabled: true }],
      ['PATCH', `/auth/users/${second}/password`, { password: 'another long password' }],
      ['DELETE', `/auth/users/${ownerId}`, undefined],
      ['POST', '/auth/groups', { name: 'owners', grants: ownerGrant }],
    ];
    for (const [method, url, body] of refusals) {
      const refused = await call(admin, method, url, body);
      expect(refused.statusCode, `${method} ${url}: ${refused.body}`).toBe(403);
      expect(refused.json().error.message, url).toMatch(/Only an owner over the whole fleet/);
    }
    expect(await ctl.db.auditEvent.count({ where: { outcome: 'denied', actorName: 'fleet-admin' } })).toBe(
      denialsBefore + refusals.length,
    );
    // The action states tell the admin so before it tries.
    const actions = (await call(admin, 'GET', `/auth/users/${second}`)).json().data.actions as {
      action: string;
      allowed: boolean;
      reason: string | null;
    }[];
    for (const action of actions) {
      expect(action.allowed, action.action).toBe(false);
      expect(action.reason, action.action).toMatch(/owner|already/);
    }
    expect(actions.find((a) => a.action === 'disable')?.reason).toMatch(/Only an owner/);
    // A group that grants owner: its members and grants are an owner's to change too.
    const group = await call(owner, 'POST', '/auth/groups', { name: 'owner-group', grants: ownerGrant });
    expect(group.statusCode, group.body).toBe(201);
    const groupId = group.json().data.id;
    expect((await call(admin, 'PUT', `/auth/groups/${groupId}/members/${target}`)).statusCode).toBe(403);
    expect((await call(admin, 'PATCH', `/auth/groups/${groupId}`, { grants: [] })).statusCode).toBe(403);
    expect((await call(admin, 'DELETE', `/auth/groups/${groupId}`)).statusCode).toBe(403);
    expect(
      (await call(admin, 'PATCH', `/auth/users/${target}/access`, { groups: [groupId] })).statusCode,
    ).toBe(403);
    const mapped = await call(admin, 'PATCH', '/auth/access-policies', {
      oidcRoleMappings: [{ group: 'idp-owners', role: 'owner', scope: { type: 'fleet' } }],
    });
    expect(mapped.statusCode, mapped.body).toBe(403);
    expect(mapped.json().error.message).toMatch(/Only an owner over the whole fleet/);
    // Nothing changed; an owner does all of it, and the admin still manages everyone else.
    expect((await call(owner, 'GET', `/auth/users/${target}`)).json().data.grants).toEqual([]);
    expect((await call(owner, 'GET', `/auth/users/${second}`)).json().data.disabled).toBe(false);
    expect(
      (await call(owner, 'PATCH', `/auth/users/${target}/access`, { grants: ownerGrant })).statusCode,
    ).toBe(200);
    expect((await call(owner, 'PATCH', `/auth/users/${second}/status`, { disabled: true })).statusCode).toBe(
      200,
    );
    expect((await call(owner, 'DELETE', `/auth/groups/${groupId}`)).statusCode).toBe(204);
    const viewer = await createUser('plain-viewer', {
      grants: [{ role: 'viewer', scope: { type: 'fleet' } }],
    });
    expect((await call(admin, 'PATCH', `/auth/users/${viewer}/status`, { disabled: true })).statusCode).toBe(
      200,
    );
    expect((await call(admin, 'DELETE', `/auth/users/${viewer}`)).statusCode).toBe(204);
  });

  it('says a site grant takes the site id when given a name', async () => {
    const refused = await call(owner, 'POST', '/auth/users', {
      username: 'by-site-name',
      password: PASSWORD,
      grants: [{ role: 'viewer', scope: { type: 'site', id: 'main-hall' } }],
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.message).toMatch(
      /Unknown site main-hall: a site scope takes the site's id, not its name/,
    );
  });

  it('manages custom roles; built-in roles are fixed', async () => {
    const created = await call(owner, 'POST', '/auth/roles', {
      name: 'listener',
      description: 'Listens live',
      permissions: ['node:read', 'listen:monitor'],
    });
    expect(created.statusCode, created.body).toBe(201);
    const roleId = created.json().data.id;
    expect(created.json().data).toMatchObject({
      builtIn: false,
      permissions: ['node:read', 'listen:monitor'],
    });

    const id = await createUser('dave', { grants: [{ role: 'listener', scope: { type: 'fleet' } }] });
    const dave = await login('dave');
    const perms = (await call(dave, 'GET', '/auth/me'))
      .json()
      .data.permissions.map((p: { permission: string }) => p.permission);
    expect(perms.sort()).toEqual(['listen:monitor', 'node:read']);

    const patched = await call(owner, 'PATCH', `/auth/roles/${roleId}`, { permissions: ['node:read'] });
    expect(patched.json().data.permissions).toEqual(['node:read']);
    const roles = (await call(owner, 'GET', '/auth/roles')).json().data;
    const viewer = roles.find((r: { name: string }) => r.name === 'viewer');
    expect(viewer.builtIn).toBe(true);
    expect((await call(owner, 'PATCH', `/auth/roles/${viewer.id}`, { description: 'x' })).statusCode).toBe(
      409,
    );
    expect((await call(owner, 'DELETE', `/auth/roles/${viewer.id}`)).statusCode).toBe(409);
    expect((await call(owner, 'DELETE', `/auth/roles/${roleId}`)).statusCode).toBe(409);
    expect((await call(owner, 'PATCH', `/auth/users/${id}/access`, { grants: [] })).statusCode).toBe(200);
    expect((await call(owner, 'DELETE', `/auth/roles/${roleId}`)).statusCode).toBe(204);
  });

  it('round-trips access policies and applies the password policy', async () => {
    const defaults = (await call(owner, 'GET', '/auth/access-policies')).json().data;
    expect(defaults).toEqual({
      password: { minLength: 12 },
      sessions: { maxIdleMinutes: null, maxAbsoluteMinutes: null },
      oidcRoleMappings: [],
    });
    const patch = {
      password: { minLength: 20 },
      sessions: { maxIdleMinutes: 15, maxAbsoluteMinutes: 240 },
      oidcRoleMappings: [{ group: 'ops', role: 'operator', scope: { type: 'fleet' } }],
    };
    const updated = await call(owner, 'PATCH', '/auth/access-policies', patch);
    expect(updated.statusCode, updated.body).toBe(200);
    expect(updated.json().data).toEqual(patch);
    expect((await call(owner, 'GET', '/auth/access-policies')).json().data).toEqual(patch);
    expect(await ctl.services.accessPolicies.get()).toEqual(patch);

    const short = await call(owner, 'POST', '/auth/users', {
      username: 'erin',
      password: 'only sixteen chr',
    });
    expect(short.statusCode).toBe(400);
    expect(short.json().error.message).toMatch(/at least 20/);
    // A creation the other rules refuse is refused for them, before its password is checked or
    // hashed (a taken name, an unknown role): no hash is spent on a refused request.
    for (const [body, message] of [
      [{ username: 'owner' }, /is taken/],
      [{ username: 'erin', grants: [{ role: 'no-such-role', scope: { type: 'fleet' } }] }, /Unknown role/],
    ] as const) {
      const refused = await call(owner, 'POST', '/auth/users', { ...body, password: 'only sixteen chr' });
      expect(refused.statusCode, refused.body).toBeGreaterThanOrEqual(400);
      expect(refused.json().error.message).toMatch(message);
    }
    const unknownRole = await call(owner, 'PATCH', '/auth/access-policies', {
      oidcRoleMappings: [{ group: 'x', role: 'no-such-role', scope: { type: 'fleet' } }],
    });
    expect(unknownRole.statusCode).toBe(400);

    // New sessions are capped by the policy.
    const login = await ctl.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: OWNER });
    // The server's clock read before ours: its expiry can be at most 240 minutes from now.
    const expiresAt = new Date(login.json().data.expiresAt).getTime();
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 240 * 60_000);

    await call(owner, 'PATCH', '/auth/access-policies', {
      password: { minLength: 12 },
      sessions: { maxIdleMinutes: null, maxAbsoluteMinutes: null },
    });
  });

  it('disabling a user ends all their sessions at once', async () => {
    const id = await createUser('frank', { grants: [{ role: 'viewer', scope: { type: 'fleet' } }] });
    const first = await login('frank');
    const second = await login('frank');
    const apiToken = (await call(first, 'POST', '/auth/api-tokens', { name: 'script' })).json().data.token;
    expect(await status(apiToken)).toBe(200);

    const disabled = await call(owner, 'PATCH', `/auth/users/${id}/status`, { disabled: true });
    expect(disabled.statusCode, disabled.body).toBe(200);
    expect(disabled.json().data.disabled).toBe(true);
    for (const token of [first, second, apiToken]) expect(await status(token)).toBe(401);
    expect(await ctl.db.session.count({ where: { userId: id, revokedAt: null } })).toBe(0);
    const refused = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'frank', password: PASSWORD },
    });
    expect(refused.statusCode).toBe(401);

    expect((await call(owner, 'PATCH', `/auth/users/${id}/status`, { disabled: false })).statusCode).toBe(
      200,
    );
    expect(await status(await login('frank'))).toBe(200);
  });

  it("a password change ends the user's other sessions", async () => {
    const id = await createUser('grace', { grants: [{ role: 'admin', scope: { type: 'fleet' } }] });
    const current = await login('grace');
    const other = await login('grace');
    const newPassword = 'grace has a brand new password';

    const wrong = await call(current, 'PATCH', `/auth/users/${id}/password`, {
      password: newPassword,
      currentPassword: 'not the password',
    });
    expect(wrong.statusCode).toBe(403);
    expect(await status(other)).toBe(200);

    const changed = await call(current, 'PATCH', `/auth/users/${id}/password`, {
      password: newPassword,
      currentPassword: PASSWORD,
    });
    expect(changed.statusCode, changed.body).toBe(200);
    expect(await status(current)).toBe(200);
    expect(await status(other)).toBe(401);
    const fresh = await login('grace', newPassword);

    // Reset by someone else: every session of the user ends.
    const reset = await call(owner, 'PATCH', `/auth/users/${id}/password`, { password: PASSWORD });
    expect(reset.statusCode).toBe(200);
    expect(await status(current)).toBe(401);
    expect(await status(fresh)).toBe(401);
    await login('grace');
  });

  it('refresh rotates the session: new token and CSRF token, the old token stops working', async () => {
    const first = await ctl.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: OWNER });
    const { token, csrfToken, expiresAt } = first.json().data;
    const withoutCsrf = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      cookies: { earshot_session: token },
    });
    expect(withoutCsrf.statusCode).toBe(403);

    const refreshed = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      cookies: { earshot_session: token },
      headers: { 'x-csrf-token': csrfToken },
    });
    expect(refreshed.statusCode, refreshed.body).toBe(200);
    const next = refreshed.json().data;
    expect(next.token).not.toBe(token);
    expect(next.csrfToken).not.toBe(csrfToken);
    expect(next.expiresAt).toBe(expiresAt);
    expect(refreshed.cookies.find((c) => c.name === 'earshot_session')?.value).toBe(next.token);

    const old = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      cookies: { earshot_session: token },
    });
    expect(old.statusCode).toBe(401);
    const replay = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      cookies: { earshot_session: token },
      headers: { 'x-csrf-token': csrfToken },
    });
    expect(replay.statusCode).toBe(401);
    const mutate = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/api-tokens',
      cookies: { earshot_session: next.token },
      headers: { 'x-csrf-token': next.csrfToken },
      payload: { name: 'after-refresh' },
    });
    expect(mutate.statusCode).toBe(201);
    const events = await ctl.db.auditEvent.findMany({
      where: { action: 'auth.session.refresh', outcome: 'success' },
    });
    expect(events).toHaveLength(1);

    // API tokens have no idle window to refresh.
    const apiToken = mutate.json().data.token;
    expect((await call(apiToken, 'POST', '/auth/refresh')).statusCode).toBe(403);
  });

  it('pages roles, groups and API tokens like every list: each once, in order, to the end', async () => {
    type Page = {
      data: { id: string; name: string; builtIn?: boolean; createdAt?: string }[];
      nextCursor: string | null;
    };
    async function walk(token: string, url: string, limit: number) {
      const seen: Page['data'] = [];
      let cursor: string | null = null;
      do {
        const query: string = `limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
        const response = await call(token, 'GET', `${url}?${query}`);
        expect(response.statusCode, response.body).toBe(200);
        const page = response.json() as Page;
        expect(page.data.length).toBeLessThanOrEqual(limit);
        seen.push(...page.data);
        cursor = page.nextCursor;
      } while (cursor);
      return seen;
    }
    for (const name of ['paged-b', 'paged-a', 'paged-c'])
      expect(
        (await call(owner, 'POST', '/auth/roles', { name, permissions: ['node:read'] })).statusCode,
      ).toBe(201);
    const roles = await walk(owner, '/auth/roles', 2);
    const all = (await call(owner, 'GET', '/auth/roles?limit=200')).json().data as Page['data'];
    expect(roles.map((r) => r.id)).toEqual(all.map((r) => r.id));
    // Built-in first, then custom, each by name.
    const firstCustom = roles.findIndex((r) => !r.builtIn);
    expect(roles.slice(firstCustom).every((r) => !r.builtIn)).toBe(true);
    const customNames = roles.slice(firstCustom).map((r) => r.name);
    expect(customNames).toEqual([...customNames].sort());
    expect(customNames).toEqual(expect.arrayContaining(['paged-a', 'paged-b', 'paged-c']));

    // Groups: a site's manager pages through the groups of that site only, every page full.
    const north = await enrolledNode(ctl, { id: 'paged-north-1', site: 'paged-north' });
    const south = await enrolledNode(ctl, { id: 'paged-south-1', site: 'paged-south' });
    const northGroups: string[] = [];
    for (let i = 0; i < 7; i++)
      for (const [site, kept] of [
        [south, undefined],
        [north, northGroups],
      ] as const) {
        const name = `paged-${site === north ? 'n' : 's'}-${i}`;
        const created = await call(owner, 'POST', '/auth/groups', {
          name,
          grants: [{ role: 'viewer', scope: { type: 'site', id: site.siteId } }],
        });
        expect(created.statusCode, created.body).toBe(201);
        kept?.push(name);
      }
    const manager = await userWithRole(ctl, 'paged-north-admin', 'admin', { type: 'site', id: north.siteId });
    const pages: number[] = [];
    let cursor: string | null = null;
    const groups: string[] = [];
    do {
      const page = (
        await call(manager, 'GET', `/auth/groups?limit=3${cursor ? `&cursor=${cursor}` : ''}`)
      ).json() as Page;
      pages.push(page.data.length);
      groups.push(...page.data.map((g) => g.name));
      cursor = page.nextCursor;
    } while (cursor);
    expect(groups).toEqual(northGroups.sort());
    expect(pages.slice(0, 2)).toEqual([3, 3]);

    // Tokens: newest first, revoked ones too, through a cursor.
    const made: string[] = [];
    for (let i = 0; i < 5; i++)
      made.push((await call(owner, 'POST', '/auth/api-tokens', { name: `paged-${i}` })).json().data.id);
    expect((await call(owner, 'DELETE', `/auth/api-tokens/${made[0]}`)).statusCode).toBe(204);
    const tokens = await walk(owner, '/auth/api-tokens', 2);
    expect(new Set(tokens.map((t) => t.id)).size).toBe(tokens.length);
    expect(tokens.map((t) => t.id)).toEqual(expect.arrayContaining(made));
    // Newest first; tokens made in the same millisecond by id, the cursor's tie-break.
    const byAge = (t: { createdAt?: string; id: string }) => `${t.createdAt} ${t.id}`;
    expect(tokens.map(byAge)).toEqual(tokens.map(byAge).sort().reverse());

    for (const url of ['/auth/roles', '/auth/groups', '/auth/api-tokens'])
      expect((await call(owner, 'GET', `${url}?cursor=bm9wZQ`)).statusCode, url).toBe(400);
  });

  it('says what may be done to a group now, and why not, as the changes would answer', async () => {
    const plain = (
      await call(owner, 'POST', '/auth/groups', {
        name: 'actions-viewers',
        grants: [{ role: 'viewer', scope: { type: 'fleet' } }],
      })
    ).json().data.id as string;
    const owners = (
      await call(owner, 'POST', '/auth/groups', {
        name: 'actions-owners',
        grants: [{ role: 'owner', scope: { type: 'fleet' } }],
      })
    ).json().data.id as string;
    type State = { action: string; allowed: boolean; reason: string | null };
    const actions = async (token: string, id: string) => {
      const response = await call(token, 'GET', `/auth/groups/${id}/actions`);
      expect(response.statusCode, response.body).toBe(200);
      return Object.fromEntries((response.json().data as State[]).map((a) => [a.action, a]));
    };
    const all = await actions(owner, plain);
    expect(Object.keys(all).sort()).toEqual([
      'add_member',
      'delete',
      'remove_member',
      'update',
      'update_grants',
    ]);
    expect(Object.values(all).every((a) => a.allowed && a.reason === null)).toBe(true);

    // An admin over the fleet (not an owner): the owners' group is an owner's to change.
    const admin = await userWithRole(ctl, 'actions-admin', 'admin');
    const ownersGroup = await actions(admin, owners);
    expect(ownersGroup.update).toMatchObject({
      allowed: false,
      reason: expect.stringMatching(/^Only an owner/),
    });
    expect(ownersGroup.delete!.allowed).toBe(false);
    const denied = await call(admin, 'PATCH', `/auth/groups/${owners}`, { description: 'mine now' });
    expect(denied.statusCode).toBe(403);

    // A member may not change the group's grants nor delete it; its other fields, yes.
    const adminId = (await call(admin, 'GET', '/auth/me')).json().data.user.id as string;
    expect((await call(owner, 'PUT', `/auth/groups/${plain}/members/${adminId}`)).statusCode).toBe(200);
    const admin2 = await login('actions-admin', 'actions-admin-password-123');
    const asMember = await actions(admin2, plain);
    expect(asMember.update_grants).toMatchObject({ allowed: false, reason: expect.stringMatching(/belong/) });
    expect(asMember.delete!.allowed).toBe(false);
    expect(asMember.update!.allowed).toBe(true);
    expect((await call(admin2, 'DELETE', `/auth/groups/${plain}`)).statusCode).toBe(403);

    // A site's admin: a fleet group is not theirs to see.
    const north = await enrolledNode(ctl, { id: 'actions-north-1', site: 'actions-north' });
    const siteAdmin = await userWithRole(ctl, 'actions-site-admin', 'admin', {
      type: 'site',
      id: north.siteId,
    });
    expect((await call(siteAdmin, 'GET', `/auth/groups/${plain}/actions`)).statusCode).toBe(404);
  });
});
