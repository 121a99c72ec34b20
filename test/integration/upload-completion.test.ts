// Upload completion is idempotent: a cache file held whole whose completion was never
// committed (the controller stopped between the last byte on disk and the commit) is
// completed by the agent's next status query, by its empty PUT at the final offset, or at
// start-up; never when it does not hash to what the agent declared. Real controller, real
// database, real HTTP; the crash is reproduced by putting the last byte in place on disk
// exactly as the controller's file store would have left it.
import { existsSync } from 'node:fs';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AgentHttpClient } from '../../agent/src/link/http-client.js';
import { JobJournal, journalPath } from '../../agent/src/state/journal.js';
import { silentLogger } from '../../agent/src/support/log.js';
import { Uploader } from '../../agent/src/uploads/uploader.js';
import { RecordingFileStore } from '../../controller/src/modules/recordings/file-store.js';
import type { JobLease } from '../../shared/src/agent-api.js';
import { bearer, enrolledNode, type TestController, testController } from '../support/controller.js';
import { claimNext, createRecording, sha256, uploadHeaders, wavBytes } from '../support/recordings.js';
import { type TempDir, tempDir } from '../support/tmp.js';

describe('completing an upload the controller holds whole', () => {
  let ctl: TestController;
  let owner: string;
  let node: { nodeId: string; credential: string };
  let files: RecordingFileStore;
  let port: number;

  beforeAll(async () => {
    ctl = await testController();
    owner = await ctl.ownerToken();
    node = await enrolledNode(ctl, { id: 'held-1', site: 'hq' });
    files = new RecordingFileStore(ctl.config.dataDir);
    await ctl.app.listen({ port: 0, host: '127.0.0.1' });
    port = (ctl.app.server.address() as AddressInfo).port;
  });
  afterAll(async () => ctl.stop());

  /**
   * A claimed recording whose upload got every byte but the last through the API (the job
   * is `uploading`), then the last byte on disk: what a stop before the commit leaves.
   */
  async function heldWhole(body: Buffer, lastByte = body.subarray(-1)) {
    const created = await createRecording(ctl, owner, node.nodeId);
    const { lease } = await claimNext(ctl, node.nodeId, node.credential);
    expect(lease?.recordingId).toBe(created.id);
    const digest = sha256(body);
    const first = await ctl.app.inject({
      method: 'PUT',
      url: `/api/v1/recordings/${created.id}/cache-file`,
      headers: uploadHeaders(node.credential, lease!.epoch, digest, body.length),
      payload: body.subarray(0, -1),
    });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json().data).toMatchObject({ receivedBytes: body.length - 1, complete: false });
    await appendFile(files.partPath(node.nodeId, created.id), lastByte);
    return { recordingId: created.id, lease: lease as JobLease, digest };
  }

  const cacheFile = (recordingId: string) => `/api/v1/recordings/${recordingId}/cache-file`;

  async function rows(recordingId: string) {
    const recording = await ctl.db.recording.findUniqueOrThrow({
      where: { id: recordingId },
      include: { job: true },
    });
    const audits = await ctl.db.auditEvent.findMany({
      where: { action: 'recording.upload', targetId: recordingId },
      orderBy: { seq: 'asc' },
    });
    return { recording, job: recording.job!, audits };
  }

  async function download(recordingId: string): Promise<Buffer> {
    const res = await ctl.app.inject({
      method: 'GET',
      url: `/api/v1/recordings/${recordingId}/file`,
      headers: bearer(owner),
    });
    expect(res.statusCode).toBe(200);
    return res.rawPayload;
  }

  it("the agent's status query completes it, verified and audited like any completion", async () => {
    const body = wavBytes(200_000);
    const { recordingId, digest } = await heldWhole(body);

    const status = await ctl.app.inject({
      method: 'GET',
      url: cacheFile(recordingId),
      headers: bearer(node.credential),
    });
    expect(status.statusCode).toBe(200);
    expect(status.json().data).toEqual({
      recordingId,
      receivedBytes: body.length,
      complete: true,
      sha256: digest,
    });
    const { recording, job, audits } = await rows(recordingId);
    expect(recording).toMatchObject({ state: 'completed', sha256: digest, sizeBytes: BigInt(body.length) });
    expect(job).toMatchObject({ state: 'completed', leaseExpiresAt: null });
    expect(audits).toEqual([
      expect.objectContaining({ outcome: 'success', actorType: 'node', actorId: node.nodeId }),
    ]);
    expect(sha256(await download(recordingId))).toBe(digest);
  });

  it('an empty PUT at the final offset completes it; a stale epoch gets 409 and changes nothing', async () => {
    const body = wavBytes(120_000);
    const { recordingId, lease, digest } = await heldWhole(body);
    const completing = (epoch: number) =>
      fetch(`http://127.0.0.1:${port}${cacheFile(recordingId)}`, {
        method: 'PUT',
        headers: {
          ...uploadHeaders(node.credential, epoch, digest, body.length),
          'content-range': `bytes */${body.length}`,
        },
        body: new Uint8Array(0),
      });

    const stale = await completing(lease.epoch + 1);
    expect(stale.status).toBe(409);
    expect((await stale.json()).error.code).toBe('stale_lease');
    const untouched = await rows(recordingId);
    expect(untouched.recording.state).toBe('uploading');
    expect(untouched.job.state).toBe('uploading');
    expect(untouched.audits).toEqual([]);
    expect(await files.partSize(node.nodeId, recordingId)).toBe(body.length);

    const done = await completing(lease.epoch);
    expect(done.status).toBe(200);
    expect((await done.json()).data).toEqual({
      recordingId,
      receivedBytes: body.length,
      complete: true,
      sha256: digest,
    });
    const { recording, job, audits } = await rows(recordingId);
    expect(recording.state).toBe('completed');
    expect(job.state).toBe('completed');
    expect(audits).toEqual([expect.objectContaining({ outcome: 'success', actorType: 'node' })]);
    // Repeating it (its answer lost) gets the same answer.
    const repeat = await completing(lease.epoch);
    expect(repeat.status).toBe(200);
    expect((await repeat.json()).data.complete).toBe(true);
  });

  it('an upload being completed at start-up: the agent racing it is answered completed, not stale', async () => {
    const body = wavBytes(90_000);
    const { recordingId, lease, digest } = await heldWhole(body);
    // Start-up recovery is inside its commit (the job already marked completed, the file being
    // renamed into the library) when the agent's completing PUT arrives.
    const original = RecordingFileStore.prototype.promotePart;
    let inCommit!: () => void;
    const committing = new Promise<void>((resolve) => {
      inCommit = resolve;
    });
    let resume!: () => void;
    const resumed = new Promise<void>((resolve) => {
      resume = resolve;
    });
    const spy = vi.spyOn(RecordingFileStore.prototype, 'promotePart').mockImplementation(async function (
      this: RecordingFileStore,
      ...args: Parameters<RecordingFileStore['promotePart']>
    ) {
      inCommit();
      await resumed;
      return original.apply(this, args);
    });
    try {
      const recovering = ctl.services.uploads.recoverHeldUploads(new AbortController().signal);
      await committing;
      const putting = ctl.app.inject({
        method: 'PUT',
        url: cacheFile(recordingId),
        headers: {
          ...uploadHeaders(node.credential, lease.epoch, digest, body.length),
          'content-range': `bytes */${body.length}`,
        },
        payload: Buffer.alloc(0),
      });
      setTimeout(resume, 50);
      const [recovered, put] = await Promise.all([recovering, putting]);
      expect(put.statusCode, put.body).toBe(200);
      expect(put.json().data).toMatchObject({ complete: true, sha256: digest });
      expect(recovered.completed).toContain(recordingId);
    } finally {
      spy.mockRestore();
    }
    const after = await rows(recordingId);
    expect(after.recording.state).toBe('completed');
    expect(after.audits.filter((a) => a.outcome === 'success')).toHaveLength(1);
  });

  it('never completes a file that does not hash to the declared SHA-256: discarded with an audit event, sent again', async () => {
    const body = wavBytes(80_000);
    const wrongLast = Buffer.from([body.at(-1)! ^ 0xff]);
    const { recordingId, lease, digest } = await heldWhole(body, wrongLast);

    const status = await ctl.app.inject({
      method: 'GET',
      url: cacheFile(recordingId),
      headers: bearer(node.credential),
    });
    expect(status.json().data).toEqual({ recordingId, receivedBytes: 0, complete: false, sha256: null });
    const after = await rows(recordingId);
    expect(after.recording.state).toBe('uploading');
    expect(after.job.state).toBe('uploading');
    expect(after.audits).toEqual([
      expect.objectContaining({
        outcome: 'failure',
        actorType: 'node',
        reason: expect.stringMatching(/checksum mismatch/),
      }),
    ]);
    expect(JSON.parse(after.audits[0]!.after!)).toMatchObject({
      expectedSha256: digest,
      actualSha256: sha256(Buffer.concat([body.subarray(0, -1), wrongLast])),
    });

    // The agent kept its file: it sends it again from byte 0 and the upload completes.
    const again = await ctl.app.inject({
      method: 'PUT',
      url: cacheFile(recordingId),
      headers: uploadHeaders(node.credential, lease.epoch, digest, body.length),
      payload: body,
    });
    expect(again.json().data).toMatchObject({ complete: true, sha256: digest });
  });

  it('at start-up, completes what is held whole and discards (audited) what does not match', async () => {
    const good = wavBytes(60_000);
    const bad = wavBytes(70_000);
    const held = await heldWhole(good);
    const corrupt = await heldWhole(bad, Buffer.from([bad.at(-1)! ^ 0x01]));

    const report = await ctl.services.uploads.recoverHeldUploads();
    expect(report.completed).toContain(held.recordingId);
    expect(report.discarded).toContain(corrupt.recordingId);
    expect(report.failed).toEqual([]);

    const completed = await rows(held.recordingId);
    expect(completed.recording).toMatchObject({ state: 'completed', sha256: held.digest });
    expect(completed.job.state).toBe('completed');
    expect(completed.audits).toEqual([
      expect.objectContaining({ outcome: 'success', actorType: 'system', actorName: 'upload-recovery' }),
    ]);
    expect(sha256(await download(held.recordingId))).toBe(held.digest);

    const discarded = await rows(corrupt.recordingId);
    expect(discarded.recording.state).toBe('uploading');
    expect(discarded.job.state).toBe('uploading');
    expect(discarded.audits).toEqual([
      expect.objectContaining({ outcome: 'failure', actorType: 'system', actorName: 'upload-recovery' }),
    ]);
    // Running it again finds nothing left to do.
    const again = await ctl.services.uploads.recoverHeldUploads();
    expect(again.completed).not.toContain(held.recordingId);
    expect(again.discarded).not.toContain(corrupt.recordingId);
  });

  describe('the agent', () => {
    let dir: TempDir;
    beforeAll(async () => {
      dir = await tempDir('held-agent');
    });
    afterAll(async () => dir.cleanup());

    it('told that every byte is held but not complete, sends the completing PUT and then deletes its file', async () => {
      const body = wavBytes(150_000);
      const { recordingId, lease, digest } = await heldWhole(body);
      // An upload begun before the controller kept the declared SHA-256: it cannot verify
      // it alone, so its status says every byte is held and the upload is not complete.
      await ctl.db.recording.update({ where: { id: recordingId }, data: { expectedSha256: null } });
      const status = await ctl.app.inject({
        method: 'GET',
        url: cacheFile(recordingId),
        headers: bearer(node.credential),
      });
      expect(status.json().data).toMatchObject({ receivedBytes: body.length, complete: false });

      const path = join(dir.path, 'cache', `${recordingId}.wav`);
      await mkdir(join(dir.path, 'cache'), { recursive: true });
      await writeFile(path, body);
      const journal = new JobJournal(journalPath(dir.path));
      await journal.load();
      const entry = {
        jobId: lease.jobId,
        recordingId,
        epoch: lease.epoch,
        state: 'recorded' as const,
        path,
        sampleRate: 48_000,
        channels: 2,
        startedAtMs: Date.now(),
        sizeBytes: body.length,
        sha256: digest,
      };
      await journal.put(entry);
      const uploader = new Uploader({
        api: new AgentHttpClient({ baseUrl: `http://127.0.0.1:${port}`, credential: node.credential }),
        journal,
        log: silentLogger(),
        jobHeartbeatIntervalMs: () => 3_600_000,
        backoff: { baseMs: 5, capMs: 40 },
      });

      uploader.start();
      await uploader.idle();
      await uploader.stop();
      expect(journal.get(lease.jobId)).toBeUndefined(); // confirmed, not parked
      const { recording, job, audits } = await rows(recordingId);
      expect(recording).toMatchObject({ state: 'completed', sha256: digest });
      expect(job.state).toBe('completed');
      expect(audits).toEqual([expect.objectContaining({ outcome: 'success', actorType: 'node' })]);
      expect(existsSync(path)).toBe(false);
    });
  });
});
