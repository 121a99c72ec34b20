/**
 * A node that goes quiet while holding a job: its job becomes `lost_contact` (not failed), is
 * listed and counted as such, and a late heartbeat or upload with the right epoch takes it on
 * again. And the part an agent records after restarting inside a job's window.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bearer,
  enrolledNode,
  ownerApiToken,
  type TestController,
  testController,
} from '../support/controller.js';
import { claimNext, createRecording, sha256, uploadHeaders, wavBytes } from '../support/recordings.js';

describe('lost contact and continuation parts', () => {
  let ctl: TestController;
  let owner: string;
  let node: { nodeId: string; credential: string };
  let clock = new Date('2027-06-01T10:00:00Z');

  beforeAll(async () => {
    ctl = await testController({ leaseSeconds: 30 }, () => clock);
    owner = await ownerApiToken(ctl);
    node = await enrolledNode(ctl, { id: 'quiet-1', site: 'hq' });
  });
  afterAll(async () => ctl.stop());

  const beat = (jobId: string, epoch: number, state: 'recording' | 'uploading' = 'recording') =>
    ctl.app.inject({
      method: 'POST',
      url: `/api/v1/recording-jobs/${jobId}/heartbeat`,
      headers: bearer(node.credential),
      payload: { epoch, state },
    });

  async function recordingJob() {
    await createRecording(ctl, owner, node.nodeId, { durationSeconds: 60 });
    const { lease } = await claimNext(ctl, node.nodeId, node.credential);
    expect((await beat(lease!.jobId, lease!.epoch)).statusCode).toBe(200);
    return lease!;
  }

  it('marks a held job whose lease ran out lost_contact, lists and counts it, and takes a late heartbeat back', async () => {
    const lease = await recordingJob();
    expect(await ctl.services.jobs.markLostContact()).toBe(0); // lease still running
    clock = new Date(clock.getTime() + 31_000);
    expect(await ctl.services.jobs.markLostContact()).toBe(1);
    expect(await ctl.services.jobs.markLostContact()).toBe(0); // once

    const job = await ctl.app.inject({
      method: 'GET',
      url: `/api/v1/recording-jobs/${lease.jobId}`,
      headers: bearer(owner),
    });
    expect(job.json().data).toMatchObject({ state: 'lost_contact', leaseExpired: true });
    const recording = await ctl.app.inject({
      method: 'GET',
      url: `/api/v1/recordings/${lease.recordingId}`,
      headers: bearer(owner),
    });
    expect(recording.json().data.state).toBe('lost_contact');
    const listed = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/recording-jobs?state=lost_contact',
      headers: bearer(owner),
    });
    expect(listed.json().data.map((j: { id: string }) => j.id)).toEqual([lease.jobId]);
    const metrics = await ctl.app.inject({ method: 'GET', url: '/metrics', headers: bearer(owner) });
    expect(metrics.body).toMatch(/earshot_recording_jobs\{state="lost_contact"\} 1/);
    const lost = await ctl.db.auditEvent.findMany({
      where: { action: 'recording_job.contact_lose', targetId: lease.jobId },
    });
    expect(lost).toHaveLength(1);
    expect(lost[0]!.actorType).toBe('system');

    // A stale epoch changes nothing; the right one takes the job on again.
    expect((await beat(lease.jobId, lease.epoch + 1)).statusCode).toBe(409);
    const back = await beat(lease.jobId, lease.epoch);
    expect(back.statusCode, back.body).toBe(200);
    expect(back.json().data.state).toBe('recording');
    expect(
      await ctl.db.auditEvent.count({
        where: { action: 'recording_job.contact_regain', targetId: lease.jobId },
      }),
    ).toBe(1);
  });

  it('completes a lost_contact job with a late upload carrying the right epoch', async () => {
    const lease = await recordingJob();
    clock = new Date(clock.getTime() + 31_000);
    await ctl.services.jobs.markLostContact();
    const file = wavBytes(4800);
    const put = await ctl.app.inject({
      method: 'PUT',
      url: `/api/v1/recordings/${lease.recordingId}/cache-file`,
      headers: uploadHeaders(node.credential, lease.epoch, sha256(file), file.length),
      payload: file,
    });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json().data.complete).toBe(true);
    const job = await ctl.db.recordingJob.findUniqueOrThrow({ where: { id: lease.jobId } });
    expect(job.state).toBe('completed');
  });

  it('registers a continuation part once, linked to its job, partial with the reason', async () => {
    const lease = await recordingJob();
    const partId = randomUUID();
    const register = (epoch = lease.epoch, id: string = partId, jobId = lease.jobId) =>
      ctl.app.inject({
        method: 'PUT',
        url: `/api/v1/recording-jobs/${jobId}/parts/${id}`,
        headers: bearer(node.credential),
        payload: {
          epoch,
          reason: 'agent restarted during the recording',
          startedAtMs: clock.getTime(),
          durationSeconds: 40,
        },
      });
    const first = await register();
    expect(first.statusCode, first.body).toBe(200);
    const part = first.json().data;
    expect(part).toMatchObject({
      recordingId: partId,
      epoch: 1,
      part: 2,
      durationSeconds: 40,
      nodeId: node.nodeId,
    });
    const again = await register();
    expect(again.json().data).toEqual(part);
    expect(await ctl.db.auditEvent.count({ where: { action: 'recording_job.continue' } })).toBe(1);

    const recording = await ctl.db.recording.findUniqueOrThrow({
      where: { id: partId },
      include: { job: true },
    });
    expect(recording).toMatchObject({
      partial: true,
      partialReason: 'agent restarted during the recording',
      state: 'recording',
    });
    expect(recording.job).toMatchObject({ parentJobId: lease.jobId, part: 2, state: 'recording' });
    // The part takes heartbeats under its own lease.
    expect((await beat(part.jobId, part.epoch)).statusCode).toBe(200);

    // A superseded epoch on the parent, and a part id another job already uses: refused, nothing made.
    expect((await register(lease.epoch + 1, randomUUID())).statusCode).toBe(409);
    const other = await recordingJob();
    const taken = await register(other.epoch, partId, other.jobId);
    expect(taken.statusCode).toBe(409);
    expect(taken.json().error.message).toMatch(/new UUID/);
    expect((await register(lease.epoch, 'not-a-uuid')).statusCode).toBe(400);
    expect(await ctl.db.recordingJob.count({ where: { parentJobId: { not: null } } })).toBe(1);
  });
});
