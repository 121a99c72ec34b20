/**
 * Retention on a real controller and database, with a full disk (the one thing faked: the
 * disk's free space) and three policies: only recordings verified at the providers a policy
 * waits for, untagged and not held, are removed, in the documented order (policies by name,
 * then maximum age, maximum bytes, minimum free disk, oldest first); never the last verified
 * copy; a dry run lists the same and removes nothing; each removal is audited with its policy.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bearer, enrolledNode, type TestController, testController } from '../support/controller.js';
import { type TempDir, tempDir } from '../support/tmp.js';

const DAY = 86_400_000;
const SIZE = 1000;

describe(`retention (${inject('testDb')})`, () => {
  let ctl: TestController;
  let owner: string;
  let root: TempDir;
  let provider: string;
  let nodeId: string;
  const now = new Date('2026-12-01T12:00:00Z');
  const ids: Record<string, string> = {};

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    ctl.app.inject({ method, url: `/api/v1${url}`, headers: bearer(owner), ...(payload ? { payload } : {}) });
  const create = async (family: string, name: string, body: object) => {
    const created = await call('POST', `/settings/${family}`, { name, body });
    expect(created.statusCode, created.body).toBe(201);
    return (created.json() as { data: { id: string } }).data.id;
  };
  const fileOf = (id: string) => join(ctl.config.dataDir, 'recordings', nodeId, `${id}.wav`);
  const exists = (path: string) =>
    stat(path).then(
      () => true,
      () => false,
    );

  /** A completed recording with its file on disk, `ageDays` old, verified at `verifiedAt` providers. */
  async function stored(
    name: string,
    ageDays: number,
    extra: { verified?: boolean; tagged?: boolean; held?: boolean; at?: string; size?: number },
  ) {
    const id = randomUUID();
    const size = extra.size ?? SIZE;
    ids[name] = id;
    await writeFile(fileOf(id), randomBytes(size));
    await ctl.db.recording.create({
      data: {
        id,
        nodeId,
        title: name,
        state: 'completed',
        sampleRate: 8000,
        channels: 1,
        filePath: join('recordings', nodeId, `${id}.wav`),
        sizeBytes: BigInt(size),
        sha256: 'a'.repeat(64),
        completedAt: new Date(now.getTime() - ageDays * DAY),
        legalHold: extra.held ?? false,
        ...(extra.tagged ? { tags: { create: [{ tag: 'evidence' }] } } : {}),
        ...(extra.verified
          ? {
              uploads: {
                create: [
                  {
                    providerId: extra.at ?? provider,
                    state: 'verified',
                    maxAttempts: 1,
                    nextAttemptAt: now,
                    objectKey: `recordings/${nodeId}/${id}.wav`,
                    sizeBytes: BigInt(SIZE),
                    sha256: 'a'.repeat(64),
                    verifiedAt: now,
                    verifiedBy: 'reread',
                  },
                ],
              },
            }
          : {}),
      },
    });
  }

  beforeAll(async () => {
    // The disk is full: 5 % free of 10,000 bytes, plus what retention frees.
    const freed = async () =>
      (await ctl.db.recording.count({ where: { localRemovedAt: { not: null } } })) * SIZE;
    ctl = await testController({}, () => now, {
      diskSpace: async () => ({ freeBytes: 500 + (await freed()), totalBytes: 10_000 }),
    });
    owner = await ctl.ownerToken();
    root = await tempDir('retention-copies');
    nodeId = (await enrolledNode(ctl, { id: 'retained', site: 'hq' })).nodeId;
    await mkdir(join(ctl.config.dataDir, 'recordings', nodeId), { recursive: true });
    provider = await create('upload-providers', 'archive', { kind: 'filesystem', root: root.path });
    await create('retention-policies', '1 after 30 days', {
      scope: 'controller',
      maxAgeDays: 30,
      deleteOnlyAfterVerifiedUploadTo: [provider],
      keepTagged: true,
    });
    await create('retention-policies', '2 at most 5000 bytes', {
      scope: 'controller',
      maxAgeDays: null,
      maxBytes: 5000,
      keepTagged: true,
    });
    await create('retention-policies', '3 keep 40 % free', {
      scope: 'controller',
      maxAgeDays: null,
      minFreeDiskPercent: 40,
      deleteOnlyAfterVerifiedUploadTo: [provider],
      keepTagged: true,
    });
    await create('retention-policies', 'agent caches', {
      scope: 'agent-cache',
      maxAgeDays: 1,
      keepTagged: false,
    });
    await stored('old', 100, { verified: true });
    await stored('old tagged', 90, { verified: true, tagged: true });
    await stored('old not uploaded', 80, {});
    await stored('old held', 70, { verified: true, held: true });
    await stored('recent 1', 10, { verified: true });
    await stored('recent 2', 5, { verified: true });
    await stored('recent 3', 2, { verified: true });
    await stored('newest', 1, { verified: true });
  });
  afterAll(async () => {
    await ctl?.stop();
    await root?.cleanup();
  });

  const expected = () => [
    { recordingId: ids.old, policyName: '1 after 30 days', rule: 'max-age', sizeBytes: SIZE },
    { recordingId: ids['recent 1'], policyName: '2 at most 5000 bytes', rule: 'max-bytes', sizeBytes: SIZE },
    { recordingId: ids['recent 2'], policyName: '2 at most 5000 bytes', rule: 'max-bytes', sizeBytes: SIZE },
    { recordingId: ids['recent 3'], policyName: '3 keep 40 % free', rule: 'min-free-disk', sizeBytes: SIZE },
  ];

  it('a dry run lists what would go, in order, and removes nothing', async () => {
    const dry = await call('POST', '/retention/run', { dryRun: true });
    expect(dry.statusCode, dry.body).toBe(200);
    const plan = dry.json().data;
    expect(plan.dryRun).toBe(true);
    expect(plan.removals).toMatchObject(expected());
    expect(plan.freedBytes).toBe(4 * SIZE);
    expect(plan.kept).toMatchObject({ 'legal-hold': 1, tagged: 1 });
    expect(plan.kept['not-uploaded'] + plan.kept['last-copy']).toBe(1);
    for (const id of Object.values(ids)) expect(await exists(fileOf(id))).toBe(true);
    expect(await ctl.db.auditEvent.count({ where: { action: 'retention.delete' } })).toBe(0);
    expect(await ctl.db.auditEvent.count({ where: { action: 'retention.run' } })).toBe(1);
  });

  it('a run removes exactly those: files gone, rows kept with the policy, each audited', async () => {
    const run = await call('POST', '/retention/run', {});
    expect(run.statusCode, run.body).toBe(200);
    expect(run.json().data.removals).toMatchObject(expected());
    const removed = new Set(expected().map((r) => r.recordingId));
    for (const [name, id] of Object.entries(ids))
      expect(await exists(fileOf(id)), name).toBe(!removed.has(id));
    const rows = await ctl.db.recording.findMany({ where: { nodeId }, orderBy: { completedAt: 'asc' } });
    expect(rows).toHaveLength(8);
    for (const row of rows) expect(row.localRemovedAt !== null, row.title).toBe(removed.has(row.id));
    const events = await ctl.db.auditEvent.findMany({
      where: { action: 'retention.delete' },
      orderBy: { seq: 'asc' },
    });
    expect(events.map((e) => e.targetId)).toEqual(expected().map((r) => r.recordingId));
    expect(JSON.parse(events[0]!.after!)).toMatchObject({ policy: '1 after 30 days', rule: 'max-age' });
    // The recording stays in the library; its file says where the copies are.
    const file = await call('GET', `/recordings/${ids.old}/file`);
    expect(file.statusCode).toBe(409);
    expect(file.json().error.message).toMatch(/Retention removed the controller's copy/);
    expect((await call('GET', `/recordings/${ids.old}`)).statusCode).toBe(200);
    const copy = await call('POST', `/recordings/${ids.old}/upload-queue`, { providerId: provider });
    expect(copy.statusCode).toBe(409);
    expect(copy.json().error.message).toMatch(/no longer holds this recording's file/);
    // Nothing more to do: the next run removes nothing.
    expect((await call('POST', '/retention/run', {})).json().data.removals).toEqual([]);
    expect((await call('GET', '/retention')).json().data).toMatchObject({ dryRun: false, removals: [] });
  });

  it('refuses to delete a provider that holds the only copy of a recording, naming them', async () => {
    const refused = await call('DELETE', `/settings/upload-providers/${provider}`);
    expect(refused.statusCode).toBe(409);
    const users = refused.json().error.details.users as { type: string; id: string; name?: string }[];
    const held = users.filter((u) => u.type === 'recording held only at this provider');
    expect(held.map((u) => u.name).sort()).toEqual(['old', 'recent 1', 'recent 2', 'recent 3']);
    expect(refused.json().error.message).toMatch(/recording held only at this provider old/);
  });

  it('does not count a copy at a deleted provider: the controller copy is then the last one', async () => {
    const scratch = await create('upload-providers', 'scratch', { kind: 'filesystem', root: root.path });
    // Over the 5,000-byte policy by 3,000 with it; its only other copy was at `scratch`.
    await stored('copied to a deleted provider', 95, { verified: true, at: scratch, size: 3 * SIZE });
    const deleted = await call('DELETE', `/settings/upload-providers/${scratch}`);
    expect(deleted.statusCode, deleted.body).toBe(204);

    const run = await call('POST', '/retention/run', {});
    expect(run.statusCode, run.body).toBe(200);
    const removed = (run.json().data.removals as { recordingId: string }[]).map((r) => r.recordingId);
    expect(removed).not.toContain(ids['copied to a deleted provider']);
    expect(await exists(fileOf(ids['copied to a deleted provider']!))).toBe(true);
    expect(run.json().data.kept['last-copy']).toBeGreaterThanOrEqual(1);
  });

  it('refuses bad input and callers without the permission over the fleet', async () => {
    expect((await call('POST', '/retention/run', { dryRun: 'yes' })).statusCode).toBe(400);
    expect((await call('POST', '/retention/run', { other: true })).statusCode).toBe(400);
  });
});
