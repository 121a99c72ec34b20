/**
 * Managing user accounts: list, create, detail with action states, access
 * (grants and groups), password, enable/disable, delete. Every rule of
 * access-guard.ts applies; nobody changes their own access or status.
 */
import type { Config } from '../../config.js';
import { AccessSet } from '../../core/access-set.js';
import type { AuditWriter } from '../../core/audit.types.js';
import { badRequest, conflict, forbidden, hidden, notFound } from '../../core/errors.js';
import { actorOf, type CallContext, type UserPrincipal } from '../../core/principal.js';
import { hashPassword, verifyPassword } from '../../crypto/password.js';
import type { Db, Tx } from '../../db/client.js';
import type { AccessRepository, GrantRow } from './access.repository.js';
import { resolved } from './access.repository.js';
import {
  type AccessGuard,
  distinctGrants,
  type GrantInputLike,
  grantsFleetOwner,
  type PlannedGrant,
  sameScope,
  userOf,
} from './access-guard.js';
import type { AccessPoliciesService } from './access-policies.service.js';
import type { ApiTokensRepository, SessionsRepository } from './auth/sessions.repository.js';
import type { GroupsRepository } from './groups.repository.js';
import type { UserAdminRepository, UserDetailRow } from './users.repository.js';

const SELF_ACCESS = 'You cannot change your own access, status or account; ask another administrator.';
const LAST_OWNER = 'This is the last enabled owner over the whole fleet; make someone else owner first.';

const grantView = (g: GrantRow) => ({ role: g.role.name, scope: { type: g.scopeType, id: g.scopeId } });
const effectiveRows = (row: UserDetailRow): GrantRow[] => [
  ...row.grants,
  ...row.groups.flatMap((m) => m.group.grants),
];
const holdsFleetOwner = (row: UserDetailRow) => grantsFleetOwner(effectiveRows(row));
const toNewGrant = (g: PlannedGrant) => ({ roleId: g.roleId, scopeType: g.scope.type, scopeId: g.scope.id });

export class UserAdminService {
  private readonly db: Db;
  private readonly users: UserAdminRepository;
  private readonly groups: GroupsRepository;
  private readonly access: AccessRepository;
  private readonly sessions: SessionsRepository;
  private readonly apiTokens: ApiTokensRepository;
  private readonly guard: AccessGuard;
  private readonly policies: AccessPoliciesService;
  private readonly audit: AuditWriter;
  private readonly config: Pick<Config, 'scryptLogN'>;
  private readonly now: () => Date;

  constructor(options: {
    db: Db;
    users: UserAdminRepository;
    groups: GroupsRepository;
    access: AccessRepository;
    sessions: SessionsRepository;
    apiTokens: ApiTokensRepository;
    guard: AccessGuard;
    policies: AccessPoliciesService;
    audit: AuditWriter;
    config: Pick<Config, 'scryptLogN'>;
    now?: () => Date;
  }) {
    this.db = options.db;
    this.users = options.users;
    this.groups = options.groups;
    this.access = options.access;
    this.sessions = options.sessions;
    this.apiTokens = options.apiTokens;
    this.guard = options.guard;
    this.policies = options.policies;
    this.audit = options.audit;
    this.config = options.config;
    this.now = options.now ?? (() => new Date());
  }

  present(row: UserDetailRow) {
    return {
      id: row.id,
      username: row.username,
      displayName: row.displayName,
      email: row.email,
      disabled: row.disabled,
      hasPassword: row.passwordHash !== null,
      sso: row.oidcIssuer && row.oidcSubject ? { issuer: row.oidcIssuer, subject: row.oidcSubject } : null,
      grants: row.grants.map(grantView),
      groups: row.groups.map((m) => ({
        id: m.group.id,
        name: m.group.name,
        grants: m.group.grants.map(grantView),
      })),
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    };
  }

  /** The user when the caller manages every scope it holds grants in; 404 otherwise. */
  async visible(tx: Tx | Db, principal: UserPrincipal, id: string): Promise<UserDetailRow> {
    const row = await this.users.find(tx, id);
    if (!row) throw notFound('user');
    const scopes = await this.guard.refs(
      tx,
      effectiveRows(row).map((g) => resolved(g).scope),
    );
    if (!this.guard.manages(principal.access, scopes))
      throw hidden('user', { type: 'user', id }, 'auth:manage');
    return row;
  }

  async list(
    ctx: CallContext,
    query: { q?: string; disabled?: boolean },
    limit: number,
    afterUsername?: string,
  ) {
    const principal = userOf(ctx);
    let ids: string[] | undefined;
    if (!principal.access.hasFleet('auth:manage')) {
      const all = [...(await this.access.scopesOfAllUsers())];
      const refs = await this.guard.refs(
        this.db,
        all.flatMap(([, scopes]) => scopes),
      );
      ids = [];
      let at = 0;
      for (const [id, scopes] of all) {
        if (this.guard.manages(principal.access, refs.slice(at, at + scopes.length))) ids.push(id);
        at += scopes.length;
      }
    }
    return this.users.page({ ...query, ids }, limit, afterUsername);
  }

  async detail(id: string, ctx: CallContext) {
    const principal = userOf(ctx);
    const row = await this.visible(this.db, principal, id);
    return {
      ...this.present(row),
      permissions: new AccessSet(effectiveRows(row).map(resolved)).describe(),
      actions: await this.actions(row, principal),
    };
  }

  /** Action states: what a client could offer for this user, and why not when not. */
  private async actions(row: UserDetailRow, principal: UserPrincipal) {
    const permitted = principal.access.has('auth:manage');
    const self = row.id === principal.userId;
    const lastOwner =
      !row.disabled && holdsFleetOwner(row) && (await this.access.enabledFleetOwners(this.db)) <= 1;
    // An owner's account is an owner's to change (access-guard.ts): the first reason that applies.
    const ownersOnly =
      !self && holdsFleetOwner(row) && !(await this.access.isFleetOwner(this.db, principal.userId))
        ? 'Only an owner over the whole fleet can change an owner.'
        : null;
    const state = (action: string, ownReason: string | null) => {
      const reason = ownReason ?? ownersOnly;
      return {
        action,
        permission: 'auth:manage',
        permitted,
        allowed: permitted && reason === null,
        reason: permitted ? reason : 'You need the auth:manage permission.',
      };
    };
    return [
      state('update_access', self ? 'You cannot change your own access.' : null),
      state('reset_password', null),
      state(
        'enable',
        self ? 'You cannot change your own status.' : row.disabled ? null : 'The user is already enabled.',
      ),
      state(
        'disable',
        self
          ? 'You cannot disable yourself.'
          : row.disabled
            ? 'The user is already disabled.'
            : lastOwner
              ? LAST_OWNER
              : null,
      ),
      state('delete', self ? 'You cannot delete yourself.' : lastOwner ? LAST_OWNER : null),
    ];
  }

  private async passwordHash(password: string | null): Promise<string | null> {
    if (password === null) return null;
    const { minLength } = (await this.policies.get()).password;
    if ([...password].length < minLength)
      throw badRequest(`The password policy needs at least ${minLength} characters.`);
    return hashPassword(password, this.config.scryptLogN);
  }

  /** 400 for unknown groups; 403 unless the caller could give every grant of each group. */
  private async checkJoinable(tx: Tx | Db, principal: UserPrincipal, username: string, groupIds: string[]) {
    const groups = await this.groups.findMany(tx, groupIds);
    const unknown = groupIds.filter((id) => !groups.some((g) => g.id === id));
    if (unknown.length > 0) throw badRequest(`Unknown group ${unknown.join(', ')}.`);
    for (const group of groups) {
      this.guard.assertGrantable(
        principal.access,
        await this.guard.planned(tx, group.grants),
        `add ${username} to group "${group.name}", which grants`,
      );
      await this.guard.assertOwnerFor(
        tx,
        principal,
        grantsFleetOwner(group.grants),
        `add ${username} to group "${group.name}", which grants the owner role`,
      );
    }
  }

  async create(
    input: {
      username: string;
      displayName?: string;
      email?: string;
      password: string | null;
      grants?: GrantInputLike[];
      groups?: string[];
    },
    ctx: CallContext,
  ) {
    const principal = userOf(ctx);
    const { password: _secret, ...attempted } = input;
    const refusal = { action: 'auth.user.create' as const, target: { type: 'user', id: null }, attempted };
    // Every rule is checked before the password is hashed (a core for a good part of a second),
    // so a refused creation costs no hash; checked again under the lock, which decides.
    await this.guard.refusalsAsDenials(refusal, () => this.checkCreatable(this.db, principal, input));
    const passwordHash = await this.passwordHash(input.password);
    const id = await this.guard.refusalsAsDenials(refusal, () =>
      this.db.$transaction(async (tx) => {
        await this.access.lock(tx);
        const { grants, groupIds } = await this.checkCreatable(tx, principal, input);
        const { id } = await this.users.create(tx, {
          username: input.username,
          displayName: input.displayName ?? input.username,
          email: input.email ?? null,
          passwordHash,
        });
        await this.users.replaceGrants(tx, id, grants.map(toNewGrant));
        await this.users.replaceGroups(tx, id, groupIds);
        await this.audit.record(tx, {
          actor: actorOf(principal),
          permission: 'auth:manage',
          action: 'auth.user.create',
          target: { type: 'user', id },
          outcome: 'success',
          after: { ...attempted, hasPassword: passwordHash !== null },
          context: ctx.request,
        });
        return id;
      }),
    );
    return this.detail(id, ctx);
  }

  /** The rules of a new user: a free name, grants and groups the caller may give. */
  private async checkCreatable(
    tx: Tx | Db,
    principal: UserPrincipal,
    input: { username: string; grants?: GrantInputLike[]; groups?: string[] },
  ) {
    if (await this.users.usernameTaken(tx, input.username)) throw usernameTaken(input.username);
    const grants = distinctGrants(await this.guard.plan(tx, input.grants ?? []));
    this.guard.assertGrantable(principal.access, grants);
    await this.guard.assertOwnerFor(tx, principal, grantsFleetOwner(grants), 'give the owner role');
    const groupIds = [...new Set(input.groups ?? [])];
    await this.checkJoinable(tx, principal, input.username, groupIds);
    return { grants, groupIds };
  }

  private accessOf(row: UserDetailRow) {
    return { grants: row.grants.map(grantView), groups: row.groups.map((m) => m.group.name) };
  }

  async updateAccess(id: string, input: { grants?: GrantInputLike[]; groups?: string[] }, ctx: CallContext) {
    const principal = userOf(ctx);
    const action = 'auth.user.access_update';
    await this.guard.refusalsAsDenials({ action, target: { type: 'user', id }, attempted: input }, () =>
      this.db.$transaction(async (tx) => {
        await this.access.lock(tx);
        const row = await this.visible(tx, principal, id);
        if (id === principal.userId) throw forbidden(SELF_ACCESS);
        // Authority before state: an admin changing an owner is refused as such, not as the last owner.
        await this.guard.assertOwnerFor(tx, principal, holdsFleetOwner(row), "change an owner's access");
        if (input.grants) {
          const grants = distinctGrants(await this.guard.plan(tx, input.grants));
          // Grants the user keeps are not re-checked; only what is new must be within the caller's reach.
          const added = grants.filter(
            (g) => !row.grants.some((o) => o.roleId === g.roleId && sameScope(resolved(o).scope, g.scope)),
          );
          this.guard.assertGrantable(principal.access, added);
          await this.users.replaceGrants(tx, id, grants.map(toNewGrant));
        }
        if (input.groups) {
          const groupIds = [...new Set(input.groups)];
          const current = new Set(row.groups.map((m) => m.groupId));
          await this.checkJoinable(
            tx,
            principal,
            row.username,
            groupIds.filter((g) => !current.has(g)),
          );
          await this.users.replaceGroups(tx, id, groupIds);
        }
        await this.guard.assertOwnerRemains(tx);
        const after = (await this.users.find(tx, id))!;
        await this.guard.assertOwnerFor(tx, principal, holdsFleetOwner(after), 'give the owner role');
        const sessionsEnded = await this.sessions.revokeAllOfUser(tx, id, this.now(), principal.sessionId);
        await this.audit.record(tx, {
          actor: actorOf(principal),
          permission: 'auth:manage',
          action,
          target: { type: 'user', id },
          outcome: 'success',
          before: this.accessOf(row),
          after: { ...this.accessOf(after), sessionsEnded },
          context: ctx.request,
        });
      }),
    );
    return this.detail(id, ctx);
  }

  async setPassword(
    id: string,
    input: { password: string | null; currentPassword?: string },
    ctx: CallContext,
  ) {
    const principal = userOf(ctx);
    const self = id === principal.userId;
    const action = 'auth.user.password_set';
    const attempted = { hasPassword: input.password !== null };
    const passwordHash = await this.passwordHash(input.password);
    await this.guard.refusalsAsDenials({ action, target: { type: 'user', id }, attempted }, async () => {
      const current = await this.visible(this.db, principal, id);
      if (self && input.password === null) throw forbidden('You cannot remove your own password.');
      if (!self)
        await this.guard.assertOwnerFor(
          this.db,
          principal,
          holdsFleetOwner(current),
          "set an owner's password",
        );
      if (self && current.passwordHash !== null) {
        const ok =
          input.currentPassword !== undefined &&
          (await verifyPassword(input.currentPassword, current.passwordHash));
        if (!ok) throw forbidden('Give your current password (currentPassword) to change it.');
      }
      await this.db.$transaction(async (tx) => {
        const row = await this.visible(tx, principal, id);
        await this.users.setPasswordHash(tx, id, passwordHash);
        // Everyone signed in as this user must sign in again, except the caller changing their own.
        const sessionsEnded = await this.sessions.revokeAllOfUser(
          tx,
          id,
          this.now(),
          self ? principal.sessionId : undefined,
        );
        await this.audit.record(tx, {
          actor: actorOf(principal),
          permission: 'auth:manage',
          action,
          target: { type: 'user', id },
          outcome: 'success',
          before: { hasPassword: row.passwordHash !== null },
          after: { ...attempted, sessionsEnded },
          context: ctx.request,
        });
      });
    });
    return this.detail(id, ctx);
  }

  async setStatus(id: string, input: { disabled: boolean }, ctx: CallContext) {
    const principal = userOf(ctx);
    const action = input.disabled ? 'auth.user.disable' : 'auth.user.enable';
    await this.guard.refusalsAsDenials({ action, target: { type: 'user', id }, attempted: input }, () =>
      this.db.$transaction(async (tx) => {
        await this.access.lock(tx);
        const row = await this.visible(tx, principal, id);
        if (id === principal.userId) throw forbidden(SELF_ACCESS);
        await this.guard.assertOwnerFor(tx, principal, holdsFleetOwner(row), 'disable or enable an owner');
        await this.users.setDisabled(tx, id, input.disabled);
        let sessionsEnded = 0;
        let apiTokensRevoked = 0;
        if (input.disabled) {
          await this.guard.assertOwnerRemains(tx);
          sessionsEnded = await this.sessions.revokeAllOfUser(tx, id, this.now());
          // Revoked, not suspended: enabling the user again does not bring old tokens back.
          apiTokensRevoked = await this.apiTokens.revokeAllOfUser(tx, id, this.now());
        }
        await this.audit.record(tx, {
          actor: actorOf(principal),
          permission: 'auth:manage',
          action,
          target: { type: 'user', id },
          outcome: 'success',
          before: { disabled: row.disabled },
          after: { disabled: input.disabled, sessionsEnded, apiTokensRevoked },
          context: ctx.request,
        });
      }),
    );
    return this.detail(id, ctx);
  }

  async remove(id: string, ctx: CallContext): Promise<void> {
    const principal = userOf(ctx);
    const action = 'auth.user.delete';
    await this.guard.refusalsAsDenials({ action, target: { type: 'user', id }, attempted: null }, () =>
      this.db.$transaction(async (tx) => {
        await this.access.lock(tx);
        const row = await this.visible(tx, principal, id);
        if (id === principal.userId) throw forbidden(SELF_ACCESS);
        await this.guard.assertOwnerFor(tx, principal, holdsFleetOwner(row), 'delete an owner');
        await this.users.delete(tx, id);
        await this.guard.assertOwnerRemains(tx);
        await this.audit.record(tx, {
          actor: actorOf(principal),
          permission: 'auth:manage',
          action,
          target: { type: 'user', id },
          outcome: 'success',
          before: { ...this.present(row), createdAt: undefined, updatedAt: undefined },
          context: ctx.request,
        });
      }),
    );
  }
}

const usernameTaken = (username: string) => conflict(`The username ${username} is taken.`);
