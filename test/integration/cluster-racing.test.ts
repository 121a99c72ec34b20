/**
 * Two controllers on one PostgreSQL database racing for the same rows (the runners that stay on
 * every replica, docs/architecture.md "Leader election and shared state"): job claims sent to
 * both at once hand every job to exactly one claimer; both lost-contact sweeps at once move
 * each job once, audited once; the audit chain stays whole; both upload runners at once copy each
 * queued recording once (one attempt, one verification each). Schedule materialisation racing is
 * schedules-replicas.test.ts; notification deliveries, notification-integrations.test.ts.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp, type ControllerApp } from '../../controller/src/app.js';
import { type Db, openDatabase } from '../../controller/src/db/client.js';
import type { JobLease } from '../../shared/src/agent-api.js';
import {
  bearer,
  enrolledNode,
  ownerApiToken,
  type TestController,
  testController,
} from '../support/controller.js';
import { claimNext, completedRecording, createRecording, wavBytes } from '../support/recordings.js';
import { type TempDir, tempDir } from '../support/tmp.js';

const NODES = 3;
const JOBS_PER_NODE = 20;
const CLAIMERS_PER_NODE_PER_REPLICA = 4;

describe.skipIf(!inject('pgBaseUrl'))('two controllers on one PostgreSQL racing for the same rows', () => {
  let a: TestController;
  let b: ControllerApp;
  let bDb: Db;
  let nowMs = Date.parse('2027-06-01T10:00:00Z');
  const now = () => new Date(nowMs);
  let nodes: { nodeId: string; credential: string }[] = [];
  let archive: TempDir;
  /** An API token: the clock moves a day ahead, past a login session's idle timeout. */
  let apiToken = '';
  let uploadNode: { nodeId: string; credential: string };

  beforeAll(async () => {
    a = await testController({}, now);
    bDb = openDatabase(a.target);
    b = await buildApp({
      config: a.config,
      db: bDb,
      provider: a.target.provider,
      databaseUrl: a.target.provider === 'postgresql' ? a.target.url : undefined,
      logger: false,
      now,
    });
    await b.app.ready();
    const owner = await a.ownerToken();
    apiToken = await ownerApiToken(a);
    uploadNode = await enrolledNode(a, { id: 'race-upload-node', site: 'hq' });
    for (let i = 0; i < NODES; i++) nodes.push(await enrolledNode(a, { id: `race-node-${i}`, site: 'hq' }));
    for (const node of nodes)
      for (let batch = 0; batch < JOBS_PER_NODE; batch += 20)
        await Promise.all(Array.from({ length: 20 }, () => createRecording(a, owner, node.nodeId)));
  });

  afterAll(async () => {
    await archive?.cleanup();
    await b?.close();
    await bDb?.$disconnect();
    await a?.stop();
    nodes = [];
  });

  it('claims sent to both replicas at once hand every job to exactly one claimer', async () => {
    const leases: JobLease[] = [];
    const byReplica = [0, 0];
    const replicas = [a, { app: b.app } as TestController];
    const claimer = async (replica: TestController, node: { nodeId: string; credential: string }) => {
      for (;;) {
        const { statusCode, lease } = await claimNext(replica, node.nodeId, node.credential);
        expect(statusCode).toBe(200);
        if (!lease) return;
        leases.push(lease);
        byReplica[replicas.indexOf(replica)]! += 1;
      }
    };
    await Promise.all(
      nodes.flatMap((node) =>
        replicas.flatMap((replica) =>
          Array.from({ length: CLAIMERS_PER_NODE_PER_REPLICA }, () => claimer(replica, node)),
        ),
      ),
    );
    const total = NODES * JOBS_PER_NODE;
    expect(leases).toHaveLength(total);
    expect(new Set(leases.map((l) => l.jobId)).size).toBe(total);
    expect(leases.every((l) => l.epoch === 1)).toBe(true);
    expect(byReplica.every((n) => n > 0)).toBe(true); // both replicas handed out jobs
    expect(await a.db.auditEvent.count({ where: { action: 'recording_job.claim' } })).toBe(total);
  });

  it('both lost-contact sweeps at once move each lapsed job once, audited once', async () => {
    nowMs += 24 * 3600_000; // every lease long expired, no heartbeat
    const [fromA, fromB] = await Promise.all([
      a.services.jobs.markLostContact(),
      b.services.jobs.markLostContact(),
    ]);
    const total = NODES * JOBS_PER_NODE;
    expect(fromA + fromB).toBe(total);
    expect(await a.db.recordingJob.count({ where: { state: 'lost_contact' } })).toBe(total);
    expect(await a.db.auditEvent.count({ where: { action: 'recording_job.contact_lose' } })).toBe(total);
    // Again: nothing left to move on either.
    expect(await Promise.all([a.services.jobs.markLostContact(), b.services.jobs.markLostContact()])).toEqual(
      [0, 0],
    );
    expect((await a.services.audit.verifyChain()).ok).toBe(true);
  });

  it('both upload runners at once copy each queued recording once', async () => {
    const owner = apiToken;
    archive = await tempDir('racing-archive');
    const settings = (family: string, name: string, body: object) =>
      a.app.inject({
        method: 'POST',
        url: `/api/v1/settings/${family}`,
        headers: bearer(owner),
        payload: { name, body },
      });
    const provider = (
      await settings('upload-providers', 'archive', { kind: 'filesystem', root: archive.path })
    ).json().data.id as string;
    const policy = await settings('upload-policies', 'archive all', {
      provider,
      trigger: 'on-complete',
      maxAttempts: 3,
    });
    expect(policy.statusCode, policy.body).toBe(201);
    const node = uploadNode;
    const ids: string[] = [];
    for (let i = 0; i < 6; i++)
      ids.push((await completedRecording(a, owner, node, wavBytes(16_000 + i, 8000, 1))).id);

    await Promise.all([a.services.uploadRunner.run(), b.services.uploadRunner.run()]);
    await Promise.all([a.services.uploadRunner.run(), b.services.uploadRunner.run()]); // anything left
    const items = await a.db.uploadQueueItem.findMany({ where: { recordingId: { in: ids } } });
    expect(items).toHaveLength(ids.length);
    expect(items.map((i) => [i.state, i.attempts])).toEqual(ids.map(() => ['verified', 1]));
    for (const item of items) {
      const actions = await a.db.auditEvent.findMany({
        where: { targetId: item.id },
        orderBy: { seq: 'asc' },
      });
      expect(actions.map((e) => e.action)).toEqual(['upload_queue.enqueue', 'upload_queue.verify']);
    }
  });
});
