import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bearer,
  enrolledNode,
  type TestController,
  testController,
  userWithRole,
} from '../support/controller.js';

describe('nodes: enrollment, credentials, scope', () => {
  let ctl: TestController;
  let owner: string;
  beforeAll(async () => {
    ctl = await testController();
    owner = await ctl.ownerToken();
  });
  afterAll(async () => ctl.stop());

  /** The agent's heartbeat: capturing from hw:1, with `extra` fields. */
  const heartbeat = (nodeId: string, credential: string, extra: object = {}) =>
    ctl.app.inject({
      method: 'POST',
      url: `/api/v1/nodes/${nodeId}/heartbeat`,
      headers: bearer(credential),
      payload: {
        agentVersion: '1.2.3',
        captureDevice: 'hw:1',
        captureState: 'capturing',
        diskFreeBytes: 123456789,
        clockOffsetMs: 0,
        sentAtMs: Date.now(),
        ...extra,
      },
    });

  it('exchanges an enrollment token exactly once for a credential stored hashed', async () => {
    const enroll = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/nodes/enroll',
      headers: bearer(owner),
      payload: { name: 'Studio A', site: 'hq', id: 'studio-a' },
    });
    expect(enroll.statusCode).toBe(201);
    const { enrollmentToken } = enroll.json().data;
    const first = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/agent/enroll',
      payload: { token: enrollmentToken },
    });
    expect(first.statusCode).toBe(200);
    const { credential, nodeId } = first.json().data;
    expect(nodeId).toBe('studio-a');
    const again = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/agent/enroll',
      payload: { token: enrollmentToken },
    });
    expect(again.statusCode).toBe(401);
    const row = await ctl.db.node.findUniqueOrThrow({ where: { id: 'studio-a' } });
    expect(row.credentialHash).not.toContain(credential.split('.')[1]);
    expect(row.enrollmentHash).toBeNull();

    const config = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/nodes/studio-a/config',
      headers: bearer(credential),
    });
    expect(config.statusCode).toBe(200);
    expect(config.json().data.nodeId).toBe('studio-a');
  });

  it('lets a node read only its own config and take heartbeats', async () => {
    const a = await enrolledNode(ctl, { id: 'node-a', site: 'hq' });
    await enrolledNode(ctl, { id: 'node-b', site: 'hq' });
    const other = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/nodes/node-b/config',
      headers: bearer(a.credential),
    });
    expect(other.statusCode).toBe(404);
    const beat = await heartbeat('node-a', a.credential, { clockOffsetMs: -3, headroomHours: 31.5 });
    expect(beat.statusCode).toBe(200);
    const metrics = await ctl.app.inject({ method: 'GET', url: '/metrics', headers: bearer(owner) });
    expect(metrics.body).toContain('earshot_node_headroom_hours{node="node-a"} 31.5');
    // Each node in service, by id and name: online by its heartbeat, or not (Prometheus's node-offline alert).
    expect(metrics.body).toMatch(/earshot_node_online\{node="node-a",name="[^"]+"\} 1\n/);
    expect(metrics.body).toMatch(/earshot_node_online\{node="node-b",name="[^"]+"\} 0\n/);
    const node = await ctl.app.inject({ method: 'GET', url: '/api/v1/nodes/node-a', headers: bearer(owner) });
    expect(node.json().data).toMatchObject({
      agentVersion: '1.2.3',
      diskFreeBytes: 123456789,
      headroomHours: 31.5,
      presence: { online: true },
    });
    // Stored with the heartbeat: every replica's list says it, not only the one it reached.
    const listed = await ctl.app.inject({ method: 'GET', url: '/api/v1/nodes', headers: bearer(owner) });
    expect(listed.json().data.find((n: { id: string }) => n.id === 'node-a').headroomHours).toBe(31.5);
    // The broker reporting the agent offline (its last will) wins over the recent heartbeat.
    await ctl.services.nodes.setPresence('node-a', false);
    const gone = await ctl.app.inject({ method: 'GET', url: '/api/v1/nodes/node-a', headers: bearer(owner) });
    expect(gone.json().data.presence).toMatchObject({
      online: false,
      lastSeenAt: node.json().data.presence.lastSeenAt,
    });
    expect(await ctl.metrics.render()).toMatch(/earshot_node_online\{node="node-a",name="[^"]+"\} 0\n/);
    await ctl.services.nodes.setPresence('node-a', true);
    const back = await ctl.app.inject({ method: 'GET', url: '/api/v1/nodes/node-a', headers: bearer(owner) });
    expect(back.json().data.presence.online).toBe(true);
    // An agent cannot call user routes.
    expect(
      (await ctl.app.inject({ method: 'GET', url: '/api/v1/nodes', headers: bearer(a.credential) }))
        .statusCode,
    ).toBe(403);
  });

  it('rotates the credential: the old one stops working at once', async () => {
    const n = await enrolledNode(ctl, { id: 'rot-1', site: 'hq' });
    const rotated = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/nodes/rot-1/credentials/rotate',
      headers: bearer(owner),
    });
    expect(rotated.statusCode).toBe(200);
    const fresh = rotated.json().data.credential;
    expect(
      (
        await ctl.app.inject({
          method: 'GET',
          url: '/api/v1/nodes/rot-1/config',
          headers: bearer(n.credential),
        })
      ).statusCode,
    ).toBe(401);
    expect(
      (await ctl.app.inject({ method: 'GET', url: '/api/v1/nodes/rot-1/config', headers: bearer(fresh) }))
        .statusCode,
    ).toBe(200);
  });

  it('keeps one active credential when rotations race', async () => {
    await enrolledNode(ctl, { id: 'rot-race', site: 'hq' });
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        ctl.app.inject({
          method: 'POST',
          url: '/api/v1/nodes/rot-race/credentials/rotate',
          headers: bearer(owner),
        }),
      ),
    );
    const winners = results
      .filter((r) => r.statusCode === 200)
      .map((r) => r.json().data.credential as string);
    expect(winners.length).toBeGreaterThanOrEqual(1);
    expect(results.every((r) => r.statusCode === 200 || r.statusCode === 409)).toBe(true);
    const working = [];
    for (const credential of winners) {
      const r = await ctl.app.inject({
        method: 'GET',
        url: '/api/v1/nodes/rot-race/config',
        headers: bearer(credential),
      });
      if (r.statusCode === 200) working.push(credential);
    }
    expect(working).toHaveLength(1);
  });

  it('enrolls several nodes into a new site at once: every one enrolled, one site created', async () => {
    const enrolled = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        ctl.app.inject({
          method: 'POST',
          url: '/api/v1/nodes/enroll',
          headers: bearer(owner),
          payload: { name: `race ${i}`, site: 'race-site' },
        }),
      ),
    );
    expect(enrolled.map((r) => r.statusCode)).toEqual([201, 201, 201, 201, 201, 201]);
    expect(await ctl.db.site.count({ where: { name: 'race-site' } })).toBe(1);
  });

  it('scopes reads to the caller: out-of-scope nodes are 404 and absent from lists', async () => {
    await enrolledNode(ctl, { id: 'east-1', site: 'east' });
    await enrolledNode(ctl, { id: 'west-1', site: 'west' });
    const east = await ctl.db.site.findUniqueOrThrow({ where: { name: 'east' } });
    const viewer = await userWithRole(ctl, 'east-viewer', 'viewer', { type: 'site', id: east.id });
    const list = await ctl.app.inject({ method: 'GET', url: '/api/v1/nodes', headers: bearer(viewer) });
    expect(list.json().data.map((n: { id: string }) => n.id)).toEqual(['east-1']);
    expect(
      (await ctl.app.inject({ method: 'GET', url: '/api/v1/nodes/west-1', headers: bearer(viewer) }))
        .statusCode,
    ).toBe(404);
    expect(
      (await ctl.app.inject({ method: 'GET', url: '/api/v1/nodes/east-1', headers: bearer(viewer) }))
        .statusCode,
    ).toBe(200);
    // Visible permission missing → 403, audited as a denial.
    const enroll = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/nodes/enroll',
      headers: bearer(viewer),
      payload: { name: 'x', site: 'east' },
    });
    expect(enroll.statusCode).toBe(403);
    const denials = await ctl.db.auditEvent.count({
      where: { outcome: 'denied', actorName: 'east-viewer', permission: 'node:manage' },
    });
    expect(denials).toBe(1);
  });

  it('counts what the inventory shows by site, presence, enrollment, service and capture state', async () => {
    const a = await enrolledNode(ctl, { id: 'facet-a1', site: 'facet-a' });
    await enrolledNode(ctl, { id: 'facet-a2', site: 'facet-a' });
    await enrolledNode(ctl, { id: 'facet-b1', site: 'facet-b' });
    // Enrolled by an administrator, its agent not yet exchanged the token: not enrolled.
    const pending = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/nodes/enroll',
      headers: bearer(owner),
      payload: { name: 'pending', site: 'facet-a', id: 'facet-a3' },
    });
    expect(pending.statusCode).toBe(201);
    const beat = await heartbeat('facet-a1', a.credential);
    expect(beat.statusCode, beat.body).toBe(200);
    const retired = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/nodes/facet-a2/decommission',
      headers: bearer(owner),
    });
    expect(retired.statusCode, retired.body).toBe(200);

    const facets = async (token: string, query = '') => {
      const response = await ctl.app.inject({
        method: 'GET',
        url: `/api/v1/nodes/facets${query}`,
        headers: bearer(token),
      });
      expect(response.statusCode, response.body).toBe(200);
      return response.json().data;
    };
    const siteA = await facets(owner, '?site=facet-a');
    expect(siteA.total).toBe(3);
    expect(siteA.site).toEqual([{ value: 'facet-a', count: 3 }]);
    expect(siteA.online).toEqual([
      { value: false, count: 2 },
      { value: true, count: 1 },
    ]);
    // Decommissioning retires the credential: only facet-a1 holds one.
    expect(siteA.enrolled).toEqual([
      { value: false, count: 2 },
      { value: true, count: 1 },
    ]);
    expect(siteA.decommissioned).toEqual([
      { value: false, count: 2 },
      { value: true, count: 1 },
    ]);
    expect(siteA.captureState).toEqual([
      { value: 'unreported', count: 2 },
      { value: 'capturing', count: 1 },
    ]);
    // The counts are the list's: the same filter, the same nodes.
    const listed = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/nodes?site=facet-a',
      headers: bearer(owner),
    });
    expect(listed.json().data).toHaveLength(siteA.total);

    // A caller over one site counts that site's nodes only; a site they cannot see counts nothing.
    const siteB = await ctl.db.site.findUniqueOrThrow({ where: { name: 'facet-b' } });
    const viewer = await userWithRole(ctl, 'facet-viewer', 'viewer', { type: 'site', id: siteB.id });
    const seen = await facets(viewer);
    expect(seen.total).toBe(1);
    expect(seen.site).toEqual([{ value: 'facet-b', count: 1 }]);
    expect((await facets(viewer, '?site=facet-a')).total).toBe(0);
    const bad = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/nodes/facets?limit=5',
      headers: bearer(owner),
    });
    expect(bad.statusCode).toBe(400);
  });

  it('refuses a node id that names one of the inventory’s own reads', async () => {
    for (const id of ['export', 'facets']) {
      const response = await ctl.app.inject({
        method: 'POST',
        url: '/api/v1/nodes/enroll',
        headers: bearer(owner),
        payload: { name: id, site: 'hq', id },
      });
      expect(response.statusCode, id).toBe(400);
      expect(response.json().error.message).toContain(`"${id}" is reserved`);
    }
    // Every other static GET under /nodes/ is reserved too (a new one must join the list).
    const statics = ctl.routes
      .filter((r) => r.method === 'GET' && /^\/api\/v1\/nodes\/[^/:]+$/.test(r.url))
      .map((r) => r.url.split('/').at(-1))
      .sort();
    expect(statics).toEqual(['export', 'facets']);
  });

  it('pages through the inventory with a cursor', async () => {
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { json(): { data: { id: string }[]; nextCursor: string | null } } = await ctl.app.inject({
        method: 'GET',
        url: `/api/v1/nodes?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        headers: bearer(owner),
      });
      ids.push(...page.json().data.map((n) => n.id));
      cursor = page.json().nextCursor;
    } while (cursor);
    expect(ids).toEqual([...ids].sort());
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThanOrEqual(7);
  });

  it('clamps the page size instead of refusing it (README: clamped to 1–200)', async () => {
    const page = async (limit: string) => {
      const response = await ctl.app.inject({
        method: 'GET',
        url: `/api/v1/nodes?limit=${limit}`,
        headers: bearer(owner),
      });
      return { status: response.statusCode, body: response.json() };
    };
    const all = await page('200');
    expect(all.body.data.length).toBeGreaterThanOrEqual(2);
    expect(all.body.data.length).toBeLessThan(200);
    // More than a page: the largest page, not a 400.
    expect(await page('5000')).toEqual(all);
    // Zero or less: a page of one, with the cursor to the rest.
    for (const limit of ['0', '-3']) {
      const one = await page(limit);
      expect(one.status, limit).toBe(200);
      expect(one.body.data).toEqual(all.body.data.slice(0, 1));
      expect(one.body.nextCursor, limit).toEqual(expect.any(String));
    }
    // Not a whole number: still a 400 that says so.
    const bad = await page('ten');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/limit/);
  });
});
