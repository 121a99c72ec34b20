/**
 * Demo data: `POST /demo/seed` and `POST /demo/reset` outside production mode (seeded nodes,
 * recordings and health events the console shows; reset removes those and nothing else; both
 * audited; owner/admin only), and no such routes at all in production mode (404, and absent
 * from the OpenAPI document).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bearer,
  enrolledNode,
  type TestController,
  testController,
  userWithRole,
} from '../support/controller.js';
import { createRecording } from '../support/recordings.js';

const openApiPaths = async (ctl: TestController) =>
  Object.keys((await ctl.app.inject({ url: '/openapi.json' })).json().paths as Record<string, unknown>);

describe('demo data outside production mode', () => {
  let ctl: TestController;
  let owner: string;

  const post = (url: string, token = owner) =>
    ctl.app.inject({ method: 'POST', url, headers: bearer(token) });
  const ids = async (url: string) =>
    ((await ctl.app.inject({ url, headers: bearer(owner) })).json().data as { id: string }[]).map(
      (o) => o.id,
    );

  beforeAll(async () => {
    ctl = await testController();
    owner = await ctl.ownerToken();
    await enrolledNode(ctl, { id: 'real-1', site: 'real' });
    // An operator's own node in a site named like the seed's: not the seed's, so reset keeps it.
    await enrolledNode(ctl, { id: 'demo-lookalike', site: 'demo-north' });
    await createRecording(ctl, owner, 'real-1');
  });
  afterAll(async () => ctl.stop());

  it('lists the routes in the OpenAPI document', async () => {
    expect(await openApiPaths(ctl)).toEqual(
      expect.arrayContaining(['/api/v1/demo/seed', '/api/v1/demo/reset']),
    );
  });

  it('seeds sites, nodes, recordings and health events the console shows, audited', async () => {
    const seeded = await post('/api/v1/demo/seed');
    expect(seeded.statusCode, seeded.body).toBe(200);
    expect(seeded.json().data).toEqual({ sites: 2, nodes: 4, recordings: 8, healthEvents: 3 });
    const nodes = await ids('/api/v1/nodes?limit=200');
    expect(nodes).toEqual(expect.arrayContaining(['demo-north-hall', 'demo-south-annex', 'real-1']));
    const recordings = await ctl.app.inject({ url: '/api/v1/recordings?limit=200', headers: bearer(owner) });
    expect(recordings.json().data).toHaveLength(9);
    const events = await ctl.app.inject({ url: '/api/v1/health-events?status=open', headers: bearer(owner) });
    expect(
      events
        .json()
        .data.map((e: { nodeId: string }) => e.nodeId)
        .sort(),
    ).toEqual(['demo-north-foyer', 'demo-south-annex']);
    const audited = await ctl.db.auditEvent.findMany({ where: { action: 'demo.seed' } });
    expect(audited.map((e) => e.outcome)).toEqual(['success']);
  });

  it('refuses a second seed while demo data exists', async () => {
    const again = await post('/api/v1/demo/seed');
    expect(again.statusCode).toBe(409);
    expect(again.json().error.message).toMatch(/reset it first/);
  });

  it('resets only what the seed added, audited', async () => {
    const reset = await post('/api/v1/demo/reset');
    expect(reset.statusCode, reset.body).toBe(200);
    // demo-north keeps the operator's node, so only demo-south goes.
    expect(reset.json().data).toEqual({ sites: 1, nodes: 4, recordings: 8, healthEvents: 3 });
    expect((await ids('/api/v1/nodes?limit=200')).sort()).toEqual(['demo-lookalike', 'real-1']);
    const recordings = await ctl.app.inject({ url: '/api/v1/recordings?limit=200', headers: bearer(owner) });
    expect(recordings.json().data).toHaveLength(1);
    expect(await ctl.db.site.findUnique({ where: { name: 'demo-south' } })).toBeNull();
    expect(await ctl.db.site.findUnique({ where: { name: 'demo-north' } })).not.toBeNull();
    const audited = await ctl.db.auditEvent.findMany({ where: { action: 'demo.reset' } });
    expect(audited.map((e) => e.outcome)).toEqual(['success']);
    // Seeding again after a reset works; a reset with nothing seeded removes nothing.
    expect((await post('/api/v1/demo/seed')).statusCode).toBe(200);
    expect((await post('/api/v1/demo/reset')).json().data.nodes).toBe(4);
    expect((await post('/api/v1/demo/reset')).json().data).toEqual({
      sites: 0,
      nodes: 0,
      recordings: 0,
      healthEvents: 0,
    });
  });

  it('is for the owner and admins only (a fleet-wide operator is refused, and that is audited)', async () => {
    const operator = await userWithRole(ctl, 'demo-operator', 'operator');
    expect((await post('/api/v1/demo/seed', operator)).statusCode).toBe(403);
    const admin = await userWithRole(ctl, 'demo-admin', 'admin');
    expect((await post('/api/v1/demo/seed', admin)).statusCode).toBe(200);
    const denied = await ctl.db.auditEvent.findMany({
      where: { outcome: 'denied', action: { contains: 'demo' } },
    });
    expect(denied).toHaveLength(1);
  });
});

describe('demo data in production mode', () => {
  let ctl: TestController;
  beforeAll(async () => {
    ctl = await testController({ production: true });
  });
  afterAll(async () => ctl.stop());

  it('has no demo routes: 404, and none in the OpenAPI document', async () => {
    const owner = await ctl.ownerToken();
    for (const url of ['/api/v1/demo/seed', '/api/v1/demo/reset']) {
      const response = await ctl.app.inject({ method: 'POST', url, headers: bearer(owner) });
      expect(response.statusCode, url).toBe(404);
    }
    expect((await openApiPaths(ctl)).filter((p) => p.includes('/demo'))).toEqual([]);
    expect(ctl.routes.filter((r) => r.url.startsWith('/api/v1/demo'))).toEqual([]);
  });
});
