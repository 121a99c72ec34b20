/**
 * One object-access idiom: a service hands out an object only after checking the caller may
 * see it, as a `Visible<T>`; services that act on an object take the `Visible` form, so a
 * new route or adapter cannot skip the check (the type has no other source than these
 * functions). Outside the caller's scope is a 404 that is audited as a denial (`hidden`); an
 * object the caller may see but not act on that way is a 403 (README, "API conventions").
 */
import { isPermission, type Permission } from '../../../shared/src/permissions.js';
import type { ObjectScope } from './access-set.js';
import { forbidden, hidden } from './errors.js';
import { discordPrincipalAllows, type Principal } from './principal.js';

declare const visibleBrand: unique symbol;

/** An object its caller has been checked to see (or a trusted adapter was given: `trusted`). */
export type Visible<T> = T & { readonly [visibleBrand]: true };

/** The object if `principal` may use `permission` on it; a hidden 404 (audited) otherwise. */
export function visibleTo<T extends object>(
  principal: Principal,
  permission: Permission,
  object: T,
  scope: ObjectScope,
  what: { name: string; target: { type: string; id: string } },
): Visible<T> {
  const allowed =
    principal.kind === 'node'
      ? scope.nodeId !== undefined && principal.nodeId === scope.nodeId
      : principal.kind === 'user'
        ? principal.access.allows(permission, scope)
        : principal.kind === 'discord'
          ? scope.guildId !== undefined && discordPrincipalAllows(principal, permission, scope.guildId)
          : false;
  if (allowed) return object as Visible<T>;
  const seeing = seeingPermission(permission);
  if (principal.kind === 'user' && seeing !== permission && seeing && principal.access.allows(seeing, scope))
    throw forbidden(
      `You may see this ${what.name} but not act on it this way: that needs ${permission} on its ` +
        `site or node (ask an administrator for a role that grants it there).`,
      { permission, target: what.target },
    );
  throw hidden(what.name, what.target, permission);
}

/** The permission that lets a caller see the object an action applies to (`node:read` for listen). */
function seeingPermission(permission: Permission): Permission | undefined {
  if (permission === 'listen:monitor') return 'node:read';
  const read = `${permission.slice(0, permission.indexOf(':'))}:read`;
  return isPermission(read) ? read : undefined;
}

/**
 * For adapters acting with the controller's own authority, not a caller's (the Discord bot
 * answering a guild's own members, schedulers, the log poster): name why at the call site.
 */
export function trusted<T extends object>(object: T, _why: string): Visible<T> {
  return object as Visible<T>;
}
