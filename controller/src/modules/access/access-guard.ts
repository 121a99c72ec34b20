/**
 * The rules every access change goes through (Kubernetes' ConfirmNoEscalation idea):
 * - a grant of role R over scope S is allowed only if the caller's AccessSet allows
 *   every permission of R over S (fleet grants need the permission fleet-wide);
 * - a user or group is visible (and manageable) only when every scope it holds
 *   grants in is one where the caller holds `auth:manage`; otherwise it is a 404;
 * - the last enabled owner over the fleet cannot be disabled, demoted or deleted;
 * - the owner role over the fleet is an owner's to give and take: granting it (to a user or a
 *   group), changing a group that grants it or its members, and changing, disabling, deleting or
 *   setting the password of a user who holds it need an owner over the fleet (an admin holds the
 *   same permissions, so the escalation check alone would let an admin replace the owners);
 * - refusals (403, 409) are marked as denials with the attempted change, and audited by
 *   the error handler after the transaction that would have made it rolled back.
 */
import type { Permission, ScopeType } from '../../../../shared/src/permissions.js';
import type { AccessSet, Scope } from '../../core/access-set.js';
import type { AuditAction } from '../../core/audit-actions.js';
import { AppError, badRequest, conflict, forbidden } from '../../core/errors.js';
import type { CallContext, UserPrincipal } from '../../core/principal.js';
import type { Db, Tx } from '../../db/client.js';
import { type AccessRepository, type GrantRow, permissionsOf } from './access.repository.js';

/** A scope with the site it belongs to (for a node), so it can be checked against an AccessSet. */
export interface ScopeRef {
  type: ScopeType;
  id: string | null;
  /** The node's site; null for fleet scopes and for nodes that no longer exist. */
  siteId: string | null;
}

export interface PlannedGrant {
  roleId: string;
  role: string;
  permissions: Permission[];
  scope: ScopeRef;
}

export interface GrantInputLike {
  role: string;
  scope: { type: ScopeType; id?: string };
}

export const sameScope = (a: Scope, b: Scope) => a.type === b.type && (a.id ?? null) === (b.id ?? null);

/** One grant per role and scope. */
export function distinctGrants(grants: PlannedGrant[]): PlannedGrant[] {
  return grants.filter(
    (g, i) => grants.findIndex((o) => o.roleId === g.roleId && sameScope(o.scope, g.scope)) === i,
  );
}

export function describeScope(scope: Scope): string {
  return scope.type === 'fleet' ? 'the whole fleet' : `${scope.type} ${scope.id}`;
}

export function userOf(ctx: CallContext): UserPrincipal {
  if (ctx.principal.kind !== 'user') throw forbidden('Only users manage access.');
  return ctx.principal;
}

/** A grant of the owner role over the fleet (see the header), planned or stored. */
export function grantsFleetOwner(grants: readonly (PlannedGrant | GrantRow)[]): boolean {
  return grants.some((g) =>
    'scope' in g
      ? g.role === 'owner' && g.scope.type === 'fleet'
      : g.role.name === 'owner' && g.scopeType === 'fleet',
  );
}

export class AccessGuard {
  constructor(private readonly repo: AccessRepository) {}

  /** 403 unless the caller holds owner over the fleet, when the change `involvesOwner` (see the header). */
  async assertOwnerFor(tx: Tx | Db, principal: UserPrincipal, involvesOwner: boolean, what: string) {
    if (!involvesOwner || (await this.repo.isFleetOwner(tx, principal.userId))) return;
    throw forbidden(
      `Only an owner over the whole fleet can ${what}: the owner role is an owner's to give and take.`,
    );
  }

  /** Whether the AccessSet allows `permission` over the scope. */
  covers(access: AccessSet, permission: Permission, scope: ScopeRef): boolean {
    if (scope.type === 'fleet') return access.hasFleet(permission);
    if (scope.type === 'site') return access.allows(permission, { siteId: scope.id! });
    if (scope.type === 'guild') return access.allows(permission, { guildId: scope.id! });
    if (scope.siteId === null) return access.hasFleet(permission);
    return access.allows(permission, { siteId: scope.siteId, nodeId: scope.id! });
  }

  /** Permissions of a grant the caller could not give over its scope. */
  lacking(access: AccessSet, permissions: readonly Permission[], scope: ScopeRef): Permission[] {
    return permissions.filter((p) => !this.covers(access, p, scope));
  }

  /** Resolves node scopes to their sites. */
  async refs(tx: Tx | Db, scopes: readonly Scope[]): Promise<ScopeRef[]> {
    const nodeIds = scopes.filter((s) => s.type === 'node' && s.id).map((s) => s.id!);
    const sites = await this.repo.nodeSites(tx, nodeIds);
    return scopes.map((s) => ({
      type: s.type,
      id: s.id,
      siteId: s.type === 'site' ? s.id : s.type === 'node' ? (sites.get(s.id!) ?? null) : null,
    }));
  }

  /** The caller holds auth:manage over every one of the scopes (vacuously true for none). */
  manages(access: AccessSet, scopes: readonly ScopeRef[]): boolean {
    return scopes.every((s) => this.covers(access, 'auth:manage', s));
  }

  /** Checks role names and scope ids exist; 400 otherwise. */
  async plan(tx: Tx, inputs: readonly GrantInputLike[]): Promise<PlannedGrant[]> {
    if (inputs.length === 0) return [];
    const roles = new Map(
      (await this.repo.rolesByName(tx, [...new Set(inputs.map((g) => g.role))])).map((r) => [r.name, r]),
    );
    const scopes: Scope[] = [];
    for (const input of inputs) {
      if (!roles.has(input.role)) throw badRequest(`Unknown role "${input.role}".`);
      const { type, id } = input.scope;
      if (type === 'fleet' && id !== undefined) throw badRequest('A fleet scope takes no id.');
      if (type !== 'fleet' && id === undefined) throw badRequest(`A ${type} scope needs an id.`);
      if (type === 'site' && !(await this.repo.siteExists(tx, id!)))
        throw badRequest(
          `Unknown site ${id}: a site scope takes the site's id, not its name (GET /api/v1/nodes shows each node's site with its id and name).`,
        );
      scopes.push({ type, id: id ?? null });
    }
    const refs = await this.refs(tx, scopes);
    return inputs.map((input, i) => {
      const scope = refs[i]!;
      if (scope.type === 'node' && scope.siteId === null) throw badRequest(`Unknown node ${scope.id}.`);
      const role = roles.get(input.role)!;
      return { roleId: role.id, role: role.name, permissions: permissionsOf(role), scope };
    });
  }

  /** Stored grants (of a user or group) as planned grants, to check them again. */
  async planned(tx: Tx | Db, rows: readonly GrantRow[]): Promise<PlannedGrant[]> {
    const refs = await this.refs(
      tx,
      rows.map((r) => ({ type: r.scopeType as ScopeType, id: r.scopeId })),
    );
    return rows.map((r, i) => ({
      roleId: r.role.id,
      role: r.role.name,
      permissions: permissionsOf(r.role),
      scope: refs[i]!,
    }));
  }

  /** 403 unless the caller could give every one of the grants. */
  assertGrantable(access: AccessSet, grants: readonly PlannedGrant[], what = 'grant'): void {
    for (const grant of grants) {
      const missing = this.lacking(access, grant.permissions, grant.scope);
      if (missing.length > 0) {
        throw forbidden(
          `You cannot ${what} role "${grant.role}" over ${describeScope(grant.scope)}: ` +
            `you do not hold ${missing.join(', ')} there.`,
        );
      }
    }
  }

  /** 409 when no enabled user would hold owner over the fleet; call after the change, inside its transaction. */
  async assertOwnerRemains(tx: Tx): Promise<void> {
    if ((await this.repo.enabledFleetOwners(tx)) === 0) {
      throw conflict(
        'This would leave no enabled user holding the owner role over the whole fleet; ' +
          'make someone else owner first.',
      );
    }
  }

  /**
   * Runs a change; a refusal (403 or 409) is re-thrown marked as a denial with the
   * attempted change, which the error handler audits once the change's transaction has
   * rolled back (http/denial-audit.ts).
   */
  async refusalsAsDenials<T>(
    event: { action: AuditAction; target: { type: string; id?: string | null } | null; attempted: unknown },
    change: () => Promise<T>,
  ): Promise<T> {
    try {
      return await change();
    } catch (err) {
      if (err instanceof AppError && (err.statusCode === 403 || err.statusCode === 409))
        err.deny({
          permission: 'auth:manage',
          action: event.action,
          target: event.target,
          reason: err.message,
          attempted: event.attempted,
        });
      throw err;
    }
  }
}
