/**
 * A wrong method on a path that exists is a 405 with `allow` naming the methods the path takes,
 * for every route of the app; a path that does not exist stays a 404; nothing runs or is audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestController, testController } from '../support/controller.js';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
type Method = (typeof METHODS)[number];

/** A route pattern as a regular expression, written here apart from the router it checks. */
function patternOf(url: string): RegExp {
  const body = url
    .split('/')
    .map((segment) =>
      segment === '*'
        ? '.*'
        : segment.startsWith(':')
          ? '[^/]+'
          : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/');
  return new RegExp(`^${body}$`);
}

describe('405 for a method a path does not take', () => {
  let ctl: TestController;
  beforeAll(async () => {
    ctl = await testController();
  });
  afterAll(async () => ctl.stop());

  it('answers every route with a wrong method with 405 and its allowed methods, without authentication', async () => {
    const byUrl = new Map<string, Set<string>>();
    for (const route of ctl.routes) {
      const methods = byUrl.get(route.url) ?? new Set<string>();
      methods.add(route.method);
      if (route.method === 'GET') methods.add('HEAD'); // Fastify's automatic HEAD of a GET
      byUrl.set(route.url, methods);
    }
    // The console's page fallback (`GET /*`) hands every path it does not serve to the 404 handler.
    byUrl.delete('/*');
    // Every route, with its methods, to tell a sibling pattern's answer from a miss.
    const patterns = [...byUrl].map(([url, methods]) => ({ url, methods, re: patternOf(url) }));
    const auditBefore = await ctl.db.auditEvent.count();
    let refused = 0;
    for (const url of byUrl.keys()) {
      const path = url.replace(/:[A-Za-z]+/g, 'x~1').replace(/\*$/, 'x~1');
      const matching = patterns.filter((p) => p.re.test(path));
      const allowed = new Set(matching.flatMap((p) => [...p.methods]));
      for (const method of METHODS) {
        if (allowed.has(method)) continue;
        const response = await ctl.app.inject({ method: method as Method, url: path });
        const what = `${method} ${path} (${url})`;
        expect(response.statusCode, what).toBe(405);
        const allow = String(response.headers.allow).split(', ');
        expect(allow, what).toEqual([...allowed].sort());
        if (method === 'HEAD')
          expect(response.body, what).toBe(''); // a HEAD answer has no body
        else {
          expect(response.json().error.code, what).toBe('method_not_allowed');
          expect(response.json().error.message, what).toContain(`does not take ${method}`);
        }
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(500);
    expect(await ctl.db.auditEvent.count()).toBe(auditBefore);
  });

  it('keeps a 404 for a path no route has, whatever the method', async () => {
    const misses = ['/api/v1/nope', '/api/v1/nodes/x/nothing/here', '/healthz/deep'];
    for (const method of ['GET', 'POST', 'DELETE'] as const)
      for (const url of method === 'GET' ? misses : [...misses, '/a-console-page']) {
        const response = await ctl.app.inject({ method, url });
        expect(response.statusCode, `${method} ${url}`).toBe(404);
        expect(response.json().error.code).toBe('not_found');
        expect(response.headers.allow).toBeUndefined();
      }
  });

  it('names the methods of a real path over HTTP, query string and all', async () => {
    const response = await ctl.app.inject({ method: 'PUT', url: '/api/v1/nodes?site=x' });
    expect(response.statusCode).toBe(405);
    expect(response.headers.allow).toBe('GET, HEAD');
    expect(response.json().error.message).toBe('/api/v1/nodes does not take PUT; it takes GET, HEAD.');
  });
});
