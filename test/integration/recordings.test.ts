import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Command } from '../../shared/src/mqtt.js';
import {
  bearer,
  enrolledNode,
  type TestController,
  testController,
  userWithRole,
} from '../support/controller.js';
import { claimNext, createRecording, sha256, uploadHeaders, wavBytes } from '../support/recordings.js';

describe('recordings: create, claim, heartbeat, upload, download, stop', () => {
  let ctl: TestController;
  let owner: string;
  let studio: { nodeId: string; credential: string; siteId: string };
  let other: { nodeId: string; credential: string; siteId: string };
  const commands: { nodeId: string; command: Command }[] = [];

  beforeAll(async () => {
    ctl = await testController();
    owner = await ctl.ownerToken();
    // What the recordings module sends the agents, through the broker's publish port.
    vi.spyOn(ctl.broker, 'publishToNode').mockImplementation(async (nodeId, _topic, command) => {
      commands.push({ nodeId, command: command as Command });
    });
    studio = await enrolledNode(ctl, { id: 'studio-1', site: 'hq' });
    other = await enrolledNode(ctl, { id: 'other-1', site: 'branch' });
  });
  afterAll(async () => ctl.stop());

  const inject = (options: InjectOptions) => ctl.app.inject(options);

  it('records end to end: queued → claimed → recording → uploading → completed, then plays back ranges', async () => {
    const created = await createRecording(ctl, owner, studio.nodeId, { durationSeconds: 5, title: 'Take 1' });
    expect(created.job.state).toBe('queued');
    expect(commands.at(-1)).toMatchObject({
      nodeId: studio.nodeId,
      command: { type: 'job-available', args: { jobId: created.job.id, recordingId: created.id } },
    });

    const { lease } = await claimNext(ctl, studio.nodeId, studio.credential);
    expect(lease).toMatchObject({
      jobId: created.job.id,
      recordingId: created.id,
      nodeId: studio.nodeId,
      epoch: 1,
      durationSeconds: 5,
      stopRequested: false,
      sampleRate: 48000,
      channels: 2,
    });
    expect(Date.parse(lease!.leaseExpiresAt)).toBeGreaterThan(0);
    // Nothing else is queued for this node.
    expect((await claimNext(ctl, studio.nodeId, studio.credential)).lease).toBeNull();

    for (const state of ['recording', 'recording', 'uploading'] as const) {
      const beat = await inject({
        method: 'POST',
        url: `/api/v1/recording-jobs/${lease!.jobId}/heartbeat`,
        headers: bearer(studio.credential),
        payload: { epoch: lease!.epoch, state },
      });
      expect(beat.statusCode).toBe(200);
      expect(beat.json().data).toMatchObject({ state, stopRequested: false });
    }

    const body = wavBytes(96_000); // 0.5 s of 48 kHz stereo s16le
    const digest = sha256(body);
    const put = await inject({
      method: 'PUT',
      url: `/api/v1/recordings/${created.id}/cache-file`,
      headers: uploadHeaders(studio.credential, lease!.epoch, digest, body.length),
      payload: body,
    });
    expect(put.statusCode).toBe(200);
    expect(put.json().data).toEqual({
      recordingId: created.id,
      receivedBytes: body.length,
      complete: true,
      sha256: digest,
    });

    const detail = await inject({
      method: 'GET',
      url: `/api/v1/recordings/${created.id}`,
      headers: bearer(owner),
    });
    expect(detail.statusCode).toBe(200);
    expect(detail.json().data).toMatchObject({
      id: created.id,
      title: 'Take 1',
      state: 'completed',
      sha256: digest,
      sizeBytes: body.length,
      durationMs: 500,
      job: { id: created.job.id, state: 'completed', epoch: 1, leaseExpired: false },
    });

    const full = await inject({
      method: 'GET',
      url: `/api/v1/recordings/${created.id}/file`,
      headers: bearer(owner),
    });
    expect(full.statusCode).toBe(200);
    expect(full.headers['content-type']).toBe('audio/wav');
    expect(full.headers['accept-ranges']).toBe('bytes');
    expect(Buffer.compare(full.rawPayload, body)).toBe(0);

    const ranges: [string, number, number][] = [
      ['bytes=0-99', 0, 99],
      ['bytes=1000-', 1000, body.length - 1],
      ['bytes=-44', body.length - 44, body.length - 1],
      [`bytes=10-${body.length + 500}`, 10, body.length - 1],
    ];
    for (const [range, start, end] of ranges) {
      const part = await inject({
        method: 'GET',
        url: `/api/v1/recordings/${created.id}/file`,
        headers: { ...bearer(owner), range },
      });
      expect(part.statusCode, range).toBe(206);
      expect(part.headers['content-range']).toBe(`bytes ${start}-${end}/${body.length}`);
      expect(Buffer.compare(part.rawPayload, body.subarray(start, end + 1)), range).toBe(0);
    }
    for (const range of [`bytes=${body.length}-`, 'bytes=50-10', 'bytes=-0', 'bytes=0-1,5-9', 'items=0-1']) {
      const bad = await inject({
        method: 'GET',
        url: `/api/v1/recordings/${created.id}/file`,
        headers: { ...bearer(owner), range },
      });
      expect(bad.statusCode, range).toBe(416);
      expect(bad.headers['content-range']).toBe(`bytes */${body.length}`);
      expect(bad.json()).toMatchObject({
        error: { code: 'range_not_satisfiable' },
        requestId: expect.any(String),
      });
    }
    // Many range requests, one audited download.
    const downloads = await ctl.db.auditEvent.count({
      where: { action: 'recording.download', targetId: created.id },
    });
    expect(downloads).toBe(1);
    // The upload completion was audited in its transaction.
    expect(
      await ctl.db.auditEvent.count({
        where: { action: 'recording.upload', targetId: created.id, outcome: 'success' },
      }),
    ).toBe(1);

    // The library lists it; the job list and job read show the same job.
    const list = await inject({
      method: 'GET',
      url: `/api/v1/recordings?nodeId=${studio.nodeId}`,
      headers: bearer(owner),
    });
    expect(list.json().data.map((r: { id: string }) => r.id)).toContain(created.id);
    const jobs = await inject({
      method: 'GET',
      url: '/api/v1/recording-jobs?state=completed',
      headers: bearer(owner),
    });
    expect(jobs.json().data.map((j: { id: string }) => j.id)).toContain(created.job.id);
    const agentRead = await inject({
      method: 'GET',
      url: `/api/v1/recording-jobs/${created.job.id}`,
      headers: bearer(studio.credential),
    });
    expect(agentRead.json().data).toMatchObject({ state: 'completed' });

    // Metrics count jobs by state.
    const metrics = await inject({ method: 'GET', url: '/metrics', headers: bearer(owner) });
    expect(metrics.body).toMatch(/earshot_recording_jobs\{state="completed"\} [1-9]/);
    expect(metrics.body).toMatch(/earshot_uploads_total\{outcome="completed"\} [1-9]/);
  });

  it('answers 409 to a file that is not uploaded yet', async () => {
    const created = await createRecording(ctl, owner, studio.nodeId);
    const res = await inject({
      method: 'GET',
      url: `/api/v1/recordings/${created.id}/file`,
      headers: bearer(owner),
    });
    expect(res.statusCode).toBe(409);
    await inject({ method: 'POST', url: `/api/v1/recordings/${created.id}/stop`, headers: bearer(owner) });
  });

  it('refuses a stale epoch with 409 stale_lease and changes nothing', async () => {
    const created = await createRecording(ctl, owner, studio.nodeId);
    const { lease } = await claimNext(ctl, studio.nodeId, studio.credential);
    expect(lease?.jobId).toBe(created.job.id);
    const before = await ctl.db.recordingJob.findUniqueOrThrow({ where: { id: lease!.jobId } });
    const auditBefore = await ctl.db.auditEvent.count();

    const stale = lease!.epoch + 1;
    const beat = await inject({
      method: 'POST',
      url: `/api/v1/recording-jobs/${lease!.jobId}/heartbeat`,
      headers: bearer(studio.credential),
      payload: { epoch: stale, state: 'recording' },
    });
    expect(beat.statusCode).toBe(409);
    expect(beat.json().error.code).toBe('stale_lease');
    const failed = await inject({
      method: 'POST',
      url: `/api/v1/recording-jobs/${lease!.jobId}/failed`,
      headers: bearer(studio.credential),
      payload: { epoch: stale, reason: 'x' },
    });
    expect(failed.statusCode).toBe(409);
    expect(failed.json().error.code).toBe('stale_lease');
    const body = wavBytes(1000);
    const put = await inject({
      method: 'PUT',
      url: `/api/v1/recordings/${created.id}/cache-file`,
      headers: uploadHeaders(studio.credential, stale, sha256(body), body.length),
      payload: body,
    });
    expect(put.statusCode).toBe(409);
    expect(put.json().error.code).toBe('stale_lease');

    const after = await ctl.db.recordingJob.findUniqueOrThrow({ where: { id: lease!.jobId } });
    expect(after).toEqual(before);
    expect(await ctl.db.auditEvent.count()).toBe(auditBefore);
    const status = await inject({
      method: 'GET',
      url: `/api/v1/recordings/${created.id}/cache-file`,
      headers: bearer(studio.credential),
    });
    expect(status.json().data).toEqual({
      recordingId: created.id,
      receivedBytes: 0,
      complete: false,
      sha256: null,
    });

    // The current epoch still works; the agent then reports the job failed (terminal, repeatable).
    const ok = await inject({
      method: 'POST',
      url: `/api/v1/recording-jobs/${lease!.jobId}/failed`,
      headers: bearer(studio.credential),
      payload: { epoch: lease!.epoch, reason: 'capture device vanished' },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().data).toMatchObject({ state: 'failed', failureReason: 'capture device vanished' });
    const again = await inject({
      method: 'POST',
      url: `/api/v1/recording-jobs/${lease!.jobId}/failed`,
      headers: bearer(studio.credential),
      payload: { epoch: lease!.epoch, reason: 'capture device vanished' },
    });
    expect(again.statusCode).toBe(200);
    const afterTerminal = await inject({
      method: 'POST',
      url: `/api/v1/recording-jobs/${lease!.jobId}/heartbeat`,
      headers: bearer(studio.credential),
      payload: { epoch: lease!.epoch, state: 'recording' },
    });
    expect(afterTerminal.statusCode).toBe(409);
    expect(afterTerminal.json().error.code).toBe('stale_lease');
    const rec = await inject({
      method: 'GET',
      url: `/api/v1/recordings/${created.id}`,
      headers: bearer(owner),
    });
    expect(rec.json().data.state).toBe('failed');
  });

  it("keeps another node away from this node's jobs (404)", async () => {
    const created = await createRecording(ctl, owner, studio.nodeId);
    const claimAsOther = await claimNext(ctl, studio.nodeId, other.credential);
    expect(claimAsOther.statusCode).toBe(404);
    // The other node's own queue is empty: it cannot reach this job through its own claim.
    expect((await claimNext(ctl, other.nodeId, other.credential)).lease).toBeNull();

    const { lease } = await claimNext(ctl, studio.nodeId, studio.credential);
    expect(lease?.jobId).toBe(created.job.id);
    const calls = [
      inject({
        method: 'POST',
        url: `/api/v1/recording-jobs/${lease!.jobId}/heartbeat`,
        headers: bearer(other.credential),
        payload: { epoch: lease!.epoch, state: 'recording' },
      }),
      inject({
        method: 'POST',
        url: `/api/v1/recording-jobs/${lease!.jobId}/cancelled`,
        headers: bearer(other.credential),
        payload: { epoch: lease!.epoch },
      }),
      inject({
        method: 'GET',
        url: `/api/v1/recording-jobs/${lease!.jobId}`,
        headers: bearer(other.credential),
      }),
      inject({
        method: 'GET',
        url: `/api/v1/recordings/${created.id}/cache-file`,
        headers: bearer(other.credential),
      }),
      inject({
        method: 'PUT',
        url: `/api/v1/recordings/${created.id}/cache-file`,
        headers: uploadHeaders(other.credential, lease!.epoch, sha256(Buffer.from('x')), 1),
        payload: Buffer.from('x'),
      }),
    ];
    for (const res of await Promise.all(calls)) expect(res.statusCode, res.body).toBe(404);
    const job = await ctl.db.recordingJob.findUniqueOrThrow({ where: { id: lease!.jobId } });
    expect(job.state).toBe('claimed');
    // An agent cannot use user routes either.
    const agentList = await inject({
      method: 'GET',
      url: '/api/v1/recordings',
      headers: bearer(studio.credential),
    });
    expect(agentList.statusCode).toBe(403);

    const cancelled = await inject({
      method: 'POST',
      url: `/api/v1/recording-jobs/${lease!.jobId}/cancelled`,
      headers: bearer(studio.credential),
      payload: { epoch: lease!.epoch, reason: 'operator pressed stop locally' },
    });
    expect(cancelled.json().data.state).toBe('cancelled');
  });

  it('hides recordings and jobs outside the caller scope (404, absent from lists)', async () => {
    const created = await createRecording(ctl, owner, other.nodeId);
    const hq = await ctl.db.site.findUniqueOrThrow({ where: { name: 'hq' } });
    const viewer = await userWithRole(ctl, 'hq-viewer', 'viewer', { type: 'site', id: hq.id });
    const operator = await userWithRole(ctl, 'hq-operator', 'operator', { type: 'site', id: hq.id });
    for (const url of [`/api/v1/recordings/${created.id}`, `/api/v1/recording-jobs/${created.job.id}`]) {
      const res = await inject({ method: 'GET', url, headers: bearer(viewer) });
      expect(res.statusCode, url).toBe(404);
    }
    const list = await inject({ method: 'GET', url: '/api/v1/recordings', headers: bearer(viewer) });
    expect(list.statusCode).toBe(200);
    const ids = list.json().data.map((r: { id: string; nodeId: string }) => r.nodeId);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.every((nodeId: string) => nodeId === studio.nodeId)).toBe(true);
    const jobs = await inject({ method: 'GET', url: '/api/v1/recording-jobs', headers: bearer(viewer) });
    expect(jobs.json().data.every((j: { nodeId: string }) => j.nodeId === studio.nodeId)).toBe(true);

    // Out of scope: stop and create are 404 even with the permission in another site.
    const stop = await inject({
      method: 'POST',
      url: `/api/v1/recordings/${created.id}/stop`,
      headers: bearer(operator),
    });
    expect(stop.statusCode).toBe(404);
    const create = await inject({
      method: 'POST',
      url: '/api/v1/recordings',
      headers: bearer(operator),
      payload: { nodeId: other.nodeId },
    });
    expect(create.statusCode).toBe(404);
    // In scope, but a viewer lacks recording:create: 403.
    const viewerCreate = await inject({
      method: 'POST',
      url: '/api/v1/recordings',
      headers: bearer(viewer),
      payload: { nodeId: studio.nodeId },
    });
    expect(viewerCreate.statusCode).toBe(403);
    await inject({ method: 'POST', url: `/api/v1/recordings/${created.id}/stop`, headers: bearer(owner) });
  });

  it('cancels a queued job on stop, and asks a recording agent to stop', async () => {
    const queued = await createRecording(ctl, owner, studio.nodeId);
    const stopQueued = await inject({
      method: 'POST',
      url: `/api/v1/recordings/${queued.id}/stop`,
      headers: bearer(owner),
    });
    expect(stopQueued.statusCode).toBe(200);
    expect(stopQueued.json().data).toMatchObject({ state: 'cancelled', job: { state: 'cancelled' } });
    expect((await claimNext(ctl, studio.nodeId, studio.credential)).lease).toBeNull();
    const again = await inject({
      method: 'POST',
      url: `/api/v1/recordings/${queued.id}/stop`,
      headers: bearer(owner),
    });
    expect(again.statusCode).toBe(409);

    const running = await createRecording(ctl, owner, studio.nodeId);
    const { lease } = await claimNext(ctl, studio.nodeId, studio.credential);
    expect(lease?.jobId).toBe(running.job.id);
    await inject({
      method: 'POST',
      url: `/api/v1/recording-jobs/${lease!.jobId}/heartbeat`,
      headers: bearer(studio.credential),
      payload: { epoch: lease!.epoch, state: 'recording' },
    });
    const stop = await inject({
      method: 'POST',
      url: `/api/v1/recordings/${running.id}/stop`,
      headers: bearer(owner),
    });
    expect(stop.statusCode).toBe(200);
    expect(stop.json().data).toMatchObject({
      state: 'recording',
      job: { state: 'recording', stopRequested: true },
    });
    expect(commands.at(-1)).toMatchObject({
      nodeId: studio.nodeId,
      command: { type: 'job-stop', args: { jobId: running.job.id } },
    });
    const beat = await inject({
      method: 'POST',
      url: `/api/v1/recording-jobs/${lease!.jobId}/heartbeat`,
      headers: bearer(studio.credential),
      payload: { epoch: lease!.epoch, state: 'recording' },
    });
    expect(beat.json().data).toMatchObject({ state: 'recording', stopRequested: true });
    const audited = await ctl.db.auditEvent.count({
      where: { action: 'recording.stop', targetId: running.id },
    });
    expect(audited).toBe(1);
  });

  it('keeps a job whose lease ran out: shown as lost contact, completed by a late upload', async () => {
    let clock = Date.now();
    const timed = await testController({ leaseSeconds: 5 }, () => new Date(clock));
    try {
      const token = await timed.ownerToken();
      const node = await enrolledNode(timed, { id: 'remote-1', site: 'far' });
      const created = await createRecording(timed, token, node.nodeId);
      const { lease } = await claimNext(timed, node.nodeId, node.credential);
      clock += 60_000;
      const read = await timed.app.inject({
        method: 'GET',
        url: `/api/v1/recording-jobs/${lease!.jobId}`,
        headers: bearer(token),
      });
      expect(read.json().data).toMatchObject({ state: 'claimed', leaseExpired: true, epoch: lease!.epoch });
      // Not re-queued: nobody else can claim it.
      expect((await claimNext(timed, node.nodeId, node.credential)).lease).toBeNull();
      const body = wavBytes(4800);
      const put = await timed.app.inject({
        method: 'PUT',
        url: `/api/v1/recordings/${created.id}/cache-file`,
        headers: uploadHeaders(node.credential, lease!.epoch, sha256(body), body.length),
        payload: body,
      });
      expect(put.statusCode).toBe(200);
      expect(put.json().data.complete).toBe(true);
    } finally {
      await timed.stop();
    }
  });

  it('rejects bad input with 4xx, never 500', async () => {
    const cases = [
      { method: 'POST', url: '/api/v1/recordings', payload: { nodeId: studio.nodeId, durationSeconds: 0 } },
      {
        method: 'POST',
        url: '/api/v1/recordings',
        payload: { nodeId: studio.nodeId, durationSeconds: 86_401 },
      },
      { method: 'POST', url: '/api/v1/recordings', payload: { nodeId: 'no/such' } },
      { method: 'POST', url: '/api/v1/recordings', payload: { nodeId: 'missing-node' } },
      { method: 'GET', url: '/api/v1/recordings?cursor=%%%' },
      { method: 'GET', url: '/api/v1/recordings?state=bogus' },
      { method: 'GET', url: '/api/v1/recordings/does-not-exist' },
      { method: 'GET', url: '/api/v1/recording-jobs?cursor=eyJ4IjoxfQ' },
    ] as const;
    for (const c of cases) {
      const res = await inject({ ...c, headers: bearer(owner) });
      expect(res.statusCode, `${c.method} ${c.url}`).toBeGreaterThanOrEqual(400);
      expect(res.statusCode, `${c.method} ${c.url}`).toBeLessThan(500);
    }
  });
});
