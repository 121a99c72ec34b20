/**
 * One object-access idiom: a service hands out an object only after checking the caller may
 * see it, as a `Visible<T>`; services that act on an object take the `Visible` form, so a
 * new route or adapter cannot skip the check (the type has no other source than these
 * functions). Outside the caller's scope is a 404 that is audited as a denial (`hidden`).
 */
import type { Permission } from '../../../shared/src/permissions.js';
import type { ObjectScope } from './access-set.js';
import { hidden } from './errors.js';
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
  if (!allowed) throw hidden(what.name, what.target, permission);
  return object as Visible<T>;
}

/**
 * For adapters acting with the controller's own authority, not a caller's (the Discord bot
 * answering a guild's own members, schedulers, the log poster): name why at the call site.
 */
export function trusted<T extends object>(object: T, _why: string): Visible<T> {
  return object as Visible<T>;
}
