/**
 * Enforces the route assignments with @fastify/rate-limit. Assignments change at
 * runtime, so the plugin is registered for every route and decides per request
 * from the service's in-memory table: routes without an assignment are let through
 * (allowList), assigned ones get the profile's max and window. Counters are kept per
 * route and caller (user, node, or source address for anonymous callers) and per
 * profile version, so editing a profile starts fresh windows. On SQLite (one controller)
 * counters live in this process; on PostgreSQL in the database the replicas share
 * (`SharedCounter`, one upsert per limited request), so a limit holds across replicas.
 *
 * Must be registered before the routes it limits (it hooks `onRoute`). Its hook is
 * a route-level onRequest hook, so it runs after the access-control hook has
 * resolved the caller; unauthenticated or forbidden calls never reach it.
 */
import fastifyRateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { rateLimited } from '../../core/errors.js';
import type { LimitsService, RouteLimit } from './limits.service.js';

/** The LRU of counters; least recently seen callers are forgotten past this. */
const COUNTER_CACHE = 10_000;

function routeKeyOf(request: FastifyRequest): string {
  // HEAD is served by the GET route and shares its limit.
  const method = request.method === 'HEAD' ? 'GET' : request.method;
  return `${method} ${request.routeOptions.url ?? ''}`;
}

function callerKeyOf(request: FastifyRequest): string {
  const principal = request.principal;
  if (principal?.kind === 'user') return `user:${principal.userId}`;
  if (principal?.kind === 'node') return `node:${principal.nodeId}`;
  // Front-end tokens all come through one web front end: count each Discord user, not its address.
  if (principal?.kind === 'discord') return `discord:${principal.userId}`;
  return `ip:${normalizeIP(request.ip)}`;
}

/** Counters in a window from the first hit (cluster/shared-counters.repository.ts). */
export interface RateCounterStore {
  hit(key: string, windowMs: number): Promise<{ count: number; ttlMs: number }>;
}

type IncrCallback = (error: Error | null, result?: { current: number; ttl: number }) => void;

/** The plugin's store on counters the replicas share. */
function sharedStore(counters: RateCounterStore) {
  return class SharedRateLimitStore {
    incr(key: string, callback: IncrCallback, timeWindow: number): void {
      counters.hit(`rl:${key}`, timeWindow).then(
        ({ count, ttlMs }) => callback(null, { current: count, ttl: ttlMs }),
        (error: Error) => callback(error),
      );
    }

    child(): SharedRateLimitStore {
      return this;
    }
  };
}

export async function installRouteRateLimits(
  app: FastifyInstance,
  ports: { limits: LimitsService; rateLimitCounters?: RateCounterStore },
): Promise<void> {
  const { limits, rateLimitCounters: counters } = ports;
  // One lookup per request: the table may be swapped between the plugin's callbacks.
  const decided = new WeakMap<FastifyRequest, RouteLimit | undefined>();
  const limitOf = (request: FastifyRequest) => decided.get(request);

  // Background table reloads must end before the database closes (after app.close()).
  app.addHook('onClose', async () => limits.stop());
  await app.register(fastifyRateLimit, {
    global: true,
    hook: 'onRequest',
    cache: COUNTER_CACHE,
    ...(counters ? { store: sharedStore(counters) } : {}),
    keyGenerator: (request) => {
      const routeKey = routeKeyOf(request);
      const limit = limits.limitFor(routeKey);
      decided.set(request, limit);
      return limit ? `${routeKey}|${limit.version}|${callerKeyOf(request)}` : routeKey;
    },
    allowList: (request) => limitOf(request) === undefined,
    max: (request) => limitOf(request)?.max ?? Number.MAX_SAFE_INTEGER,
    timeWindow: (request) => limitOf(request)?.windowMs ?? 60_000,
    // Our error shape through the one error handler; the plugin has already set Retry-After.
    errorResponseBuilder: (_request, context) => rateLimited(Math.max(1, Math.ceil(context.ttl / 1000))),
  });
}
