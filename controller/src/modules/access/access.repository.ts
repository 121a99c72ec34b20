/**
 * Prisma queries shared by the access rules: roles and where they are granted,
 * effective grants (a user's own plus their groups'), the scopes grants point at,
 * and the count that keeps the owner from being locked out.
 */
import { isPermission, type Permission, type ScopeType } from '../../../../shared/src/permissions.js';
import type { ResolvedGrant } from '../../core/access-set.js';
import type { Db, Provider, Tx } from '../../db/client.js';
import type { Role } from '../../db/rows.js';

/** The PostgreSQL advisory lock every access change (and a new user's name) is made under. */
export const ACCESS_LOCK_ID = 7_420_011;

/** Catalog permissions of a role; permissions dropped from the catalog are ignored. */
export function permissionsOf(role: Pick<Role, 'permissions'>): Permission[] {
  const parsed: unknown = JSON.parse(role.permissions);
  return Array.isArray(parsed) ? parsed.filter((p): p is Permission => isPermission(String(p))) : [];
}

export interface GrantRow {
  scopeType: string;
  scopeId: string | null;
  role: Role;
}

const OWNER_AT_FLEET = { role: { name: 'owner' }, scopeType: 'fleet' };
/** Users holding the owner role over the fleet, themselves or through a group. */
const FLEET_OWNER = {
  OR: [
    { grants: { some: OWNER_AT_FLEET } },
    { groups: { some: { group: { grants: { some: OWNER_AT_FLEET } } } } },
  ],
};

export function resolved(grant: GrantRow): ResolvedGrant {
  return {
    permissions: permissionsOf(grant.role),
    scope: { type: grant.scopeType as ScopeType, id: grant.scopeId },
  };
}

export class AccessRepository {
  constructor(
    private readonly db: Db,
    private readonly provider: Provider,
  ) {}

  /** Serialises access changes, so two concurrent demotions cannot both pass the last-owner check. */
  async lock(tx: Tx): Promise<void> {
    if (this.provider === 'postgresql')
      await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${ACCESS_LOCK_ID})`);
  }

  rolesByName(tx: Tx | Db, names: string[]): Promise<Role[]> {
    return tx.role.findMany({ where: { name: { in: names } } });
  }

  async siteExists(tx: Tx | Db, siteId: string): Promise<boolean> {
    return (await tx.site.count({ where: { id: siteId } })) > 0;
  }

  /** Site of each node (missing nodes are absent from the map). */
  async nodeSites(tx: Tx | Db, nodeIds: string[]): Promise<Map<string, string>> {
    if (nodeIds.length === 0) return new Map();
    const nodes = await tx.node.findMany({
      where: { id: { in: [...new Set(nodeIds)] } },
      select: { id: true, siteId: true },
    });
    return new Map(nodes.map((n) => [n.id, n.siteId]));
  }

  /** Every user's effective grant scopes, for narrowing lists to what a scoped manager may see. */
  async scopesOfAllUsers(tx: Tx | Db = this.db): Promise<Map<string, ResolvedGrant['scope'][]>> {
    const users = await tx.user.findMany({
      select: {
        id: true,
        grants: { select: { scopeType: true, scopeId: true } },
        groups: { select: { group: { select: { grants: { select: { scopeType: true, scopeId: true } } } } } },
      },
    });
    return new Map(
      users.map((u) => [
        u.id,
        [...u.grants, ...u.groups.flatMap((m) => m.group.grants)].map((g) => ({
          type: g.scopeType as ScopeType,
          id: g.scopeId,
        })),
      ]),
    );
  }

  /** Scopes where a role is granted, to users or to groups. */
  async usageOfRole(
    tx: Tx | Db,
    roleId: string,
  ): Promise<{ userGrants: number; groupGrants: number; scopes: ResolvedGrant['scope'][] }> {
    const [users, groups] = await Promise.all([
      tx.grant.findMany({ where: { roleId }, select: { scopeType: true, scopeId: true } }),
      tx.groupGrant.findMany({ where: { roleId }, select: { scopeType: true, scopeId: true } }),
    ]);
    return {
      userGrants: users.length,
      groupGrants: groups.length,
      scopes: [...users, ...groups].map((g) => ({ type: g.scopeType as ScopeType, id: g.scopeId })),
    };
  }

  /** Whether the user holds the role (directly or through a group) in any scope. */
  async holdsRole(tx: Tx | Db, userId: string, roleId: string): Promise<boolean> {
    const [direct, viaGroup] = await Promise.all([
      tx.grant.count({ where: { userId, roleId } }),
      tx.groupGrant.count({ where: { roleId, group: { members: { some: { userId } } } } }),
    ]);
    return direct + viaGroup > 0;
  }

  /** Enabled users holding `owner` over the whole fleet, directly or through a group. */
  enabledFleetOwners(tx: Tx | Db): Promise<number> {
    return tx.user.count({ where: { disabled: false, ...FLEET_OWNER } });
  }

  /** Whether the user holds the owner role over the fleet, by a grant or a group (enabled or not). */
  async isFleetOwner(tx: Tx | Db, userId: string): Promise<boolean> {
    return (await tx.user.count({ where: { id: userId, ...FLEET_OWNER } })) > 0;
  }
}
