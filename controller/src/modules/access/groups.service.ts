/**
 * Groups: named sets of users sharing grants, optionally fed by an IdP group at
 * single sign-on. A group is managed like the grants it gives: you see it only when
 * you hold auth:manage wherever it grants, you can give it (or its membership) only
 * what you could grant yourself, and you cannot change a group you belong to.
 */

import type { AuditWriter } from '../../core/audit.types.js';
import { AppError, conflict, forbidden, hidden, notFound } from '../../core/errors.js';
import { decodeCursor, encodeCursor, pageOf } from '../../core/pagination.js';
import type { CallContext, UserPrincipal } from '../../core/principal.js';
import type { Db, Tx } from '../../db/client.js';
import { type AccessRepository, type GrantRow, resolved } from './access.repository.js';
import { recordAccessChange } from './access-audit.js';
import {
  type AccessGuard,
  distinctGrants,
  type GrantInputLike,
  grantsFleetOwner,
  sameScope,
  userOf,
} from './access-guard.js';
import type { SessionsRepository } from './auth/sessions.repository.js';
import type { GroupRow, GroupsRepository } from './groups.repository.js';
import type { UserAdminService } from './users.service.js';

const grantView = (g: GrantRow) => ({ role: g.role.name, scope: { type: g.scopeType, id: g.scopeId } });
const OWN_GROUP = 'You belong to this group: ask another administrator to change it.';

export class GroupsService {
  private readonly db: Db;
  private readonly groups: GroupsRepository;
  private readonly access: AccessRepository;
  private readonly sessions: SessionsRepository;
  private readonly users: UserAdminService;
  private readonly guard: AccessGuard;
  private readonly audit: AuditWriter;
  private readonly now: () => Date;

  constructor(options: {
    db: Db;
    groups: GroupsRepository;
    access: AccessRepository;
    sessions: SessionsRepository;
    users: UserAdminService;
    guard: AccessGuard;
    audit: AuditWriter;
    now?: () => Date;
  }) {
    this.db = options.db;
    this.groups = options.groups;
    this.access = options.access;
    this.sessions = options.sessions;
    this.users = options.users;
    this.guard = options.guard;
    this.audit = options.audit;
    this.now = options.now ?? (() => new Date());
  }

  present(row: GroupRow) {
    return {
      id: row.id,
      name: row.name,
      description: row.description,
      oidcGroup: row.oidcGroup,
      grants: row.grants.map(grantView),
      members: row.members.map((m) => m.user),
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    };
  }

  private async manages(tx: Tx | Db, principal: UserPrincipal, row: GroupRow): Promise<boolean> {
    const scopes = await this.guard.refs(
      tx,
      row.grants.map((g) => resolved(g).scope),
    );
    return this.guard.manages(principal.access, scopes);
  }

  private async visible(tx: Tx | Db, principal: UserPrincipal, id: string): Promise<GroupRow> {
    const row = await this.groups.find(tx, id);
    if (!row) throw notFound('group');
    if (!(await this.manages(tx, principal, row)))
      throw hidden('group', { type: 'group', id }, 'auth:manage');
    return row;
  }

  /**
   * A page of the groups the caller manages, by name; the cursor is the last one's name. Groups
   * are read a page at a time until the page is full of ones the caller manages (or none are left).
   */
  async list(ctx: CallContext, limit: number, cursor?: string) {
    const principal = userOf(ctx);
    const shown: GroupRow[] = [];
    let after = decodeCursor<string>(cursor, 'string');
    for (;;) {
      const rows = await this.groups.page(limit, after);
      for (const row of rows) {
        if (shown.length === limit) break;
        if (await this.manages(this.db, principal, row)) shown.push(row);
      }
      after = rows.at(-1)?.name;
      if (shown.length === limit || rows.length < limit) break;
    }
    return pageOf(
      shown,
      limit,
      (r) => this.present(r),
      (r) => encodeCursor(r.name),
    );
  }

  async detail(id: string, ctx: CallContext) {
    return this.present(await this.visible(this.db, userOf(ctx), id));
  }

  /**
   * What a client could offer for this group, and why not when not: the refusals the changes
   * below would give (a change that would leave no fleet owner is still refused when tried).
   */
  async actions(id: string, ctx: CallContext) {
    const principal = userOf(ctx);
    const row = await this.visible(this.db, principal, id);
    const member = row.members.some((m) => m.userId === principal.userId) ? OWN_GROUP : null;
    const ownersOnly =
      grantsFleetOwner(row.grants) && !(await this.access.isFleetOwner(this.db, principal.userId))
        ? 'Only an owner over the whole fleet can change a group that grants the owner role.'
        : null;
    let ungrantable: string | null = null;
    try {
      this.guard.assertGrantable(
        principal.access,
        await this.guard.planned(this.db, row.grants),
        'add members to a group granting',
      );
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      ungrantable = error.message;
    }
    const state = (action: string, reason: string | null) => ({
      action,
      permission: 'auth:manage',
      permitted: true,
      allowed: reason === null,
      reason,
    });
    return [
      state('update', ownersOnly),
      state('update_grants', member ?? ownersOnly),
      state('add_member', ownersOnly ?? ungrantable),
      state('remove_member', ownersOnly),
      state('delete', member ?? ownersOnly),
    ];
  }

  private async assertNoClash(tx: Tx, input: { name?: string; oidcGroup?: string | null }, id?: string) {
    const clash = await this.groups.clash(tx, input, id);
    if (clash === 'name') throw conflict(`A group named ${input.name} exists.`);
    if (clash === 'oidcGroup') throw conflict(`Another group already maps the IdP group ${input.oidcGroup}.`);
  }

  async create(
    input: { name: string; description?: string; oidcGroup?: string; grants?: GrantInputLike[] },
    ctx: CallContext,
  ) {
    const principal = userOf(ctx);
    const action = 'auth.group.create';
    const id = await this.guard.refusalsAsDenials(
      { action, target: { type: 'group', id: null }, attempted: input },
      () =>
        this.db.$transaction(async (tx) => {
          await this.access.lock(tx);
          await this.assertNoClash(tx, input);
          const grants = await this.guard.plan(tx, input.grants ?? []);
          this.guard.assertGrantable(principal.access, grants);
          await this.guard.assertOwnerFor(
            tx,
            principal,
            grantsFleetOwner(grants),
            'create a group that grants the owner role',
          );
          const { id } = await this.groups.create(tx, {
            name: input.name,
            description: input.description ?? null,
            oidcGroup: input.oidcGroup ?? null,
            grants: distinctGrants(grants).map((g) => ({
              roleId: g.roleId,
              scopeType: g.scope.type,
              scopeId: g.scope.id,
            })),
          });
          await recordAccessChange(this.audit, tx, ctx, {
            action,
            target: { type: 'group', id },
            after: input,
          });
          return id;
        }),
    );
    return this.detail(id, ctx);
  }

  async update(
    id: string,
    input: {
      name?: string;
      description?: string | null;
      oidcGroup?: string | null;
      grants?: GrantInputLike[];
    },
    ctx: CallContext,
  ) {
    const principal = userOf(ctx);
    const action = 'auth.group.update';
    await this.guard.refusalsAsDenials({ action, target: { type: 'group', id }, attempted: input }, () =>
      this.db.$transaction(async (tx) => {
        await this.access.lock(tx);
        const row = await this.visible(tx, principal, id);
        const member = row.members.some((m) => m.userId === principal.userId);
        if (member && input.grants) throw forbidden(OWN_GROUP);
        await this.assertNoClash(tx, input, id);
        let finalGrants = await this.guard.planned(tx, row.grants);
        if (input.grants) {
          finalGrants = distinctGrants(await this.guard.plan(tx, input.grants));
          const added = finalGrants.filter(
            (g) => !row.grants.some((o) => o.roleId === g.roleId && sameScope(resolved(o).scope, g.scope)),
          );
          this.guard.assertGrantable(principal.access, added);
        }
        if (input.oidcGroup && input.oidcGroup !== row.oidcGroup) {
          // Whoever the IdP puts in that group joins this one: the same as adding members.
          this.guard.assertGrantable(
            principal.access,
            finalGrants,
            `map an IdP group onto group "${row.name}", which grants`,
          );
        }
        await this.guard.assertOwnerFor(
          tx,
          principal,
          grantsFleetOwner(row.grants) || grantsFleetOwner(finalGrants),
          'change a group that grants the owner role',
        );
        const { grants: _grants, ...fields } = input;
        await this.groups.update(tx, id, fields);
        if (input.grants) {
          await this.groups.replaceGrants(
            tx,
            id,
            finalGrants.map((g) => ({ roleId: g.roleId, scopeType: g.scope.type, scopeId: g.scope.id })),
          );
          await this.guard.assertOwnerRemains(tx);
        }
        await recordAccessChange(this.audit, tx, ctx, {
          action,
          target: { type: 'group', id },
          before: this.present(row),
          after: this.present((await this.groups.find(tx, id))!),
        });
      }),
    );
    return this.detail(id, ctx);
  }

  async remove(id: string, ctx: CallContext): Promise<void> {
    const principal = userOf(ctx);
    const action = 'auth.group.delete';
    await this.guard.refusalsAsDenials({ action, target: { type: 'group', id }, attempted: null }, () =>
      this.db.$transaction(async (tx) => {
        await this.access.lock(tx);
        const row = await this.visible(tx, principal, id);
        if (row.members.some((m) => m.userId === principal.userId)) throw forbidden(OWN_GROUP);
        await this.guard.assertOwnerFor(
          tx,
          principal,
          grantsFleetOwner(row.grants),
          'delete a group that grants the owner role',
        );
        await this.groups.delete(tx, id);
        await this.guard.assertOwnerRemains(tx);
        await recordAccessChange(this.audit, tx, ctx, {
          action,
          target: { type: 'group', id },
          before: this.present(row),
        });
      }),
    );
  }

  async addMember(id: string, userId: string, ctx: CallContext) {
    const principal = userOf(ctx);
    const action = 'auth.group.member_add';
    await this.guard.refusalsAsDenials({ action, target: { type: 'group', id }, attempted: { userId } }, () =>
      this.db.$transaction(async (tx) => {
        await this.access.lock(tx);
        const row = await this.visible(tx, principal, id);
        const user = await this.users.visible(tx, principal, userId);
        if (userId === principal.userId) throw forbidden('You cannot change your own access.');
        this.guard.assertGrantable(
          principal.access,
          await this.guard.planned(tx, row.grants),
          `add ${user.username} to group "${row.name}", which grants`,
        );
        await this.guard.assertOwnerFor(
          tx,
          principal,
          grantsFleetOwner(row.grants),
          'add members to a group that grants the owner role',
        );
        if (!(await this.groups.addMember(tx, id, userId))) return;
        const sessionsEnded = await this.sessions.revokeAllOfUser(tx, userId, this.now());
        await recordAccessChange(this.audit, tx, ctx, {
          action,
          target: { type: 'group', id },
          after: { userId, username: user.username, sessionsEnded },
        });
      }),
    );
    return this.detail(id, ctx);
  }

  async removeMember(id: string, userId: string, ctx: CallContext): Promise<void> {
    const principal = userOf(ctx);
    const action = 'auth.group.member_remove';
    await this.guard.refusalsAsDenials({ action, target: { type: 'group', id }, attempted: { userId } }, () =>
      this.db.$transaction(async (tx) => {
        await this.access.lock(tx);
        const row = await this.visible(tx, principal, id);
        const user = await this.users.visible(tx, principal, userId);
        if (userId === principal.userId) throw forbidden('You cannot change your own access.');
        await this.guard.assertOwnerFor(
          tx,
          principal,
          grantsFleetOwner(row.grants),
          'remove members from a group that grants the owner role',
        );
        if (!(await this.groups.removeMember(tx, id, userId))) throw notFound('group member');
        await this.guard.assertOwnerRemains(tx);
        const sessionsEnded = await this.sessions.revokeAllOfUser(tx, userId, this.now());
        await recordAccessChange(this.audit, tx, ctx, {
          action,
          target: { type: 'group', id },
          before: { userId, username: user.username },
          after: { sessionsEnded },
        });
      }),
    );
  }
}
