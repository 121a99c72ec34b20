/**
 * No escalation: nobody grants what they do not hold, widens a scope, changes their
 * own access, builds a role from permissions they lack, joins someone to a group
 * they could not grant, or locks the owner out. Each refusal is a 403 (409 for the
 * last-owner state conflict), audited as denied with the attempted change, and
 * writes nothing: the access tables are compared before and after.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Method, requestAs } from '../support/api.js';
import { enrolledNode, type TestController, testController } from '../support/controller.js';

const PASSWORD = 'a perfectly long password';

describe('no escalation', () => {
  let ctl: TestController;
  let owner: string;
  let ownerId: string;
  let north: string;
  let south: string;
  /** admin over site north only */
  let siteAdmin: { id: string; token: string };
  /** auth:manage and node:read over the fleet, nothing else */
  let userManager: { id: string; token: string };
  /** admin over the fleet (not owner) */
  let fleetAdmin: { id: string; token: string };
  /** viewer over site north */
  let sam: string;
  let rootGroup: string;

  const call = (token: string, method: Method, url: string, payload?: object) =>
    requestAs(ctl.app, token, method, `/api/v1${url}`, payload);

  async function user(username: string, grants: object[]): Promise<{ id: string; token: string }> {
    const created = await call(owner, 'POST', '/auth/users', { username, password: PASSWORD, grants });
    expect(created.statusCode, created.body).toBe(201);
    const login = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username, password: PASSWORD },
    });
    return { id: created.json().data.id, token: login.json().data.token };
  }

  /** Everything an access change could write (audit events excluded). */
  async function snapshot() {
    const [users, grants, members, groups, groupGrants, roles, policies, liveSessions] = await Promise.all([
      ctl.db.user.findMany({ orderBy: { id: 'asc' } }),
      ctl.db.grant.findMany({ orderBy: { id: 'asc' } }),
      ctl.db.groupMember.findMany({ orderBy: [{ groupId: 'asc' }, { userId: 'asc' }] }),
      ctl.db.group.findMany({ orderBy: { id: 'asc' } }),
      ctl.db.groupGrant.findMany({ orderBy: { id: 'asc' } }),
      ctl.db.role.findMany({ orderBy: { id: 'asc' } }),
      ctl.db.accessPolicy.findMany({ orderBy: { name: 'asc' } }),
      ctl.db.session.count({ where: { revokedAt: null } }),
    ]);
    return { users, grants, members, groups, groupGrants, roles, policies, liveSessions };
  }

  /** Runs a refused call: status, a denied audit event carrying the attempt, nothing written. */
  async function expectRefused(
    run: () => Promise<LightMyRequestResponse>,
    expected: { status: 403 | 409; action: string; message: RegExp },
  ): Promise<void> {
    const before = await snapshot();
    const lastSeq = (await ctl.db.auditEvent.aggregate({ _max: { seq: true } }))._max.seq ?? 0;
    const response = await run();
    expect(response.statusCode, response.body).toBe(expected.status);
    expect(response.json().error.message).toMatch(expected.message);
    expect(await snapshot()).toEqual(before);
    const events = await ctl.db.auditEvent.findMany({ where: { seq: { gt: lastSeq } } });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: expected.action,
      outcome: 'denied',
      permission: 'auth:manage',
      requestId: response.headers['x-request-id'],
    });
    expect(events[0]!.reason).toMatch(expected.message);
    expect(events[0]!.after).not.toBeNull();
  }

  beforeAll(async () => {
    ctl = await testController();
    owner = await ctl.ownerToken();
    ownerId = (await call(owner, 'GET', '/auth/me')).json().data.user.id;
    north = (await enrolledNode(ctl, { id: 'north-1', site: 'north' })).siteId;
    south = (await enrolledNode(ctl, { id: 'south-1', site: 'south' })).siteId;
    const role = await call(owner, 'POST', '/auth/roles', {
      name: 'user-manager',
      permissions: ['auth:manage', 'node:read'],
    });
    expect(role.statusCode, role.body).toBe(201);
    siteAdmin = await user('site-admin', [{ role: 'admin', scope: { type: 'site', id: north } }]);
    userManager = await user('user-manager', [{ role: 'user-manager', scope: { type: 'fleet' } }]);
    fleetAdmin = await user('fleet-admin', [{ role: 'admin', scope: { type: 'fleet' } }]);
    sam = (await user('sam', [{ role: 'viewer', scope: { type: 'site', id: north } }])).id;
    const group = await call(owner, 'POST', '/auth/groups', {
      name: 'root',
      grants: [{ role: 'owner', scope: { type: 'fleet' } }],
    });
    rootGroup = group.json().data.id;
  });
  afterAll(async () => ctl.stop());

  it('refuses granting a permission the caller lacks', async () => {
    await expectRefused(
      () =>
        call(userManager.token, 'PATCH', `/auth/users/${sam}/access`, {
          grants: [{ role: 'operator', scope: { type: 'fleet' } }],
        }),
      { status: 403, action: 'auth.user.access_update', message: /role "operator" over the whole fleet/ },
    );
    await expectRefused(
      () =>
        call(userManager.token, 'POST', '/auth/users', {
          username: 'new-operator',
          password: PASSWORD,
          grants: [{ role: 'operator', scope: { type: 'site', id: north } }],
        }),
      { status: 403, action: 'auth.user.create', message: /you do not hold/ },
    );
    const event = await ctl.db.auditEvent.findFirstOrThrow({
      where: { action: 'auth.user.create', outcome: 'denied' },
    });
    expect(JSON.parse(event.after!)).toMatchObject({ username: 'new-operator' });
    expect(event.after).not.toContain(PASSWORD);
  });

  it('refuses widening a scope: a site admin cannot grant over the fleet or another site', async () => {
    await expectRefused(
      () =>
        call(siteAdmin.token, 'PATCH', `/auth/users/${sam}/access`, {
          grants: [{ role: 'viewer', scope: { type: 'fleet' } }],
        }),
      { status: 403, action: 'auth.user.access_update', message: /over the whole fleet/ },
    );
    await expectRefused(
      () =>
        call(siteAdmin.token, 'PATCH', `/auth/users/${sam}/access`, {
          grants: [{ role: 'viewer', scope: { type: 'site', id: south } }],
        }),
      { status: 403, action: 'auth.user.access_update', message: new RegExp(`over site ${south}`) },
    );
    // Within its own site the same admin may grant.
    const ok = await call(siteAdmin.token, 'PATCH', `/auth/users/${sam}/access`, {
      grants: [{ role: 'operator', scope: { type: 'site', id: north } }],
    });
    expect(ok.statusCode, ok.body).toBe(200);
    // Users holding grants outside the site admin's reach are not visible to it.
    expect((await call(siteAdmin.token, 'GET', `/auth/users/${fleetAdmin.id}`)).statusCode).toBe(404);
    const listed = (await call(siteAdmin.token, 'GET', '/auth/users'))
      .json()
      .data.map((u: { id: string }) => u.id);
    expect(listed).toContain(sam);
    expect(listed).not.toContain(fleetAdmin.id);
  });

  it('refuses changing your own access or status', async () => {
    await expectRefused(
      () =>
        call(siteAdmin.token, 'PATCH', `/auth/users/${siteAdmin.id}/access`, {
          grants: [{ role: 'viewer', scope: { type: 'site', id: north } }],
        }),
      { status: 403, action: 'auth.user.access_update', message: /your own/ },
    );
    await expectRefused(() => call(owner, 'PATCH', `/auth/users/${ownerId}/status`, { disabled: true }), {
      status: 403,
      action: 'auth.user.disable',
      message: /your own/,
    });
    await expectRefused(() => call(fleetAdmin.token, 'DELETE', `/auth/users/${fleetAdmin.id}`), {
      status: 403,
      action: 'auth.user.delete',
      message: /your own/,
    });
  });

  it('refuses creating or editing a role with a permission the caller lacks', async () => {
    await expectRefused(
      () =>
        call(userManager.token, 'POST', '/auth/roles', {
          name: 'deleter',
          permissions: ['node:read', 'recording:delete'],
        }),
      { status: 403, action: 'auth.role.create', message: /recording:delete/ },
    );
    const roles = (await call(owner, 'GET', '/auth/roles')).json().data;
    const custom = await call(owner, 'POST', '/auth/roles', { name: 'reader', permissions: ['node:read'] });
    const readerId = custom.json().data.id;
    await expectRefused(
      () =>
        call(userManager.token, 'PATCH', `/auth/roles/${readerId}`, {
          permissions: ['node:read', 'audit:read'],
        }),
      { status: 403, action: 'auth.role.update', message: /audit:read/ },
    );
    // A role granted over the fleet cannot be widened by someone holding the permission on one site only.
    await call(owner, 'PATCH', `/auth/users/${sam}/access`, {
      grants: [
        { role: 'operator', scope: { type: 'site', id: north } },
        { role: 'reader', scope: { type: 'fleet' } },
      ],
    });
    await expectRefused(
      () =>
        call(siteAdmin.token, 'PATCH', `/auth/roles/${readerId}`, {
          permissions: ['node:read', 'node:manage'],
        }),
      { status: 403, action: 'auth.role.update', message: /whole fleet/ },
    );
    const owner_ = roles.find((r: { name: string }) => r.name === 'owner');
    await expectRefused(
      () => call(owner, 'PATCH', `/auth/roles/${owner_.id}`, { permissions: ['node:read'] }),
      {
        status: 409,
        action: 'auth.role.update',
        message: /built-in/,
      },
    );
  });

  it('refuses adding a user to a group whose grants the caller could not give', async () => {
    await expectRefused(() => call(userManager.token, 'PUT', `/auth/groups/${rootGroup}/members/${sam}`), {
      status: 403,
      action: 'auth.group.member_add',
      message: /group "root", which grants role "owner"/,
    });
    await expectRefused(
      () => call(userManager.token, 'PATCH', `/auth/users/${sam}/access`, { groups: [rootGroup] }),
      { status: 403, action: 'auth.user.access_update', message: /group "root"/ },
    );
    await expectRefused(
      () =>
        call(userManager.token, 'POST', '/auth/groups', {
          name: 'ops',
          grants: [{ role: 'operator', scope: { type: 'fleet' } }],
        }),
      { status: 403, action: 'auth.group.create', message: /role "operator"/ },
    );
    await expectRefused(
      () =>
        call(userManager.token, 'PATCH', '/auth/access-policies', {
          oidcRoleMappings: [{ group: 'admins', role: 'owner', scope: { type: 'fleet' } }],
        }),
      { status: 403, action: 'auth.access_policy.update', message: /role "owner"/ },
    );
    // The group is beyond the site admin's reach altogether.
    expect((await call(siteAdmin.token, 'GET', `/auth/groups/${rootGroup}`)).statusCode).toBe(404);
  });

  it('refuses an admin demoting, disabling or deleting the last owner (an owner is an owner’s to change)', async () => {
    const onlyOwners = /Only an owner over the whole fleet can/;
    await expectRefused(
      () =>
        call(fleetAdmin.token, 'PATCH', `/auth/users/${ownerId}/access`, {
          grants: [{ role: 'admin', scope: { type: 'fleet' } }],
        }),
      { status: 403, action: 'auth.user.access_update', message: onlyOwners },
    );
    await expectRefused(
      () => call(fleetAdmin.token, 'PATCH', `/auth/users/${ownerId}/status`, { disabled: true }),
      { status: 403, action: 'auth.user.disable', message: onlyOwners },
    );
    await expectRefused(() => call(fleetAdmin.token, 'DELETE', `/auth/users/${ownerId}`), {
      status: 403,
      action: 'auth.user.delete',
      message: onlyOwners,
    });
    // Once someone else is owner (here through the root group), the first owner can be demoted.
    expect((await call(owner, 'PUT', `/auth/groups/${rootGroup}/members/${fleetAdmin.id}`)).statusCode).toBe(
      200,
    );
    const demoted = await call(fleetAdmin.token, 'PATCH', `/auth/users/${ownerId}/access`, {
      grants: [{ role: 'admin', scope: { type: 'fleet' } }],
    });
    // fleetAdmin's sessions ended when it joined the group: sign in again first.
    expect(demoted.statusCode).toBe(401);
    const login = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'fleet-admin', password: PASSWORD },
    });
    const again = await call(login.json().data.token, 'PATCH', `/auth/users/${ownerId}/access`, {
      grants: [{ role: 'admin', scope: { type: 'fleet' } }],
    });
    expect(again.statusCode, again.body).toBe(200);
  });
});
