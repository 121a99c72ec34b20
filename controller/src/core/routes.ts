/**
 * What a route declares about who may call it (see http/route-access.ts, which enforces it),
 * and the list of declared routes other parts read (rate-limit assignments, invariant tests).
 */
import type { Permission } from '../../../shared/src/permissions.js';

/** Whether what a route reads or changes is fleet-wide (needs the permission over the fleet). */
export type RouteScope = 'fleet' | 'scoped';
export const ROUTE_SCOPES: readonly RouteScope[] = ['fleet', 'scoped'];

export type RouteAccess =
  | { public: true; user?: never; agent?: never; scope?: never }
  | { public?: never; user: Permission; scope: RouteScope; agent?: Permission }
  | { public?: never; user: 'authenticated'; scope?: never; agent?: Permission }
  | { public?: never; user?: never; scope?: never; agent: Permission };

export interface RouteInfo {
  method: string;
  url: string;
  access: RouteAccess;
  /** The route's JSON schemas (body, querystring, params), for generated tests. */
  schema?: { body?: unknown; querystring?: unknown; params?: unknown };
}
