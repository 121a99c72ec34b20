/**
 * The Users & access page's model: which tab a path shows, grants as words, and a grant read
 * from a form (role, scope type, scope id).
 */

export const ACCESS_TABS = [
  { id: 'users', label: 'Users', manage: true },
  { id: 'groups', label: 'Groups', manage: true },
  { id: 'roles', label: 'Roles', manage: true },
  { id: 'policies', label: 'Policies', manage: true },
  { id: 'tokens', label: 'API tokens', manage: false },
] as const;
export type AccessTab = (typeof ACCESS_TABS)[number]['id'];

export const ACCESS_PATH = /^\/access(?:\/(users|groups|roles|policies|tokens))?$/;

/** The tab a path names; `/access` is users for a manager, and the caller's own tokens otherwise. */
export function tabFromPath(path: string, manages: boolean): AccessTab {
  const named = ACCESS_PATH.exec(path)?.[1] as AccessTab | undefined;
  if (named && (manages || named === 'tokens')) return named;
  return manages ? 'users' : 'tokens';
}

export const SCOPE_TYPES = ['fleet', 'site', 'node', 'guild'] as const;
export type ScopeType = (typeof SCOPE_TYPES)[number];

export interface Scope {
  type: string;
  id: string | null;
}
export interface Grant {
  role: string;
  scope: Scope;
}
export interface GrantInput {
  role: string;
  scope: { type: ScopeType; id?: string };
}

export function scopeLabel(scope: Scope): string {
  return scope.type === 'fleet' || scope.id === null ? scope.type : `${scope.type} ${scope.id}`;
}

export function grantLabel(grant: Grant): string {
  return `${grant.role} over ${scopeLabel(grant.scope)}`;
}

/** A grant as the API takes it (no id for the fleet), from a form's role, scope and id fields. */
export function grantFromForm(
  role: string,
  scopeType: string,
  scopeId: string,
): { grant: GrantInput } | { error: string } | undefined {
  if (!role) return undefined;
  if (!(SCOPE_TYPES as readonly string[]).includes(scopeType)) return { error: 'Choose a scope.' };
  const type = scopeType as ScopeType;
  if (type === 'fleet') return { grant: { role, scope: { type } } };
  const id = scopeId.trim();
  if (!id) return { error: `Name the ${type} the role applies to.` };
  return { grant: { role, scope: { type, id } } };
}

/** Grants as the API takes them back (the same role and scope, without nulls). */
export function grantInputs(grants: readonly Grant[]): GrantInput[] {
  return grants.map((g) => ({
    role: g.role,
    scope:
      g.scope.type === 'fleet' || g.scope.id === null
        ? { type: g.scope.type as ScopeType }
        : { type: g.scope.type as ScopeType, id: g.scope.id },
  }));
}
