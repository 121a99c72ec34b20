/**
 * Verified node credentials are cached (modules/nodes/credential-cache.ts) only while the
 * access generation is unchanged. These pin that every change to what a node credential
 * resolves to, made through one controller, applies to the very next agent request on that
 * controller and on another sharing the database: decommission, delete, an operator's
 * rotation, a pending credential adopted on first use, a move to another site. Each first
 * warms both controllers' caches with successful requests.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp, type ControllerApp } from '../../controller/src/app.js';
import { type Db, openDatabase } from '../../controller/src/db/client.js';
import { bearer, enrolledNode, type TestController, testController } from '../support/controller.js';

interface Node {
  nodeId: string;
  credential: string;
}

describe(`cached node credentials and credential changes across replicas (${inject('testDb')})`, () => {
  let a: TestController;
  let replicaDb: Db;
  let b: ControllerApp;
  let owner: string;

  /** An agent request: the empty claim poll (200 with no job). */
  const poll = (app: ControllerApp, node: Node, credential = node.credential) =>
    app.app.inject({
      method: 'POST',
      url: `/api/v1/nodes/${node.nodeId}/recording-jobs/claim-next`,
      headers: bearer(credential),
    });
  const operator = (method: 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    a.app.inject({ method, url: `/api/v1${url}`, headers: bearer(owner), ...(payload ? { payload } : {}) });

  async function expectServedTwice(node: Node, credential = node.credential): Promise<void> {
    for (const app of [b, b, a, a]) expect((await poll(app, node, credential)).statusCode).toBe(200);
  }

  async function expectRefusedAtOnce(node: Node, credential = node.credential): Promise<void> {
    expect((await poll(b, node, credential)).statusCode).toBe(401);
    expect((await poll(a, node, credential)).statusCode).toBe(401);
  }

  beforeAll(async () => {
    a = await testController();
    replicaDb = openDatabase(a.target);
    b = await buildApp({ config: a.config, db: replicaDb, provider: a.target.provider, logger: false });
    await b.app.ready();
    owner = await a.ownerToken();
  });
  afterAll(async () => {
    await b.close();
    await replicaDb.$disconnect();
    await a.stop();
  });

  it('a decommissioned node is refused at once on both controllers, and after its delete', async () => {
    const node = await enrolledNode(a, { id: 'cache-retired', site: 'hq' });
    await expectServedTwice(node);
    expect((await operator('POST', `/nodes/${node.nodeId}/decommission`)).statusCode).toBe(200);
    await expectRefusedAtOnce(node);
    expect((await operator('DELETE', `/nodes/${node.nodeId}`)).statusCode).toBe(204);
    await expectRefusedAtOnce(node);
  });

  it("an operator's rotation refuses the old credential at once; the new one works", async () => {
    const node = await enrolledNode(a, { id: 'cache-rotated', site: 'hq' });
    await expectServedTwice(node);
    const rotated = await operator('POST', `/nodes/${node.nodeId}/credentials/rotate`);
    expect(rotated.statusCode).toBe(200);
    await expectRefusedAtOnce(node);
    await expectServedTwice(node, (rotated.json() as { data: { credential: string } }).data.credential);
  });

  it('a pending credential adopted through one controller ends the old one on both', async () => {
    const node = await enrolledNode(a, { id: 'cache-adopted', site: 'hq' });
    await expectServedTwice(node);
    const asked = await operator('POST', `/nodes/${node.nodeId}/lifecycle/rotate-credential`);
    expect(asked.statusCode, asked.body).toBe(202);
    const issued = await a.app.inject({
      method: 'POST',
      url: `/api/v1/nodes/${node.nodeId}/credential`,
      headers: bearer(node.credential),
      payload: { jobId: (asked.json() as { data: { id: string } }).data.id },
    });
    expect(issued.statusCode, issued.body).toBe(200);
    const pending = (issued.json() as { data: { credential: string } }).data.credential;
    // Pending: the old credential keeps working (from the caches) until the new one is used.
    await expectServedTwice(node);
    expect((await poll(b, node, pending)).statusCode).toBe(200); // adopted on the replica
    await expectRefusedAtOnce(node);
    await expectServedTwice(node, pending);
  });

  it('a pending credential used by several requests at once (an agent restarting: broker and HTTP) is accepted by all', async () => {
    const node = await enrolledNode(a, { id: 'cache-adopted-at-once', site: 'hq' });
    const asked = await operator('POST', `/nodes/${node.nodeId}/lifecycle/rotate-credential`);
    expect(asked.statusCode, asked.body).toBe(202);
    const issued = await a.app.inject({
      method: 'POST',
      url: `/api/v1/nodes/${node.nodeId}/credential`,
      headers: bearer(node.credential),
      payload: { jobId: (asked.json() as { data: { id: string } }).data.id },
    });
    expect(issued.statusCode, issued.body).toBe(200);
    const pending = (issued.json() as { data: { credential: string } }).data.credential;
    // One of them adopts it; the others read the node before that commit and its pending
    // credential after: each must find the credential active then, not refuse it.
    // Replicas share PostgreSQL only; on SQLite the single controller takes them all.
    const apps = inject('testDb') === 'postgres' ? [a, b] : [a];
    const first = await Promise.all(
      Array.from({ length: 8 }, (_, i) => poll(apps[i % apps.length]!, node, pending)),
    );
    expect(first.map((response) => response.statusCode)).toEqual(Array(8).fill(200));
    await expectRefusedAtOnce(node);
    const adoptions = await a.db.auditEvent.count({
      where: { action: 'node.credential_adopt', targetId: node.nodeId },
    });
    expect(adoptions).toBe(1);
  });

  it('a node moved to another site claims with its new site at once', async () => {
    const node = await enrolledNode(a, { id: 'cache-moved', site: 'hq' });
    await expectServedTwice(node);
    const moved = await operator('PATCH', `/nodes/${node.nodeId}`, { site: 'annex' });
    expect(moved.statusCode, moved.body).toBe(200);
    const annex = await a.db.site.findUniqueOrThrow({ where: { name: 'annex' } });
    const created = await operator('POST', '/recordings', { nodeId: node.nodeId, durationSeconds: 5 });
    expect(created.statusCode, created.body).toBe(201);
    const claimed = await poll(b, node);
    expect(claimed.statusCode).toBe(200);
    const { jobId } = (claimed.json() as { data: { jobId: string } }).data;
    const event = await a.db.auditEvent.findFirstOrThrow({
      where: { action: 'recording_job.claim', targetId: jobId },
    });
    expect(event.siteId).toBe(annex.id);
  });
});
