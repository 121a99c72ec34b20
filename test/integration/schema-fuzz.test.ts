/**
 * Property-based bad input generated from each route's own schema: bodies and query
 * strings that follow the schema, and ones broken in one place. Whatever the input,
 * the answer is never a 5xx, and a schema-breaking body is always a 4xx.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteInfo } from '../../controller/src/core/routes.js';
import { bearer, enrolledNode, type TestController, testController } from '../support/controller.js';
import { brokenValue, validValue } from '../support/schema-arbitrary.js';

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
/** Streams (SSE) and the upload route (octet-stream) are covered by their own tests. */
const SKIP = new Set([
  'GET /api/v1/meter-events',
  'GET /api/v1/events',
  'PUT /api/v1/recordings/:id/cache-file',
  'GET /mqtt',
]);

describe('schema-driven fuzzing of every route', () => {
  let ctl: TestController;
  let headersFor: (route: RouteInfo) => Record<string, string>;

  beforeAll(async () => {
    ctl = await testController();
    const session = await ctl.ownerToken();
    const created = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/api-tokens',
      headers: bearer(session),
      payload: { name: 'fuzz' },
    });
    const owner = created.json().data.token as string;
    const node = await enrolledNode(ctl, { id: 'fuzz-node', site: 'fuzz' });
    headersFor = (route) =>
      route.access.public ? {} : route.access.user ? bearer(owner) : bearer(node.credential);
  });
  afterAll(async () => ctl.stop());

  function url(route: RouteInfo, params: Record<string, unknown>, query: Record<string, unknown>): string {
    const path = route.url.replace(/:([A-Za-z]+)/g, (_m, name: string) =>
      encodeURIComponent(String(params[name] ?? 'x')),
    );
    const search = new URLSearchParams(
      Object.entries(query).flatMap(([k, v]) =>
        v === undefined ? [] : [[k, typeof v === 'object' ? JSON.stringify(v) : String(v)]],
      ),
    ).toString();
    return search ? `${path}?${search}` : path;
  }

  it('never answers 5xx to schema-shaped or schema-breaking input, and refuses broken bodies with 4xx', async () => {
    const routes = ctl.routes.filter((r) => !SKIP.has(`${r.method} ${r.url}`));
    expect(routes.length).toBeGreaterThan(40);
    for (const route of routes) {
      const hasBody = BODY_METHODS.has(route.method) && route.schema?.body !== undefined;
      const input = fc.record({
        params: validValue(route.schema?.params as never),
        query: fc.oneof(
          validValue(route.schema?.querystring as never),
          brokenValue(route.schema?.querystring as never),
        ),
        body: hasBody
          ? fc.oneof(
              validValue(route.schema?.body as never).map((v) => ({ broken: false, v })),
              brokenValue(route.schema?.body as never).map((v) => ({ broken: true, v })),
            )
          : fc.constant(undefined),
      });
      await fc.assert(
        fc.asyncProperty(input, async ({ params, query, body }) => {
          const response = await ctl.app.inject({
            method: route.method as 'GET',
            url: url(
              route,
              (params ?? {}) as Record<string, unknown>,
              (query ?? {}) as Record<string, unknown>,
            ),
            headers: { ...headersFor(route), ...(body ? { 'content-type': 'application/json' } : {}) },
            ...(body ? { payload: JSON.stringify(body.v) } : {}),
          });
          const what = `${route.method} ${route.url} body=${JSON.stringify(body?.v)?.slice(0, 200)} → ${response.statusCode} ${response.body.slice(0, 200)}`;
          expect(response.statusCode, what).toBeLessThan(500);
          if (body?.broken) expect(response.statusCode, what).toBeGreaterThanOrEqual(400);
        }),
        { numRuns: 12, seed: 7 },
      );
    }
  });
});
