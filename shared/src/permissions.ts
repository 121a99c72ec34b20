/**
 * The permission catalog: the one list of every permission string the
 * controller checks. Routes must declare one of these (or `public` / `node`) at
 * registration; the app refuses to start otherwise.
 */
export const PERMISSIONS = [
  'auth:manage',
  'audit:read',
  'node:read',
  'node:manage',
  'node:control',
  'listen:monitor',
  'recording:read',
  'recording:create',
  'recording:control',
  'recording:playback',
  'recording:download',
  'recording:edit',
  'recording:delete',
  'schedule:read',
  'schedule:manage',
  'settings:read',
  'settings:manage',
  'health:read',
  'health:acknowledge',
  'metrics:read',
  'attendance:read',
  'attendance:manage',
  'integrations:manage',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

/**
 * Catalog permissions no route declares yet, each with the later feature it is reserved for
 * (none exists yet). Built-in roles already bundle them, so grants made today keep their meaning.
 * An invariant test fails on a permission no route uses that is not listed here, and on one
 * listed here that a route now uses (then remove it from this list).
 */
export const RESERVED_PERMISSIONS = {} as const satisfies Partial<Record<Permission, string>>;

const permissionSet: ReadonlySet<string> = new Set(PERMISSIONS);
export function isPermission(value: string): value is Permission {
  return permissionSet.has(value);
}

export type BuiltInRoleName = 'owner' | 'admin' | 'operator' | 'viewer' | 'auditor';

/** Built-in roles: additive bundles of catalog permissions. */
export const BUILT_IN_ROLES: Record<BuiltInRoleName, readonly Permission[]> = {
  owner: PERMISSIONS,
  admin: PERMISSIONS,
  operator: [
    'node:read',
    'node:manage',
    'listen:monitor',
    'recording:read',
    'recording:create',
    'recording:control',
    'recording:playback',
    'recording:download',
    'recording:edit',
    'schedule:read',
    'schedule:manage',
    'settings:read',
    'health:read',
    'health:acknowledge',
    'metrics:read',
    'attendance:read',
  ],
  viewer: [
    'node:read',
    'recording:read',
    'recording:playback',
    'schedule:read',
    'settings:read',
    'health:read',
    'attendance:read',
  ],
  auditor: ['audit:read', 'node:read', 'recording:read', 'schedule:read', 'settings:read', 'health:read'],
};

/**
 * Where a grant applies: the whole fleet, one site, one node, or one Discord guild
 * (attendance permissions are scoped to guilds).
 */
export type ScopeType = 'fleet' | 'site' | 'node' | 'guild';
export const SCOPE_TYPES: readonly ScopeType[] = ['fleet', 'site', 'node', 'guild'];
