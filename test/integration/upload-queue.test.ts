/**
 * The upload queue end to end on a real controller and database: recordings copied by the
 * runner to a directory (an on-complete policy) and to an S3-compatible server (queued by hand),
 * verified there; the server gone mid-way: retried with backoff, then done when it returns; the
 * last attempt failed: a health event and a retry; a copy changed behind our back: detected and
 * copied again; a copy cut off by a controller that stopped: resumed by another from its parts.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp, type ControllerApp } from '../../controller/src/app.js';
import { type Db, openDatabase } from '../../controller/src/db/client.js';
import { PART_BYTES } from '../../controller/src/modules/storage/s3-store.js';
import {
  bearer,
  enrolledNode,
  type TestController,
  testController,
  userWithRole,
} from '../support/controller.js';
import { completedRecording, wavBytes } from '../support/recordings.js';
import { startS3, type TestS3 } from '../support/s3.js';
import { type TempDir, tempDir } from '../support/tmp.js';

interface Item {
  id: string;
  recordingId: string;
  providerId: string;
  state: string;
  attempts: number;
  nextAttemptAt: string;
  lastError: string | null;
  verifiedBy: string | null;
  bytesSent: number;
  resumable: boolean;
}

describe(`upload queue (${inject('testDb')})`, () => {
  let ctl: TestController;
  let owner: string;
  let dir: TempDir;
  let s3: TestS3;
  let node: { nodeId: string; credential: string };
  let clockMs = Date.now();
  const clock = () => new Date(clockMs);

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    ctl.app.inject({ method, url: `/api/v1${url}`, headers: bearer(owner), ...(payload ? { payload } : {}) });
  const create = async (family: string, name: string, body: object) => {
    const created = await call('POST', `/settings/${family}`, { name, body });
    expect(created.statusCode, created.body).toBe(201);
    return (created.json() as { data: { id: string } }).data.id;
  };
  const s3Provider = (name: string, bucket = 'copies') =>
    create('upload-providers', name, {
      kind: 's3',
      endpoint: s3.endpoint,
      region: 'us-east-1',
      bucket,
      prefix: 'earshot',
      forcePathStyle: true,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: 'not-checked-by-s3rver',
    });
  /** A provider whose every copy fails: its bucket does not exist. */
  const missingBucketProvider = (name: string) =>
    create('upload-providers', name, {
      kind: 's3',
      endpoint: s3.endpoint,
      region: 'us-east-1',
      bucket: 'no-such-bucket',
      prefix: '',
      forcePathStyle: true,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: 'x',
    });
  const run = async () => {
    const ran = await call('POST', '/upload-runner/run');
    expect(ran.statusCode, ran.body).toBe(200);
    return ran.json().data;
  };
  const itemsOf = async (recordingId: string): Promise<Item[]> =>
    (await call('GET', `/upload-queue?recordingId=${recordingId}`)).json().data;
  const enqueue = async (recordingId: string, providerId: string, maxAttempts?: number) => {
    const queued = await call('POST', `/recordings/${recordingId}/upload-queue`, { providerId, maxAttempts });
    expect(queued.statusCode, queued.body).toBe(201);
    return queued.json().data as Item;
  };
  const item = async (id: string): Promise<Item> => (await call('GET', `/upload-queue/${id}`)).json().data;
  const s3Object = (key: string) => readFile(join(s3.directory, 'copies', `earshot/${key}._S3rver_object`));

  beforeAll(async () => {
    ctl = await testController({}, clock);
    owner = await ctl.ownerToken();
    dir = await tempDir('upload-queue-root');
    s3 = await startS3(['copies']);
    node = await enrolledNode(ctl, { id: 'queue-node', site: 'hq' });
  });
  afterAll(async () => {
    await ctl?.stop();
    await s3?.stop();
    await dir?.cleanup();
  });

  it('an on-complete policy copies every verified recording to a directory, verified, audited', async () => {
    const provider = await create('upload-providers', 'archive disk', { kind: 'filesystem', root: dir.path });
    const policy = await create('upload-policies', 'archive all', {
      provider,
      trigger: 'on-complete',
      maxAttempts: 3,
    });
    const body = wavBytes(48_000, 8000, 1);
    const { id } = await completedRecording(ctl, owner, node, body);
    const status = await run();
    expect(status.lastPassError).toBeNull();
    const [copy] = await itemsOf(id);
    expect(copy).toMatchObject({
      providerId: provider,
      state: 'verified',
      verifiedBy: 'reread',
      attempts: 1,
    });
    expect(await readFile(join(dir.path, 'recordings', node.nodeId, `${id}.wav`))).toEqual(body);
    const actions = await ctl.db.auditEvent.findMany({
      where: { targetId: copy!.id },
      orderBy: { seq: 'asc' },
    });
    expect(actions.map((a) => a.action)).toEqual(['upload_queue.enqueue', 'upload_queue.verify']);
    expect(JSON.parse(actions[0]!.after!)).toMatchObject({ policyId: policy });
    // A second pass queues nothing twice.
    await run();
    expect(await itemsOf(id)).toHaveLength(1);
    const metrics = await ctl.app.inject({ method: 'GET', url: '/metrics', headers: bearer(owner) });
    expect(metrics.body).toMatch(
      /earshot_upload_queue_items\{provider="archive disk",state="verified"\} [1-9]/,
    );
    expect(metrics.body).toMatch(/earshot_provider_copied_bytes_total\{provider="archive disk"\} [1-9]/);
    expect(metrics.body).not.toContain('not-checked-by-s3rver');
    // The policy is gone: nothing more is queued for it.
    expect((await call('DELETE', `/settings/upload-policies/${policy}`)).statusCode).toBe(204);
  });

  it('S3, queued by hand: the server stopped mid-way is retried with backoff, and the copy lands when it returns', async () => {
    const provider = await s3Provider('bucket');
    const body = wavBytes(64_000, 8000, 1);
    const { id } = await completedRecording(ctl, owner, node, body);
    const queued = await enqueue(id, provider);
    expect(queued).toMatchObject({ state: 'queued', attempts: 0 });
    const again = await call('POST', `/recordings/${id}/upload-queue`, { providerId: provider });
    expect(again.statusCode).toBe(409);

    await s3.pause();
    await run();
    const waiting = await item(queued.id);
    expect(waiting).toMatchObject({ state: 'queued', attempts: 1 });
    expect(waiting.lastError).toMatch(/ECONNREFUSED|connect/i);
    const delay = Date.parse(waiting.nextAttemptAt) - clockMs;
    expect(delay).toBeGreaterThanOrEqual(2_500);
    await run(); // not due yet: no attempt
    expect((await item(queued.id)).attempts).toBe(1);

    await s3.resume();
    clockMs += delay;
    await run();
    expect(await item(queued.id)).toMatchObject({ state: 'verified', attempts: 2, lastError: null });
    expect(await s3Object(`recordings/${node.nodeId}/${id}.wav`)).toEqual(body);
  });

  it('the last failed attempt fails the copy, raises a health event, and a retry queues it again', async () => {
    const provider = await missingBucketProvider('missing bucket');
    const { id } = await completedRecording(ctl, owner, node, wavBytes(4_800, 8000, 1));
    const queued = await enqueue(id, provider, 2);
    await run();
    clockMs += 60_000;
    await run();
    const failed = await item(queued.id);
    expect(failed).toMatchObject({ state: 'failed', attempts: 2 });
    expect(failed.lastError).toMatch(/NoSuchBucket|bucket/i);
    const events = (await call('GET', `/health-events?nodeId=${node.nodeId}`)).json().data as {
      type: string;
      message: string;
    }[];
    expect(
      events.some(
        (e) =>
          e.type === 'upload_failing' &&
          /to upload provider missing bucket failed after 2 attempts/.test(e.message),
      ),
    ).toBe(true);
    expect(
      await ctl.db.auditEvent.count({ where: { targetId: queued.id, action: 'upload_queue.fail' } }),
    ).toBe(1);
    expect((await call('GET', `/upload-queue/${queued.id}/actions`)).json().data.retry).toEqual({
      allowed: true,
      reason: null,
    });
    const retried = await call('POST', `/upload-queue/${queued.id}/retry`);
    expect(retried.statusCode, retried.body).toBe(200);
    expect(retried.json().data).toMatchObject({ state: 'queued', attempts: 0 });
    expect((await call('POST', `/upload-queue/${queued.id}/retry`)).statusCode).toBe(409);
  });

  it('does not retry a failed copy whose provider was deleted, and says what to do instead', async () => {
    const provider = await missingBucketProvider('doomed');
    const { id } = await completedRecording(ctl, owner, node, wavBytes(4_800, 8000, 1));
    const queued = await enqueue(id, provider, 1);
    await run();
    expect(await item(queued.id)).toMatchObject({ state: 'failed' });
    const deleted = await call('DELETE', `/settings/upload-providers/${provider}`);
    expect(deleted.statusCode, deleted.body).toBe(204);

    const retry = (await call('GET', `/upload-queue/${queued.id}/actions`)).json().data.retry;
    expect(retry.allowed).toBe(false);
    expect(retry.reason).toMatch(/upload provider was deleted.*another provider/);
    const refused = await call('POST', `/upload-queue/${queued.id}/retry`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.message).toMatch(/upload provider was deleted/);
    expect(await item(queued.id)).toMatchObject({ state: 'failed' });
  });

  it('a copy changed behind our back is detected and copied again', async () => {
    const provider = await s3Provider('checked bucket');
    const body = wavBytes(9_600, 8000, 1);
    const { id } = await completedRecording(ctl, owner, node, body);
    const queued = await enqueue(id, provider);
    await run();
    expect((await item(queued.id)).state).toBe('verified');
    const intact = await call('POST', `/upload-queue/${queued.id}/verify`);
    expect(intact.json().data.state).toBe('verified');

    const { S3Client, PutObjectCommand } = await import('@aws-sdk/client-s3');
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: 'x' },
    });
    await client.send(
      new PutObjectCommand({
        Bucket: 'copies',
        Key: `earshot/recordings/${node.nodeId}/${id}.wav`,
        Body: Buffer.alloc(body.length, 7),
      }),
    );
    client.destroy();
    const changed = await call('POST', `/upload-queue/${queued.id}/verify`);
    expect(changed.statusCode, changed.body).toBe(200);
    expect(changed.json().data).toMatchObject({ state: 'queued' });
    expect(changed.json().data.lastError).toMatch(/changed: the object read back is not the recording/);
    await run();
    expect((await item(queued.id)).state).toBe('verified');
    expect(await s3Object(`recordings/${node.nodeId}/${id}.wav`)).toEqual(body);
  });

  it('deleting a recording removes its copies from every provider, each reported', async () => {
    const folder = await create('upload-providers', 'deleting disk', { kind: 'filesystem', root: dir.path });
    const bucket = await s3Provider('deleting bucket');
    const { id } = await completedRecording(ctl, owner, node, wavBytes(4_800, 8000, 1));
    await enqueue(id, folder);
    await enqueue(id, bucket);
    await run();
    expect((await itemsOf(id)).map((i) => i.state)).toEqual(['verified', 'verified']);
    const key = `recordings/${node.nodeId}/${id}.wav`;
    const removed = await call('DELETE', `/recordings/${id}`);
    expect(removed.statusCode, removed.body).toBe(200);
    expect(removed.json().data.copies).toEqual(
      expect.arrayContaining([
        { target: 'upload provider deleting disk', ok: true },
        { target: 'upload provider deleting bucket', ok: true },
      ]),
    );
    await expect(readFile(join(dir.path, key))).rejects.toThrow(/ENOENT/);
    await expect(s3Object(key)).rejects.toThrow(/ENOENT/);
    expect(await ctl.db.uploadQueueItem.count({ where: { recordingId: id } })).toBe(0);
  });

  it('refuses bad input: unknown provider, incomplete recording, malformed ids', async () => {
    const { id } = await completedRecording(ctl, owner, node, wavBytes(480, 8000, 1));
    const unknown = await call('POST', `/recordings/${id}/upload-queue`, {
      providerId: '00000000-0000-4000-8000-000000000000',
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.message).toMatch(/upload provider/);
    expect((await call('POST', `/recordings/${id}/upload-queue`, { providerId: 'nope' })).statusCode).toBe(
      400,
    );
    expect((await call('GET', '/upload-queue/not-a-uuid')).statusCode).toBe(400);
    expect((await call('GET', '/upload-queue?state=lost')).statusCode).toBe(400);
    const bulk = await call('POST', '/recordings/bulk-upload-queue', {
      ids: [id, 'missing-recording'],
      providerId: await s3Provider('bulk bucket'),
    });
    expect(bulk.statusCode, bulk.body).toBe(200);
    expect(bulk.json().data.results.map((r: { status: number }) => r.status)).toEqual([200, 404]);
    expect(bulk.json().data).toMatchObject({ succeeded: 1, failed: 1 });
  });

  it('counts the copies the list’s filters select, by state and by provider, in scope', async () => {
    const listed: Item[] = (await call('GET', '/upload-queue?limit=200')).json().data;
    expect(listed.length).toBeGreaterThan(1);
    const facets = async (query = '', token = owner) => {
      const response = await ctl.app.inject({
        method: 'GET',
        url: `/api/v1/upload-queue/facets${query}`,
        headers: bearer(token),
      });
      expect(response.statusCode, response.body).toBe(200);
      return response.json().data as {
        total: number;
        state: { value: string; count: number }[];
        providerId: { value: string; count: number }[];
      };
    };
    const counted = (values: string[]) => {
      const counts = new Map<string, number>();
      for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
      return [...counts].map(([value, count]) => ({ value, count })).sort((a, b) => b.count - a.count);
    };
    const all = await facets();
    expect(all.total).toBe(listed.length);
    expect(new Set(all.state)).toEqual(new Set(counted(listed.map((i) => i.state))));
    expect(new Set(all.providerId)).toEqual(new Set(counted(listed.map((i) => i.providerId))));
    // The list's filters narrow the counts as they narrow the list.
    const verified = await facets('?state=verified');
    expect(verified.total).toBe(listed.filter((i) => i.state === 'verified').length);
    expect(verified.state).toEqual([{ value: 'verified', count: verified.total }]);
    expect((await call('GET', '/upload-queue/facets?state=lost')).statusCode).toBe(400);
    // A caller over another site counts nothing of this one.
    await enrolledNode(ctl, { id: 'queue-elsewhere', site: 'elsewhere' });
    const elsewhere = await ctl.db.site.findUniqueOrThrow({ where: { name: 'elsewhere' } });
    const viewer = await userWithRole(ctl, 'queue-viewer', 'viewer', { type: 'site', id: elsewhere.id });
    expect(await facets('', viewer)).toEqual({ total: 0, state: [], providerId: [] });
  });

  it('a multipart copy cut off by a controller that stopped is resumed by another from its stored parts', async () => {
    const provider = await s3Provider('big bucket');
    const size = 2 * PART_BYTES + 4_000;
    const body = wavBytes(size - 44, 8000, 1);
    const { id } = await completedRecording(ctl, owner, node, body);
    const queued = await enqueue(id, provider);
    // The first controller's runner stops after the first part is stored.
    const original = ctl.db.uploadQueueItem;
    let stopAfter = true;
    const watch = setInterval(async () => {
      const row = await original.findUnique({ where: { id: queued.id } });
      if (stopAfter && row?.multipartParts && JSON.parse(row.multipartParts).length >= 1) {
        stopAfter = false;
        await ctl.services.uploadRunner.stop();
      }
    }, 5);
    await ctl.services.uploadRunner.run();
    clearInterval(watch);
    const cut = await item(queued.id);
    expect(cut).toMatchObject({ state: 'uploading', resumable: true });
    expect(cut.bytesSent).toBeGreaterThanOrEqual(PART_BYTES);
    expect(cut.bytesSent).toBeLessThan(size);

    // Another controller on the same database takes it over once the lease ran out.
    const replicaDb: Db = openDatabase(ctl.target);
    const other: ControllerApp = await buildApp({
      config: ctl.config,
      db: replicaDb,
      provider: ctl.target.provider,
      logger: false,
      now: () => new Date(clockMs + 10 * 60_000),
    });
    try {
      await other.services.uploadRunner.run();
      const done = await item(queued.id);
      expect(done).toMatchObject({ state: 'verified', resumable: false });
      const stored = await s3Object(`recordings/${node.nodeId}/${id}.wav`);
      expect(createHash('sha256').update(stored).digest('hex')).toBe(
        createHash('sha256').update(body).digest('hex'),
      );
    } finally {
      await other.close();
      await replicaDb.$disconnect();
    }
  }, 60_000);
});
