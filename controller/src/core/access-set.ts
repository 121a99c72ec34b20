/**
 * What a user may do, resolved from their grants: for each permission, the scopes
 * it holds (fleet, sites, nodes). Deny by default: no grant, no access. Objects are
 * checked with `allows`; lists are narrowed with `filter`.
 */
import { PERMISSIONS, type Permission, type ScopeType } from '../../../shared/src/permissions.js';

export interface Scope {
  type: ScopeType;
  id: string | null;
}

export interface ResolvedGrant {
  permissions: readonly Permission[];
  scope: Scope;
}

/** An object's place: a node-owned object has a site (and node); attendance data has a guild. */
export interface ObjectScope {
  siteId?: string;
  nodeId?: string;
  guildId?: string;
}

export type ScopeFilter =
  | { all: true }
  | { all: false; siteIds: string[]; nodeIds: string[]; guildIds: string[] };

export class AccessSet {
  private readonly byPermission = new Map<Permission, Scope[]>();

  constructor(grants: readonly ResolvedGrant[]) {
    for (const grant of grants) {
      for (const permission of grant.permissions) {
        const scopes = this.byPermission.get(permission) ?? [];
        scopes.push(grant.scope);
        this.byPermission.set(permission, scopes);
      }
    }
  }

  /** Holds the permission in at least one scope. */
  has(permission: Permission): boolean {
    return (this.byPermission.get(permission)?.length ?? 0) > 0;
  }

  /** Holds the permission over the whole fleet. */
  hasFleet(permission: Permission): boolean {
    return this.byPermission.get(permission)?.some((s) => s.type === 'fleet') ?? false;
  }

  allows(permission: Permission, object: ObjectScope): boolean {
    const scopes = this.byPermission.get(permission);
    if (!scopes) return false;
    return scopes.some(
      (s) =>
        s.type === 'fleet' ||
        (s.type === 'site' && object.siteId !== undefined && s.id === object.siteId) ||
        (s.type === 'node' && object.nodeId !== undefined && s.id === object.nodeId) ||
        (s.type === 'guild' && object.guildId !== undefined && s.id === object.guildId),
    );
  }

  filter(permission: Permission): ScopeFilter {
    const scopes = this.byPermission.get(permission) ?? [];
    if (scopes.some((s) => s.type === 'fleet')) return { all: true };
    return {
      all: false,
      siteIds: scopes.filter((s) => s.type === 'site').map((s) => s.id as string),
      nodeIds: scopes.filter((s) => s.type === 'node').map((s) => s.id as string),
      guildIds: scopes.filter((s) => s.type === 'guild').map((s) => s.id as string),
    };
  }

  /** Permissions held anywhere, with their scopes, for `GET /auth/me`. */
  describe(): { permission: Permission; scopes: Scope[] }[] {
    return PERMISSIONS.filter((p) => this.has(p)).map((permission) => ({
      permission,
      scopes: this.byPermission.get(permission) ?? [],
    }));
  }
}
