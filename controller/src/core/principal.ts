import type { Permission } from '../../../shared/src/permissions.js';
import type { AccessSet } from './access-set.js';
import { type Actor, type RequestContext, SYSTEM_ACTOR } from './audit.types.js';

export type Principal =
  | { kind: 'anonymous' }
  /** The controller itself (its sweeps and watches), as the actor of what it changes. */
  | { kind: 'system' }
  | {
      kind: 'user';
      userId: string;
      username: string;
      via: 'session' | 'api-token';
      sessionId?: string;
      /** The API token a call came with (via 'api-token'). */
      apiTokenId?: string;
      csrfToken?: string;
      access: AccessSet;
    }
  | { kind: 'node'; nodeId: string; siteId: string }
  | {
      /**
       * A Discord user sent by the web front end (a 60-second HS256 token): no account
       * here, only the one guild named in the token, and only while Discord says the
       * user has Manage Server there (checked by the access hook).
       */
      kind: 'discord';
      userId: string;
      guildId: string;
      via: 'frontend-token';
    };

export type UserPrincipal = Extract<Principal, { kind: 'user' }>;
export type NodePrincipal = Extract<Principal, { kind: 'node' }>;
export type DiscordPrincipal = Extract<Principal, { kind: 'discord' }>;

/** What a front-end token may do, and only in its own guild: what Manage Server gives in Discord. */
export const DISCORD_PRINCIPAL_PERMISSIONS: ReadonlySet<Permission> = new Set<Permission>([
  'attendance:read',
  'attendance:manage',
]);

/** Whether a front-end token's principal may use `permission` on `guildId`. */
export function discordPrincipalAllows(
  principal: DiscordPrincipal,
  permission: Permission,
  guildId: string,
): boolean {
  return principal.guildId === guildId && DISCORD_PRINCIPAL_PERMISSIONS.has(permission);
}

export const ANONYMOUS: Principal = { kind: 'anonymous' };
export const SYSTEM: Principal = { kind: 'system' };

export function actorOf(principal: Principal): Actor {
  switch (principal.kind) {
    case 'user':
      return { type: 'user', id: principal.userId, name: principal.username };
    case 'node':
      return { type: 'node', id: principal.nodeId, name: principal.nodeId };
    case 'discord':
      return { type: 'discord', id: principal.userId, name: null };
    case 'system':
      return SYSTEM_ACTOR;
    default:
      return { type: 'anonymous' };
  }
}

/** What a service needs to know about the caller and the request, for checks and audit. */
export interface CallContext {
  principal: Principal;
  request: RequestContext;
}
