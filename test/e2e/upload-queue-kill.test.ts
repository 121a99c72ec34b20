/**
 * The controller killed (SIGKILL) in the middle of a multipart copy to an S3-compatible upload
 * provider, then started again on the same data directory: alone on its SQLite database, its
 * runner takes the copy over as it starts, well before the copy's lease (2 minutes) runs out,
 * sends only the parts the provider does not hold yet, on the same multipart upload, and the
 * copy is verified.
 *
 * The built controller runs as a process; s3rver (a real S3 API on a folder) sits behind a small
 * HTTP proxy in this test that records every UploadPart it forwards and, before the kill, holds
 * the second part unanswered, so the kill always lands with exactly one part stored.
 */

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PART_BYTES } from '../../controller/src/modules/storage/s3-store.js';
import type { JobLease } from '../../shared/src/agent-api.js';
import { controllerSetup, fetchData, runController, setUpOwner } from '../support/controller-process.js';
import { type RunningProcess, requireBuild, waitFor } from '../support/processes.js';
import { sha256, uploadHeaders, wavBytes } from '../support/recordings.js';
import { startS3, type TestS3 } from '../support/s3.js';
import { type TempDir, tempDir } from '../support/tmp.js';

const OWNER = { username: 'copy-owner', password: 'copy owner password 123' };
const NODE_ID = 'copy-node';
/** The default copy lease (EARSHOT_UPLOAD_COPY_LEASE_SECONDS): the restart does not wait for it. */
const LEASE_SECONDS = 120;
const SIZE = 3 * PART_BYTES + 100_000;

interface Item {
  id: string;
  state: string;
  attempts: number;
  bytesSent: number;
  resumable: boolean;
  verifiedBy: string | null;
  lastError: string | null;
  sha256: string;
}

interface SentPart {
  uploadId: string;
  partNumber: number;
  bytes: number;
}

/**
 * A pass-through proxy to `target` (headers untouched, so S3 signatures still match) that
 * records the UploadPart requests it forwarded and, while `holdAfter` parts were forwarded
 * already, keeps further ones unanswered (never forwarded).
 */
async function partProxy(target: string) {
  const upstream = new URL(target);
  const sent: SentPart[] = [];
  const held: ServerResponse[] = [];
  let holdAfter = Number.POSITIVE_INFINITY;
  const forward = (req: IncomingMessage, res: ServerResponse, part: SentPart | null) => {
    const { expect: _expect, ...headers } = req.headers;
    const out = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (answer) => {
        if (part && answer.statusCode === 200) sent.push(part);
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.on('data', (chunk: Buffer) => {
      if (part) part.bytes += chunk.length;
    });
    req.pipe(out);
  };
  const server: Server = createServer((req, res) => {
    const query = new URL(req.url ?? '/', 'http://proxy').searchParams;
    const isPart = req.method === 'PUT' && query.has('partNumber') && query.has('uploadId');
    if (isPart && sent.length >= holdAfter) {
      held.push(res);
      return;
    }
    const part = isPart
      ? { uploadId: query.get('uploadId') ?? '', partNumber: Number(query.get('partNumber')), bytes: 0 }
      : null;
    forward(req, res, part);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** The UploadParts the provider answered 200, in order. */
    sent,
    held: () => held.length,
    hold(after: number) {
      holdAfter = after;
    },
    /** Forwards again; the parts held so far are dropped (their sender is gone). */
    release() {
      holdAfter = Number.POSITIVE_INFINITY;
      for (const res of held.splice(0)) res.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of held.splice(0)) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('a multipart copy to an upload provider cut off by kill -9', () => {
  let dir: TempDir;
  let s3: TestS3;
  let proxy: Awaited<ReturnType<typeof partProxy>>;
  let controller: RunningProcess;
  let base: string;
  let token: string;
  let startController: () => Promise<void>;
  let recordingId: string;
  let body: Buffer;
  let providerId: string;
  const logs = () => `controller:\n${controller?.output().slice(-5000)}`;

  const call = <T = Record<string, unknown>>(path: string, init: RequestInit & { token?: string } = {}) => {
    const { token: as, ...rest } = init;
    return fetchData<T>(base, `/api/v1${path}`, 'token' in init ? as : token, rest);
  };
  const item = (id: string) => call<Item>(`/upload-queue/${id}`);

  beforeAll(async () => {
    requireBuild();
    dir = await tempDir('upload-queue-kill');
    s3 = await startS3(['copies']);
    proxy = await partProxy(s3.endpoint);
    const setup = await controllerSetup(join(dir.path, 'controller'), {
      EARSHOT_UPLOAD_COPY_LEASE_SECONDS: undefined,
    });
    base = setup.base;
    startController = async () => {
      await runController(setup, { context: logs, onSpawn: (started) => (controller = started) });
    };
    await startController();
    token = await setUpOwner(base, OWNER);

    // A node enrolled, and its agent's completed recording of a few parts, through the API.
    const enrolled = await call('/nodes/enroll', {
      method: 'POST',
      body: JSON.stringify({ name: 'Copy node', site: 'lab', id: NODE_ID }),
    });
    const { credential } = await call<{ credential: string }>('/agent/enroll', {
      method: 'POST',
      token: undefined,
      body: JSON.stringify({ token: enrolled.enrollmentToken }),
    });
    const created = await call('/recordings', {
      method: 'POST',
      body: JSON.stringify({ nodeId: NODE_ID, title: 'long take', durationSeconds: 5 }),
    });
    recordingId = created.id as string;
    const lease = await call<JobLease>(`/nodes/${NODE_ID}/recording-jobs/claim-next`, {
      method: 'POST',
      token: credential,
      body: '{}',
    });
    expect(lease.recordingId).toBe(recordingId);
    body = wavBytes(SIZE - 44);
    const put = await fetch(`${base}/api/v1/recordings/${recordingId}/cache-file`, {
      method: 'PUT',
      headers: uploadHeaders(credential, lease.epoch, sha256(body), body.length),
      body: new Uint8Array(body),
    });
    expect(put.status, await put.clone().text()).toBe(200);
    expect((await call(`/recordings/${recordingId}`)).state).toBe('completed');

    const provider = await call('/settings/upload-providers', {
      method: 'POST',
      body: JSON.stringify({
        name: 'offsite bucket',
        body: {
          kind: 's3',
          endpoint: proxy.endpoint,
          region: 'us-east-1',
          bucket: 'copies',
          prefix: 'earshot',
          forcePathStyle: true,
          accessKeyId: s3.accessKeyId,
          secretAccessKey: 'not-checked-by-s3rver',
        },
      }),
    });
    providerId = provider.id as string;
  }, 180_000);

  afterAll(async () => {
    await controller?.stop();
    await proxy?.close();
    await s3?.stop();
    await dir?.cleanup();
  });

  it('a restarted controller resumes the copy, sends only the missing parts, and it is verified', async () => {
    const started = Date.now();
    proxy.hold(1); // the first part goes through; the second waits until the kill
    const queued = await call<Item>(`/recordings/${recordingId}/upload-queue`, {
      method: 'POST',
      body: JSON.stringify({ providerId }),
    });
    expect(queued).toMatchObject({ state: 'queued', sha256: sha256(body) });
    // A pass now, not awaited: it never answers, the process is killed under it.
    call('/upload-runner/run', { method: 'POST' }).catch(() => undefined);
    await waitFor('the second part to be on its way', async () => (proxy.held() >= 1 ? true : undefined));
    const cut = await item(queued.id);
    expect(cut).toMatchObject({ state: 'uploading', resumable: true, attempts: 0 });
    expect(cut.bytesSent).toBeGreaterThanOrEqual(PART_BYTES);
    expect(cut.bytesSent).toBeLessThan(SIZE);
    expect(proxy.sent.map((p) => p.partNumber)).toEqual([1]);
    const uploadId = proxy.sent[0]!.uploadId;

    expect(await controller.stop('SIGKILL')).toBeNull();
    const killedAt = Date.now();
    proxy.release();
    await startController();

    const done = await waitFor(
      'the copy to be verified after the restart',
      async () => {
        const now = await item(queued.id);
        return now.state === 'verified' ? now : undefined;
      },
      60_000,
      logs,
    );
    const resumedAfterMs = Date.now() - killedAt;
    expect(resumedAfterMs).toBeLessThan(LEASE_SECONDS * 1000);
    expect(done).toMatchObject({
      state: 'verified',
      resumable: false,
      bytesSent: SIZE,
      attempts: 1,
      lastError: null,
    });
    expect(['checksum', 'reread']).toContain(done.verifiedBy);

    // Only the parts the provider did not hold were sent again, to the same multipart upload.
    const after = proxy.sent.slice(1);
    expect(after.map((p) => p.partNumber)).toEqual([2, 3, 4]);
    expect(after.every((p) => p.uploadId === uploadId)).toBe(true);
    const bytesAfter = after.reduce((sum, p) => sum + p.bytes, 0);
    expect(bytesAfter).toBe(SIZE - PART_BYTES);
    expect(bytesAfter).toBeLessThan(SIZE);

    // The object at the provider is the recording, byte for byte.
    const stored = await readFile(
      join(s3.directory, 'copies', `earshot/recordings/${NODE_ID}/${recordingId}.wav._S3rver_object`),
    );
    const recording = await call<{ sha256: string; sizeBytes: number }>(`/recordings/${recordingId}`);
    expect(stored.length).toBe(recording.sizeBytes);
    expect(createHash('sha256').update(stored).digest('hex')).toBe(recording.sha256);
    expect(recording.sha256).toBe(sha256(body));

    // Audited once queued and once verified; no failure in between.
    const events = await call<{ action: string; outcome: string }[]>(`/audit-events?targetId=${queued.id}`);
    expect(events.map((e) => e.action).sort()).toEqual(['upload_queue.enqueue', 'upload_queue.verify']);
    console.info(
      `upload-queue kill: resumed and verified ${(resumedAfterMs / 1000).toFixed(1)} s after the kill ` +
        `(the lease is ${LEASE_SECONDS} s); whole case ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  });
});
