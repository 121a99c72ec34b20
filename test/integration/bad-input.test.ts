/**
 * Bad input on every route: malformed JSON, wrong types, oversized bodies, unknown
 * ids and random query strings must give a 4xx with the error shape, never a 5xx.
 * Routes are walked from the app itself, so a new route is covered automatically.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteInfo } from '../../controller/src/core/routes.js';
import { bearer, enrolledNode, type TestController, testController } from '../support/controller.js';
import { validValue } from '../support/schema-arbitrary.js';

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
/** Routes whose success path streams forever (SSE) are probed only with bad input that fails fast. */
const STREAMING = new Set(['/api/v1/meter-events', '/api/v1/events']);

describe('bad input on every route', () => {
  let ctl: TestController;
  let headersFor: (route: RouteInfo) => Record<string, string>;
  let agent: Record<string, string>;

  beforeAll(async () => {
    ctl = await testController({ maxBodyBytes: 64 * 1024 });
    const session = await ctl.ownerToken();
    // An API token, not the session: fuzzing logout or refresh must not sign the fuzzer out.
    const created = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/api-tokens',
      headers: bearer(session),
      payload: { name: 'fuzz' },
    });
    const owner = created.json().data.token as string;
    const node = await enrolledNode(ctl, { id: 'fuzz-node', site: 'fuzz' });
    agent = bearer(node.credential);
    headersFor = (route) => (route.access.public ? {} : route.access.user ? bearer(owner) : agent);
  });
  afterAll(async () => ctl.stop());

  function concreteUrl(url: string, value: string): string {
    return url.replace(/:[A-Za-z]+/g, encodeURIComponent(value));
  }

  function expectClientError(status: number, body: string, what: string): void {
    expect(status, `${what} → ${status} ${body.slice(0, 300)}`).toBeLessThan(500);
  }

  it('answers malformed JSON with 400 and the error shape', async () => {
    for (const route of ctl.routes.filter((r) => BODY_METHODS.has(r.method))) {
      const response = await ctl.app.inject({
        method: route.method as 'POST',
        url: concreteUrl(route.url, 'fuzz-node'),
        headers: { ...headersFor(route), 'content-type': 'application/json' },
        payload: '{"broken": ',
      });
      const what = `${route.method} ${route.url} malformed JSON`;
      expectClientError(response.statusCode, response.body, what);
      expect(response.statusCode, what).toBeGreaterThanOrEqual(400);
      expect(response.json().error.code, what).toEqual(expect.any(String));
      expect(response.json().requestId, what).toBe(response.headers['x-request-id']);
    }
  });

  it('answers oversized bodies with 413', async () => {
    const big = JSON.stringify({ padding: 'x'.repeat(200 * 1024) });
    for (const route of ctl.routes.filter((r) => BODY_METHODS.has(r.method))) {
      const response = await ctl.app.inject({
        method: route.method as 'POST',
        url: concreteUrl(route.url, 'fuzz-node'),
        headers: { ...headersFor(route), 'content-type': 'application/json' },
        payload: big,
      });
      const what = `${route.method} ${route.url} oversized`;
      expectClientError(response.statusCode, response.body, what);
      expect([400, 404, 409, 413, 415], what).toContain(response.statusCode);
    }
  });

  it('says what to do about a body too large, of an unknown type, or sent as text', async () => {
    const post = (payload: string, contentType: string) =>
      ctl.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        headers: { 'content-type': contentType },
        payload,
      });
    const large = await post(JSON.stringify({ username: 'x'.repeat(100 * 1024) }), 'application/json');
    expect(large.statusCode).toBe(413);
    expect(large.json().error.message).toMatch(/at most 65536 bytes here \(.*EARSHOT_MAX_BODY_BYTES/);
    const form = await post('username=a&password=b', 'application/x-www-form-urlencoded');
    expect(form.statusCode).toBe(415);
    expect(form.json().error.message).toMatch(
      /"application\/x-www-form-urlencoded" is not accepted here: .*content-type: application\/json/,
    );
    const text = await post('{"username":"a","password":"b"}', 'text/plain');
    expect(text.statusCode).toBe(400);
    expect(text.json().error.message).toMatch(
      /arrived as text: send it with content-type: application\/json/,
    );
  });

  it('never answers 5xx to random bodies, ids and query strings', async () => {
    const jsonValue = fc.jsonValue({ maxDepth: 3 });
    const idLike = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.constantFrom('fuzz-node', '../../etc/passwd', '%00', 'a'.repeat(300), '+', '#'),
    );
    const query = fc.dictionary(
      fc.constantFrom('limit', 'cursor', 'nodeId', 'state', 'from', 'to', 'site', 'outcome'),
      fc.string({ maxLength: 40 }),
    );
    // Routes that retire the fuzzed node's credential go last, so every agent route before them
    // is fuzzed with a credential it accepts (checked before they run), not answered 401.
    const retiring = (r: RouteInfo) =>
      /\/nodes\/:id(\/decommission|\/credential|\/credentials\/rotate)?$/.test(r.url) && r.method !== 'GET';
    const ordered = [...ctl.routes.filter((r) => !retiring(r)), ...ctl.routes.filter(retiring)];
    let checked = false;
    for (const route of ordered) {
      if (STREAMING.has(route.url)) continue;
      if (retiring(route) && !checked) {
        checked = true;
        const config = await ctl.app.inject({
          method: 'GET',
          url: '/api/v1/nodes/fuzz-node/config',
          headers: agent,
        });
        expect(config.statusCode, `the agent's credential before ${route.url}: ${config.body}`).toBe(200);
      }
      await fc.assert(
        fc.asyncProperty(idLike, jsonValue, query, async (id, body, q) => {
          const search = new URLSearchParams(q).toString();
          const response = await ctl.app.inject({
            method: route.method as 'GET',
            url: `${concreteUrl(route.url, id)}${search ? `?${search}` : ''}`,
            headers: headersFor(route),
            ...(BODY_METHODS.has(route.method)
              ? {
                  payload: JSON.stringify(body),
                  headers: { ...headersFor(route), 'content-type': 'application/json' },
                }
              : {}),
          });
          expectClientError(
            response.statusCode,
            response.body,
            `${route.method} ${route.url} id=${JSON.stringify(id)} body=${JSON.stringify(body)} q=${search}`,
          );
        }),
        { numRuns: 15, seed: 42 },
      );
    }
  });

  it('a HEAD on any GET route runs nothing a GET would audit: an export answers 405, not a silent export', async () => {
    const acted: string[] = [];
    for (const route of ctl.routes.filter((r) => r.method === 'GET' && !STREAMING.has(r.url))) {
      const response = await ctl.app.inject({
        method: 'HEAD',
        url: concreteUrl(route.url, 'fuzz-node'),
        headers: headersFor(route),
      });
      expectClientError(response.statusCode, response.body, `HEAD ${route.url}`);
      const events = await ctl.db.auditEvent.findMany({
        where: { requestId: response.headers['x-request-id'] as string, outcome: 'success' },
      });
      if (events.length > 0) acted.push(`HEAD ${route.url} → ${events.map((e) => e.action).join(', ')}`);
      if (route.url.endsWith('/export')) {
        expect(response.statusCode, route.url).toBe(405);
        expect(response.headers.allow, route.url).toBe('GET, POST');
      }
    }
    expect(acted).toEqual([]);
  });

  it('refuses a NUL character in any text with a 400 that names it (PostgreSQL cannot store one)', async () => {
    const withNul = (value: unknown): unknown =>
      typeof value === 'string'
        ? `${value}\u0000`
        : Array.isArray(value)
          ? value.map(withNul)
          : value !== null && typeof value === 'object'
            ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withNul(v)]))
            : value;
    const hasText = (value: unknown): boolean =>
      typeof value === 'string' ||
      (value !== null && typeof value === 'object' && Object.values(value).some(hasText));
    // A node of its own: the fuzzing before may have rotated fuzz-node's credential.
    const node = await enrolledNode(ctl, { id: 'nul-node', site: 'fuzz' });
    const owner = headersFor({ access: { user: 'node:read' } } as RouteInfo);
    const headers = (route: RouteInfo) =>
      route.access.public ? {} : route.access.user ? owner : bearer(node.credential);
    const answers: string[] = [];
    for (const route of ctl.routes) {
      if (STREAMING.has(route.url) || route.url.endsWith('/cache-file')) continue;
      const sample = (schema: unknown) =>
        schema ? fc.sample(validValue(schema as never), { numRuns: 1, seed: 3 })[0] : undefined;
      const body = BODY_METHODS.has(route.method) ? sample(route.schema?.body) : undefined;
      const query = sample(route.schema?.querystring) as Record<string, unknown> | undefined;
      const textQuery = Object.entries(query ?? {}).filter(([, v]) => typeof v === 'string');
      if (!hasText(body) && textQuery.length === 0) continue;
      const search = new URLSearchParams(textQuery.map(([k, v]) => [k, `${v}\u0000`])).toString();
      const response = await ctl.app.inject({
        method: route.method as 'GET',
        url: `${concreteUrl(route.url, 'nul-node')}${search ? `?${search}` : ''}`,
        headers: {
          ...headers(route),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { payload: JSON.stringify(withNul(body)) }),
      });
      if (response.statusCode !== 400 || !/NUL/.test(response.json().error.message))
        answers.push(`${route.method} ${route.url} → ${response.statusCode} ${response.body.slice(0, 160)}`);
    }
    expect(answers).toEqual([]);
  });

  it('never answers 5xx to a cursor that decodes but names no position, on every paged list', async () => {
    // Well-formed cursors (base64url JSON) of values no page ends on: the random strings above
    // almost never decode, so these reach the code that reads the position.
    const odd = [
      ...[
        1.5,
        -1,
        -8e15,
        1e300,
        9e15,
        Date.UTC(10000, 0, 1),
        'x',
        '',
        'a'.repeat(150),
        [1],
        { a: 1 },
        null,
        true,
      ],
      // Positions past any date a database holds, and a NUL no PostgreSQL text holds.
      ...['999999999999999.x', '253402300800000.x', 'b:\u0000', 'c:a\u0000', '\u0000', '1.\u0000'],
    ];
    const paged = ctl.routes.filter(
      (r) =>
        r.method === 'GET' &&
        !STREAMING.has(r.url) &&
        Object.hasOwn(
          (r.schema?.querystring as { properties?: object } | undefined)?.properties ?? {},
          'cursor',
        ),
    );
    expect(paged.length).toBeGreaterThan(20);
    const answers: string[] = [];
    for (const route of paged)
      for (const value of odd) {
        const cursor = Buffer.from(JSON.stringify(value)).toString('base64url');
        const response = await ctl.app.inject({
          method: 'GET',
          url: `${concreteUrl(route.url, 'fuzz-node')}?cursor=${cursor}`,
          headers: headersFor(route),
        });
        if (response.statusCode >= 500)
          answers.push(
            `${route.url} cursor=${JSON.stringify(value)} → ${response.statusCode} ${response.body}`,
          );
      }
    expect(answers).toEqual([]);
  });

  it('kept its credentials through the whole run, so the routes were really exercised', async () => {
    const me = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: headersFor({ method: 'GET', url: '/api/v1/auth/me', access: { user: 'authenticated' } }),
    });
    expect(me.statusCode).toBe(200);
  });

  describe('no body', () => {
    it('a POST with no body at all: read as {} where every field is optional, else a 400; never 5xx', async () => {
      // Its own controller: bodies read as {} really run (a node decommissioned, a token revoked…).
      const ctl = await testController();
      const owner = await ctl.ownerToken();
      const node = await enrolledNode(ctl, { id: 'empty-node', site: 'empty' });
      const dryRun = await ctl.app.inject({
        method: 'POST',
        url: '/api/v1/retention/run',
        headers: bearer(owner),
      });
      expect(dryRun.statusCode, dryRun.body).toBe(200);
      const needsNode = await ctl.app.inject({
        method: 'POST',
        url: '/api/v1/recordings',
        headers: bearer(owner),
      });
      expect(needsNode.statusCode).toBe(400);
      expect(needsNode.json().error.message).toMatch(/body must be object/);
      for (const route of ctl.routes.filter((r) => BODY_METHODS.has(r.method))) {
        const auth = route.access.public ? {} : route.access.user ? bearer(owner) : bearer(node.credential);
        const response = await ctl.app.inject({
          method: route.method as 'POST',
          url: route.url.replace(/:[A-Za-z]+/g, 'empty-node'),
          headers: auth,
        });
        expect(
          response.statusCode,
          `${route.method} ${route.url} with no body: ${response.body.slice(0, 300)}`,
        ).toBeLessThan(500);
      }
      await ctl.stop();
    });
  });
});
