import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { JobLease } from '../../shared/src/agent-api.js';
import { enrolledNode, type TestController, testController } from '../support/controller.js';
import { claimNext, createRecording } from '../support/recordings.js';

const NODES = 5;
const JOBS_PER_NODE = 100;
const CLAIMERS_PER_NODE = 10;

describe(`job claims under concurrency (${inject('testDb')})`, () => {
  let ctl: TestController;
  let nodes: { nodeId: string; credential: string }[];

  beforeAll(async () => {
    ctl = await testController();
    const owner = await ctl.ownerToken();
    nodes = [];
    for (let i = 0; i < NODES; i++)
      nodes.push(await enrolledNode(ctl, { id: `claim-node-${i}`, site: 'hq' }));
    for (const node of nodes) {
      for (let batch = 0; batch < JOBS_PER_NODE; batch += 25) {
        await Promise.all(Array.from({ length: 25 }, () => createRecording(ctl, owner, node.nodeId)));
      }
    }
  });
  afterAll(async () => ctl.stop());

  it('hands every job to exactly one of 50 concurrent claimers', async () => {
    const leases: JobLease[] = [];
    const claimer = async (node: { nodeId: string; credential: string }) => {
      for (;;) {
        const { statusCode, lease } = await claimNext(ctl, node.nodeId, node.credential);
        expect(statusCode).toBe(200);
        if (!lease) return;
        leases.push(lease);
      }
    };
    await Promise.all(
      nodes.flatMap((node) => Array.from({ length: CLAIMERS_PER_NODE }, () => claimer(node))),
    );

    const total = NODES * JOBS_PER_NODE;
    const ids = leases.map((l) => l.jobId);
    expect(ids).toHaveLength(total);
    expect(new Set(ids).size).toBe(total);
    // Each job was claimed once: epoch 1, by its own node.
    expect(leases.every((l) => l.epoch === 1)).toBe(true);
    const rows = await ctl.db.recordingJob.findMany({
      select: { id: true, nodeId: true, state: true, epoch: true },
    });
    expect(rows).toHaveLength(total);
    const byId = new Map(leases.map((l) => [l.jobId, l]));
    for (const row of rows) {
      expect(row).toMatchObject({ state: 'claimed', epoch: 1 });
      expect(byId.get(row.id)?.nodeId).toBe(row.nodeId);
    }
    expect(await ctl.db.auditEvent.count({ where: { action: 'recording_job.claim' } })).toBe(total);
    expect((await ctl.services.audit.verifyChain()).ok).toBe(true);
  });
});
