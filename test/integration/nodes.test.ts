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
    const beat = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/nodes/node-a/heartbeat',
      headers: bearer(a.credential),
      payload: {
        agentVersion: '1.2.3',
        captureDevice: 'hw:1',
        captureState: 'capturing',
        diskFreeBytes: 123456789,
        clockOffsetMs: -3,
        headroomHours: 31.5,
        sentAtMs: Date.now(),
      },
    });
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
