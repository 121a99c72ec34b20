import type { AccessSet } from '../modules/access/access-set.js';
import type { Actor, RequestContext } from '../modules/audit/audit.types.js';

export type Principal =
  | { kind: 'anonymous' }
  | {
      kind: 'user';
      userId: string;
      username: string;
      via: 'session' | 'api-token';
      sessionId?: string;
      csrfToken?: string;
      access: AccessSet;
    }
  | { kind: 'node'; nodeId: string; siteId: string };

export type UserPrincipal = Extract<Principal, { kind: 'user' }>;
export type NodePrincipal = Extract<Principal, { kind: 'node' }>;

export const ANONYMOUS: Principal = { kind: 'anonymous' };

export function actorOf(principal: Principal): Actor {
  switch (principal.kind) {
    case 'user':
      return { type: 'user', id: principal.userId, name: principal.username };
    case 'node':
      return { type: 'node', id: principal.nodeId, name: principal.nodeId };
    default:
      return { type: 'anonymous' };
  }
}

/** What a service needs to know about the caller and the request, for checks and audit. */
export interface CallContext {
  principal: Principal;
  request: RequestContext;
}
