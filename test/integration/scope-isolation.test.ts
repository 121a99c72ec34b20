/**
 * Scope isolation, from the outside: a principal scoped to one site, and one scoped to one
 * node, call every collection route (lists, facets, exports) and every route that takes an
 * object id, against a fleet with objects in another site.
 *   - a collection returns no row, count or exported line that belongs outside the scope;
 *   - a route that takes an object id, called with an object outside the scope, is refused
 *     (404, or 403 when the route is fleet-wide) and writes exactly one denied audit event.
 * A new collection route, or a new route with an object id, without a row here fails.
 */
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bearer,
  enrolledNode,
  type TestController,
  testController,
  userWithRole,
} from '../support/controller.js';
import { createRecording } from '../support/recordings.js';
import { validValue } from '../support/schema-arbitrary.js';

interface Fleet {
  /** Ids of everything in site "east" (A) and in site "west" (B). */
  east: { siteId: string; nodes: string[]; recordings: string[]; jobs: string[]; schedules: string[] };
  west: { siteId: string; nodes: string[]; recordings: string[]; jobs: string[]; schedules: string[] };
}

type Row = { page: (body: string) => { ids: string[]; total?: number } };
const page = (body: string) => JSON.parse(body).data as Record<string, unknown>[];
const ndjsonLines = (body: string) =>
  body
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** A guild outside every site grant. */
const WEST_GUILD = '100000000000000009';

/** How to read what a collection returned, as the ids of the objects it reveals. */
const COLLECTIONS: Record<string, Row | { exempt: string }> = {
  'GET /api/v1/nodes': { page: (b) => ({ ids: page(b).map((n) => n.id as string) }) },
  'GET /api/v1/nodes/facets': {
    page: (b) => ({ ids: (JSON.parse(b).data.site as { value: string }[]).map((f) => f.value) }),
  },
  'GET /api/v1/nodes/export': { page: (b) => ({ ids: ndjsonLines(b).map((n) => n.id as string) }) },
  'POST /api/v1/nodes/export': { page: (b) => ({ ids: ndjsonLines(b).map((n) => n.id as string) }) },
  'GET /api/v1/recordings': {
    page: (b) => ({ ids: page(b).flatMap((r) => [r.id as string, r.nodeId as string]) }),
  },
  'GET /api/v1/recordings/facets': {
    page: (b) => ({ ids: (JSON.parse(b).data.node as { value: string }[]).map((f) => f.value) }),
  },
  'GET /api/v1/recordings/export': {
    page: (b) => ({ ids: ndjsonLines(b).flatMap((r) => [r.id as string, r.nodeId as string]) }),
  },
  'POST /api/v1/recordings/export': {
    page: (b) => ({ ids: ndjsonLines(b).flatMap((r) => [r.id as string, r.nodeId as string]) }),
  },
  'GET /api/v1/upload-queue/facets': {
    exempt:
      'counts by state and provider, no object ids: upload-queue.test.ts checks another site counts none',
  },
  'GET /api/v1/upload-queue': {
    page: (b) => ({
      ids: page(b).flatMap((i) => [i.id as string, i.recordingId as string, i.nodeId as string]),
    }),
  },
  'GET /api/v1/recording-jobs': {
    page: (b) => ({ ids: page(b).flatMap((j) => [j.id as string, j.nodeId as string]) }),
  },
  'GET /api/v1/recording-jobs/facets': {
    page: (b) => ({ ids: (JSON.parse(b).data.nodeId as { value: string }[]).map((f) => f.value) }),
  },
  'GET /api/v1/recording-jobs/export': {
    page: (b) => ({ ids: ndjsonLines(b).flatMap((j) => [j.id as string, j.nodeId as string]) }),
  },
  'POST /api/v1/recording-jobs/export': {
    page: (b) => ({ ids: ndjsonLines(b).flatMap((j) => [j.id as string, j.nodeId as string]) }),
  },
  'GET /api/v1/audit-events': {
    page: (b) => ({ ids: page(b).map((e) => (e.target as { id: string | null } | null)?.id ?? '') }),
  },
  'GET /api/v1/audit-events/facets': {
    page: (b) => {
      const data = JSON.parse(b).data as { total: number; targetType: { value: string }[] };
      return { ids: [], total: data.total };
    },
  },
  'GET /api/v1/audit-events/export': {
    page: (b) => ({ ids: ndjsonLines(b).map((e) => (e.target as { id: string | null })?.id ?? '') }),
  },
  'POST /api/v1/audit-events/export': {
    page: (b) => ({ ids: ndjsonLines(b).map((e) => (e.target as { id: string | null })?.id ?? '') }),
  },
  'GET /api/v1/auth/users': { page: (b) => ({ ids: page(b).map((u) => u.id as string) }) },
  'GET /api/v1/schedules': {
    page: (b) => ({
      ids: page(b).flatMap((s) => [
        s.id as string,
        ...(s.targets as { nodeId: string }[]).map((t) => t.nodeId),
      ]),
    }),
  },
  'GET /api/v1/schedules/facets': {
    page: (b) => ({ ids: (JSON.parse(b).data.nodeId as { value: string }[]).map((f) => f.value) }),
  },
  'GET /api/v1/schedules/export': { page: (b) => ({ ids: ndjsonLines(b).map((s) => s.id as string) }) },
  'POST /api/v1/schedules/export': { page: (b) => ({ ids: ndjsonLines(b).map((s) => s.id as string) }) },
  'GET /api/v1/health-events': {
    page: (b) => ({ ids: page(b).flatMap((e) => [e.id as string, e.nodeId as string]) }),
  },
  'GET /api/v1/health-events/facets': {
    page: (b) => ({ ids: (JSON.parse(b).data.nodeId as { value: string }[]).map((f) => f.value) }),
  },
  'GET /api/v1/health-events/export': {
    page: (b) => ({ ids: ndjsonLines(b).flatMap((e) => [e.id as string, e.nodeId as string]) }),
  },
  'POST /api/v1/health-events/export': {
    page: (b) => ({ ids: ndjsonLines(b).flatMap((e) => [e.id as string, e.nodeId as string]) }),
  },
  'GET /api/v1/guilds': { page: (b) => ({ ids: page(b).map((g) => g.id as string) }) },
  'GET /api/v1/auth/groups': { page: (b) => ({ ids: page(b).map((g) => g.id as string) }) },
  'GET /api/v1/auth/roles': { exempt: 'role definitions are fleet-wide catalogue entries, not site data' },
  'GET /api/v1/auth/api-tokens': { exempt: "the caller's own tokens only (auth.test.ts)" },
  'GET /api/v1/meter-events': { exempt: 'a stream; scoped per frame in broker.test.ts / meters tests' },
  'GET /api/v1/status': { exempt: 'counts, not objects: its scoping is checked in status.test.ts' },
  'GET /api/v1/health': { exempt: 'counts, not objects: its scoping is checked in ops-health.test.ts' },
  'GET /api/v1/settings/channel-map-assignments': {
    page: (b) => ({ ids: page(b).map((a) => a.nodeId as string) }),
  },
  'GET /api/v1/settings/channel-map-plans': {
    page: (b) => ({
      ids: page(b).flatMap((p) => [
        p.id as string,
        ...(p.changes as { nodeId: string }[]).map((c) => c.nodeId),
      ]),
    }),
  },
};

/**
 * A collection: a GET (or an export POST) with no path parameter, under /api/v1, not public
 * and not fleet-wide (those refuse any caller below the fleet: see rbac-matrix.test.ts).
 */
function isCollection(route: {
  method: string;
  url: string;
  access: { public?: true; user?: string; scope?: string };
}) {
  if (route.access.scope === 'fleet') return false;
  if (route.access.public || !route.access.user || route.access.user === 'authenticated')
    return route.url === '/api/v1/auth/api-tokens' && route.method === 'GET';
  if (!route.url.startsWith('/api/v1/') || route.url.includes(':')) return false;
  return route.method === 'GET' || route.url.endsWith('/export');
}

describe('scope isolation', () => {
  let ctl: TestController;
  let owner: string;
  const fleet: Fleet = {
    east: { siteId: '', nodes: [], recordings: [], jobs: [], schedules: [] },
    west: { siteId: '', nodes: [], recordings: [], jobs: [], schedules: [] },
  };
  /** Site-scoped and node-scoped owners: every permission, only there. */
  let siteOwner: string;
  let nodeOwner: string;
  let westUserId: string;
  let westGroupId: string;
  let eastNode: { nodeId: string; credential: string };
  /** A staged channel-map plan for a west node. */
  let westPlan: string;
  /** A copy of a west recording in the upload queue. */
  let westUploadItem: string;

  async function call(token: string, options: InjectOptions) {
    return ctl.app.inject({ ...options, headers: { ...bearer(token), ...(options.headers ?? {}) } });
  }

  beforeAll(async () => {
    ctl = await testController();
    owner = await ctl.ownerToken();
    for (const [site, ids] of [
      ['east', ['east-1', 'east-2']],
      ['west', ['west-1']],
    ] as const) {
      for (const id of ids) {
        const node = await enrolledNode(ctl, { id, site });
        if (id === 'east-1') eastNode = node;
        fleet[site].siteId = node.siteId;
        fleet[site].nodes.push(id);
        for (let i = 0; i < 2; i++) {
          const recording = await createRecording(ctl, owner, id, { durationSeconds: 5 });
          fleet[site].recordings.push(recording.id);
          fleet[site].jobs.push(recording.job.id);
        }
        const schedule = await call(owner, {
          method: 'POST',
          url: '/api/v1/schedules',
          payload: {
            name: `daily on ${id}`,
            recurrence: 'RRULE:FREQ=DAILY',
            timeZone: 'UTC',
            start: '2030-01-01T09:00',
            durationSeconds: 60,
            targets: [{ nodeId: id }],
          },
        });
        fleet[site].schedules.push(schedule.json().data.id);
        // A health event its agent reported: `health-<node>` (it leaks its node id if listed).
        const seen = new Date().toISOString();
        await call(node.credential, {
          method: 'POST',
          url: `/api/v1/nodes/${id}/health-events`,
          payload: {
            ...{ id: `health-${id}`, type: 'silence', severity: 'warning', state: 'open', message: 'quiet' },
            ...{ firstSeenAt: seen, lastSeenAt: seen, count: 1 },
          },
        });
      }
    }
    siteOwner = await userWithRole(ctl, 'east-owner', 'owner', { type: 'site', id: fleet.east.siteId });
    nodeOwner = await userWithRole(ctl, 'east-1-owner', 'owner', { type: 'node', id: 'east-1' });
    const westUser = await call(owner, {
      method: 'POST',
      url: '/api/v1/auth/users',
      payload: {
        username: 'west-viewer',
        password: 'a perfectly long password',
        grants: [{ role: 'viewer', scope: { type: 'site', id: fleet.west.siteId } }],
      },
    });
    westUserId = westUser.json().data.id;
    const westGroup = await call(owner, {
      method: 'POST',
      url: '/api/v1/auth/groups',
      payload: {
        name: 'west-operators',
        grants: [{ role: 'operator', scope: { type: 'site', id: fleet.west.siteId } }],
      },
    });
    westGroupId = westGroup.json().data.id;
    // A guild no site grant reaches (the west guild): no collection may list it.
    await ctl.services.attendance.onGuildAvailable(WEST_GUILD, 'west guild', [], null);
    // Channel maps on both sides: assignments, and a staged plan per site.
    const template = await call(owner, {
      method: 'POST',
      url: '/api/v1/settings/channel-map-templates',
      payload: { name: 'scope template' },
    });
    for (const nodeId of ['east-1', 'west-1']) {
      const templateId = template.json().data.id as string;
      await call(owner, {
        method: 'PUT',
        url: `/api/v1/settings/channel-map-assignments/${nodeId}`,
        payload: { templateId },
      });
      const plan = await call(owner, {
        method: 'POST',
        url: '/api/v1/settings/channel-map-plans',
        payload: { name: `plan ${nodeId}`, items: [{ nodeId, templateId: null }] },
      });
      if (nodeId === 'west-1') westPlan = plan.json().data.id;
    }
    for (const recordingId of [fleet.east.recordings[0]!, fleet.west.recordings[1]!]) {
      const item = await ctl.db.uploadQueueItem.create({
        data: {
          recordingId,
          providerId: '00000000-0000-4000-8000-0000000000aa',
          state: 'failed',
          maxAttempts: 1,
          nextAttemptAt: new Date(),
          objectKey: `recordings/${recordingId}.wav`,
          sizeBytes: 0n,
          sha256: '0'.repeat(64),
        },
      });
      if (recordingId === fleet.west.recordings[1]) westUploadItem = item.id;
    }
    // Some events of the west site's own: a stop request and a refused read.
    await call(owner, { method: 'POST', url: `/api/v1/recordings/${fleet.west.recordings[0]}/stop` });
  });
  afterAll(async () => ctl.stop());

  it('has a row for every collection route', () => {
    const collections = ctl.routes.filter(isCollection).map((r) => `${r.method} ${r.url}`);
    expect(
      collections.filter((c) => !(c in COLLECTIONS)),
      'add a row to COLLECTIONS in test/integration/scope-isolation.test.ts',
    ).toEqual([]);
    expect(Object.keys(COLLECTIONS).filter((c) => !collections.includes(c))).toEqual([]);
  });

  for (const [who, tokenOf, outside] of [
    ['a site-scoped owner', () => siteOwner, () => [...westIds(), ...Object.values(fleet.west).flat()]],
    [
      'a node-scoped owner',
      () => nodeOwner,
      () => [
        ...westIds(),
        ...Object.values(fleet.west).flat(),
        'east-2',
        ...fleet.east.recordings.slice(2),
        ...fleet.east.jobs.slice(2),
      ],
    ],
  ] as const) {
    it(`collections return nothing outside the scope of ${who}`, async () => {
      const token = tokenOf();
      const forbiddenIds = new Set(outside().filter(Boolean));
      const failures: string[] = [];
      let listed = 0;
      let faceted = -1;
      for (const [key, row] of Object.entries(COLLECTIONS)) {
        if ('exempt' in row) continue;
        const [method, url] = key.split(' ') as ['GET' | 'POST', string];
        const allIds = url.startsWith('/api/v1/schedules')
          ? [...fleet.east.schedules, ...fleet.west.schedules]
          : url.startsWith('/api/v1/health-events')
            ? [...fleet.east.nodes, ...fleet.west.nodes].map((id) => `health-${id}`)
            : url.startsWith('/api/v1/nodes')
              ? [...fleet.east.nodes, ...fleet.west.nodes]
              : url.startsWith('/api/v1/recording-jobs')
                ? [...fleet.east.jobs, ...fleet.west.jobs]
                : url.startsWith('/api/v1/recordings')
                  ? [...fleet.east.recordings, ...fleet.west.recordings]
                  : (await ctl.db.auditEvent.findMany({ select: { id: true } })).map((e) => e.id);
        const response = await call(token, {
          method,
          url,
          ...(method === 'POST' ? { payload: { ids: allIds, format: 'ndjson' } } : {}),
        });
        if (response.statusCode !== 200) {
          failures.push(`${key}: ${response.statusCode} ${response.body.slice(0, 120)}`);
          continue;
        }
        const { ids, total } = row.page(response.body);
        for (const id of ids) if (forbiddenIds.has(id)) failures.push(`${key} revealed ${id}`);
        if (key === 'GET /api/v1/audit-events') listed = page(response.body).length;
        if (total !== undefined) faceted = total;
      }
      expect(failures).toEqual([]);
      // The facets count what the list shows, not the fleet (fewer than 100 events: one page).
      expect(listed).toBeGreaterThan(0);
      expect(faceted).toBe(listed);
      expect(faceted).toBeLessThan(await ctl.db.auditEvent.count());
    });
  }

  function westIds(): string[] {
    // The west site's name too: the node facets count by site name.
    return [westUserId, westGroupId, WEST_GUILD, 'west'];
  }

  /** A value for a route parameter that names an object outside the east site. */
  function outsideParam(url: string, name: string, auditId: string, tokenId: string): string {
    if (name === 'guildId') return WEST_GUILD;
    if (name === 'jid') return fleet.west.jobs[1]!;
    if (name === 'userId') return westUserId;
    if (name === 'periodIndex') return '0';
    if (name === 'channelId') return '200000000000000001';
    if (name === 'destinationId' || name === 'ruleId') return '00000000-0000-4000-8000-000000000001';
    if (name === 'sessionId') return '00000000-0000-4000-8000-000000000002';
    if (name === 'sid') return 'ls_outside';
    if (url.startsWith('/api/v1/nodes/')) return 'west-1';
    if (url.startsWith('/api/v1/settings/channel-map-assignments/')) return 'west-1';
    if (url.startsWith('/api/v1/settings/channel-map-plans/')) return westPlan;
    if (url.startsWith('/api/v1/recordings/')) return fleet.west.recordings[1]!;
    if (url.startsWith('/api/v1/upload-queue/')) return westUploadItem;
    if (url.startsWith('/api/v1/schedules/')) return fleet.west.schedules[0]!;
    if (url.startsWith('/api/v1/health-events/')) return 'health-west-1';
    if (url.startsWith('/api/v1/auth/users/')) return westUserId;
    if (url.startsWith('/api/v1/auth/groups/')) return westGroupId;
    if (url.startsWith('/api/v1/audit-events/')) return auditId;
    if (url.startsWith('/api/v1/auth/api-tokens/')) return tokenId;
    return '00000000-0000-4000-8000-000000000003';
  }

  it('every route taking an object id refuses an object outside the scope, audited once', async () => {
    const westEvent = await ctl.db.auditEvent.findFirstOrThrow({ where: { siteId: fleet.west.siteId } });
    // Someone else's API token: the east owner must not learn it exists.
    const otherToken = await call(owner, {
      method: 'POST',
      url: '/api/v1/auth/api-tokens',
      payload: { name: 'owner only' },
    });
    const tokenId = otherToken.json().data.id as string;
    // Routes that name no object of a scope: a role is a fleet-wide definition every
    // auth:manage holder sees; the public verification routes check signatures for anyone.
    const exempt = [
      /^(PATCH|DELETE) \/api\/v1\/auth\/roles\/:id$/,
      /^GET \/api\/v1\/verify\//,
      /^GET \/mqtt$/,
    ];
    const routes = ctl.routes.filter(
      (r) => r.url.includes(':') && !r.access.public && !exempt.some((re) => re.test(`${r.method} ${r.url}`)),
    );
    expect(routes.length).toBeGreaterThan(40);
    const failures: string[] = [];
    for (const route of routes) {
      const key = `${route.method} ${route.url}`;
      const url = route.url.replace(/:([A-Za-z]+)/g, (_m, name: string) =>
        outsideParam(route.url, name, westEvent.id, tokenId),
      );
      // A body that passes the schema, so the request reaches the scope check.
      const body = route.schema?.body
        ? fc.sample(validValue(route.schema.body as never), { numRuns: 1, seed: 7 })[0]
        : undefined;
      const query = route.schema?.querystring
        ? (fc.sample(validValue(route.schema.querystring as never), { numRuns: 1, seed: 7 })[0] as Record<
            string,
            unknown
          >)
        : undefined;
      const agentOnly = !route.access.user;
      const token = agentOnly ? eastNode.credential : siteOwner;
      const response = await call(token, {
        method: route.method as 'GET',
        url,
        ...(query
          ? { query: Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)])) }
          : {}),
        ...(body === undefined || route.method === 'GET' ? {} : { payload: body as object }),
        ...(route.url.endsWith('/cache-file') && route.method === 'PUT'
          ? {
              payload: Buffer.alloc(0),
              headers: {
                'content-type': 'application/octet-stream',
                'x-earshot-epoch': '1',
                'x-earshot-sha256': 'a'.repeat(64),
                'x-earshot-total-bytes': '44',
                'content-range': 'bytes */44',
              },
            }
          : {}),
      });
      const expected = route.access.scope === 'fleet' ? 403 : 404;
      if (response.statusCode !== expected) {
        failures.push(
          `${key}: expected ${expected}, got ${response.statusCode} ${response.body.slice(0, 140)}`,
        );
        continue;
      }
      const events = await ctl.db.auditEvent.findMany({
        where: { requestId: response.headers['x-request-id'] as string },
      });
      if (events.length !== 1 || events[0]!.outcome !== 'denied')
        failures.push(
          `${key}: expected one denied audit event, got ${JSON.stringify(events.map((e) => e.outcome))}`,
        );
    }
    expect(failures).toEqual([]);
  });

  it('a site-scoped admin cannot change fleet-wide access policies (not even remove a mapping)', async () => {
    const before = (await call(owner, { method: 'GET', url: '/api/v1/auth/access-policies' })).json().data;
    for (const payload of [
      { password: { minLength: 8 } },
      { sessions: { idleMinutes: 5 } },
      { oidcRoleMappings: [] },
    ]) {
      const response = await call(siteOwner, {
        method: 'PATCH',
        url: '/api/v1/auth/access-policies',
        payload,
      });
      expect(response.statusCode, JSON.stringify(payload)).toBe(403);
      expect(response.json().error.message).toMatch(/whole fleet/);
      const events = await ctl.db.auditEvent.findMany({
        where: { requestId: response.headers['x-request-id'] as string },
      });
      expect(events.map((e) => e.outcome)).toEqual(['denied']);
    }
    expect((await call(owner, { method: 'GET', url: '/api/v1/auth/access-policies' })).json().data).toEqual(
      before,
    );
    expect((await call(siteOwner, { method: 'GET', url: '/metrics' })).statusCode).toBe(403);
  });

  it('enrolling reveals nothing about sites or node ids the caller cannot see', async () => {
    const enroll = (payload: object) =>
      call(siteOwner, { method: 'POST', url: '/api/v1/nodes/enroll', payload });
    const existing = await enroll({ name: 'x', site: 'west' });
    const missing = await enroll({ name: 'x', site: 'no-such-site' });
    expect(existing.statusCode).toBe(403);
    expect(missing.statusCode).toBe(403);
    expect(existing.json().error.message.replace('west', 'S')).toBe(
      missing.json().error.message.replace('no-such-site', 'S'),
    );
    // A chosen id is fleet-wide: taken or free, the answer is the same refusal.
    const taken = await enroll({ name: 'x', site: 'east', id: 'west-1' });
    const free = await enroll({ name: 'x', site: 'east', id: 'brand-new' });
    expect([taken.statusCode, free.statusCode]).toEqual([403, 403]);
    expect(taken.json().error.message).toBe(free.json().error.message);
    // In its own site, with a generated id, it works.
    expect((await enroll({ name: 'x', site: 'east' })).statusCode).toBe(201);
  });

  it('disabling a user revokes their API tokens: enabling them again does not revive them', async () => {
    const created = await call(owner, {
      method: 'POST',
      url: '/api/v1/auth/users',
      payload: {
        username: 'token-holder',
        password: 'a perfectly long password',
        grants: [{ role: 'viewer', scope: { type: 'fleet' } }],
      },
    });
    const userId = created.json().data.id as string;
    const login = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'token-holder', password: 'a perfectly long password' },
    });
    const apiToken = (
      await call(login.json().data.token, {
        method: 'POST',
        url: '/api/v1/auth/api-tokens',
        payload: { name: 't' },
      })
    ).json().data.token as string;
    expect((await call(apiToken, { method: 'GET', url: '/api/v1/nodes' })).statusCode).toBe(200);
    const status = (disabled: boolean) =>
      call(owner, { method: 'PATCH', url: `/api/v1/auth/users/${userId}/status`, payload: { disabled } });
    expect((await status(true)).statusCode).toBe(200);
    expect((await call(apiToken, { method: 'GET', url: '/api/v1/nodes' })).statusCode).toBe(401);
    expect((await status(false)).statusCode).toBe(200);
    expect((await call(apiToken, { method: 'GET', url: '/api/v1/nodes' })).statusCode).toBe(401);
  });
});
