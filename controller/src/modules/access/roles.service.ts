/**
 * Roles: named bundles of catalog permissions. Built-in roles are fixed; custom
 * roles can be created, edited and deleted, but only with permissions the caller
 * holds — and holds wherever the role is already granted, since editing a granted
 * role changes what its holders may do there.
 */
import { BUILT_IN_ROLES, type Permission } from '../../../../shared/src/permissions.js';
import type { AuditWriter } from '../../core/audit.types.js';
import { badRequest, conflict, forbidden, notFound } from '../../core/errors.js';
import { decodeCursor, encodeCursor, pageOf } from '../../core/pagination.js';
import type { CallContext } from '../../core/principal.js';
import type { Db, Tx } from '../../db/client.js';
import type { Role } from '../../db/rows.js';
import { type AccessRepository, permissionsOf } from './access.repository.js';
import { recordAccessChange } from './access-audit.js';
import { type AccessGuard, describeScope, userOf } from './access-guard.js';
import type { RolePosition, RolesRepository } from './roles.repository.js';

/** The position a roles cursor names (`b:<name>` a built-in role, `c:<name>` a custom one). */
function roleAfter(cursor: string | undefined): RolePosition | undefined {
  const value = decodeCursor<string>(cursor, 'string');
  if (value === undefined) return undefined;
  const kind = value.slice(0, 2);
  if (kind !== 'b:' && kind !== 'c:')
    throw badRequest('cursor is not valid: pass the nextCursor of a previous page');
  return { builtIn: kind === 'b:', name: value.slice(2) };
}

export class RolesService {
  constructor(
    private readonly db: Db,
    private readonly roles: RolesRepository,
    private readonly access: AccessRepository,
    private readonly guard: AccessGuard,
    private readonly audit: AuditWriter,
  ) {}

  present(role: Role) {
    return {
      id: role.id,
      name: role.name,
      builtIn: role.builtIn,
      description: role.description,
      permissions: permissionsOf(role),
      createdAt: role.createdAt.toISOString(),
    };
  }

  /** A page of the roles, built-in first; the cursor is the last role's kind and name. */
  async list(limit: number, cursor?: string) {
    const rows = await this.roles.page(limit, roleAfter(cursor));
    return pageOf(
      rows,
      limit,
      (r) => this.present(r),
      (r) => encodeCursor(`${r.builtIn ? 'b' : 'c'}:${r.name}`),
    );
  }

  private async editable(tx: Tx, id: string): Promise<Role> {
    const role = await this.roles.find(tx, id);
    if (!role) throw notFound('role');
    if (role.builtIn) throw conflict(`"${role.name}" is a built-in role; built-in roles cannot be changed.`);
    return role;
  }

  async create(input: { name: string; description?: string; permissions: Permission[] }, ctx: CallContext) {
    const principal = userOf(ctx);
    const action = 'auth.role.create';
    return this.guard.refusalsAsDenials(
      { action, target: { type: 'role', id: null }, attempted: input },
      () =>
        this.db.$transaction(async (tx) => {
          await this.access.lock(tx);
          if (input.name in BUILT_IN_ROLES || (await this.roles.nameTaken(tx, input.name)))
            throw conflict(`A role named ${input.name} exists.`);
          const missing = input.permissions.filter((p) => !principal.access.has(p));
          if (missing.length > 0)
            throw forbidden(`You cannot create a role with ${missing.join(', ')}: you do not hold it.`);
          const role = await this.roles.create(tx, {
            name: input.name,
            description: input.description ?? null,
            permissions: JSON.stringify([...new Set(input.permissions)]),
          });
          await recordAccessChange(this.audit, tx, ctx, {
            action,
            target: { type: 'role', id: role.id },
            after: this.present(role),
          });
          return this.present(role);
        }),
    );
  }

  async update(
    id: string,
    input: { description?: string | null; permissions?: Permission[] },
    ctx: CallContext,
  ) {
    const principal = userOf(ctx);
    const action = 'auth.role.update';
    return this.guard.refusalsAsDenials({ action, target: { type: 'role', id }, attempted: input }, () =>
      this.db.$transaction(async (tx) => {
        await this.access.lock(tx);
        const role = await this.editable(tx, id);
        if (input.permissions) {
          if (await this.access.holdsRole(tx, principal.userId, id))
            throw forbidden('You hold this role: ask another administrator to change its permissions.');
          const usage = await this.guard.refs(tx, (await this.access.usageOfRole(tx, id)).scopes);
          const unmanaged = usage.find((s) => !this.guard.covers(principal.access, 'auth:manage', s));
          if (unmanaged)
            throw forbidden(
              `This role is granted over ${describeScope(unmanaged)}, where you do not manage access.`,
            );
          const current = new Set(permissionsOf(role));
          for (const p of input.permissions.filter((p) => !current.has(p))) {
            const lacking = usage.find((s) => !this.guard.covers(principal.access, p, s));
            if (!principal.access.has(p) || lacking)
              throw forbidden(
                `You cannot add ${p} to this role: you do not hold it${lacking ? ` over ${describeScope(lacking)}, where the role is granted` : ''}.`,
              );
          }
        }
        const updated = await this.roles.update(tx, id, {
          description: input.description,
          permissions: input.permissions ? JSON.stringify([...new Set(input.permissions)]) : undefined,
        });
        await recordAccessChange(this.audit, tx, ctx, {
          action,
          target: { type: 'role', id },
          before: this.present(role),
          after: this.present(updated),
        });
        return this.present(updated);
      }),
    );
  }

  async remove(id: string, ctx: CallContext): Promise<void> {
    const action = 'auth.role.delete';
    userOf(ctx);
    await this.guard.refusalsAsDenials({ action, target: { type: 'role', id }, attempted: null }, () =>
      this.db.$transaction(async (tx) => {
        await this.access.lock(tx);
        const role = await this.editable(tx, id);
        const usage = await this.access.usageOfRole(tx, id);
        if (usage.userGrants + usage.groupGrants > 0)
          throw conflict(
            `The role is still granted (${usage.userGrants} user grants, ${usage.groupGrants} group grants); remove those first.`,
          );
        await this.roles.delete(tx, id);
        await recordAccessChange(this.audit, tx, ctx, {
          action,
          target: { type: 'role', id },
          before: this.present(role),
        });
      }),
    );
  }
}
