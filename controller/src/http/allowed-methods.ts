/**
 * Which methods a path takes, so a request with the wrong method on a path that exists gets a
 * 405 with `allow` (RFC 9110 §15.5.6) instead of a 404 that says the path does not exist.
 * Every route's method and URL is kept in a router of its own (find-my-way, the router Fastify
 * itself uses, with the same defaults), matched against a request that found no route.
 * The console's page fallback (`GET /*`) is not a resource: it is left out, so `POST /nowhere`
 * stays a 404.
 */
import type { FastifyInstance } from 'fastify';
import Router from 'find-my-way';

/** The catch-all page route of the console (console.routes.ts): it stands for no resource. */
const PAGE_FALLBACK = '/*';

export type AllowedMethods = (path: string) => string[];

/** Records every route registered after this call; the answer lists a path's methods, sorted. */
export function trackAllowedMethods(app: FastifyInstance): AllowedMethods {
  const router = Router();
  const methods = new Set<string>();
  app.addHook('onRoute', (route) => {
    if (route.url === PAGE_FALLBACK) return;
    for (const method of [route.method].flat()) {
      if (router.hasRoute(method as Router.HTTPMethod, route.url)) continue;
      router.on(method as Router.HTTPMethod, route.url, () => {});
      methods.add(method);
    }
  });
  return (path) =>
    [...methods].filter((method) => router.find(method as Router.HTTPMethod, path) !== null).sort();
}
