/**
 * The recording library's organising routes against a real controller and database: metadata
 * (one and bulk), deletion (one and bulk, with legal hold and tags respected and the files
 * gone), facets, export and the per-recording actions; scope and bad input.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { fromBuffer } from 'yauzl';
import {
  bearer,
  enrolledNode,
  type TestController,
  testController,
  userWithRole,
} from '../support/controller.js';
import { completedRecording, createRecording, wavBytes } from '../support/recordings.js';

interface Node {
  nodeId: string;
  credential: string;
}

/** A zip's entries by name (read with yauzl, the reading half of the zip library we write with). */
function unzipped(zip: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    fromBuffer(zip, { lazyEntries: true }, (error, file) => {
      if (error) return reject(error);
      const entries = new Map<string, Buffer>();
      file.on('entry', (entry) =>
        file.openReadStream(entry, (err, stream) => {
          if (err) return reject(err);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            entries.set(entry.fileName, Buffer.concat(chunks));
            file.readEntry();
          });
        }),
      );
      file.on('end', () => resolve(entries));
      file.readEntry();
    });
  });
}

describe(`recording library (${inject('testDb')})`, () => {
  let ctl: TestController;
  let owner: string;
  let hq: Node;
  let annex: Node;
  let annexViewer: string;

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object, token = owner) =>
    ctl.app.inject({ method, url: `/api/v1${url}`, headers: bearer(token), ...(payload ? { payload } : {}) });
  const recording = async (id: string) => (await call('GET', `/recordings/${id}`)).json().data;
  const fileOf = async (id: string) => {
    const row = await ctl.db.recording.findUniqueOrThrow({ where: { id } });
    return join(ctl.config.dataDir, row.filePath!);
  };
  const exists = (path: string) =>
    stat(path).then(
      () => true,
      () => false,
    );

  /** `count` completed recordings on `node` with files on disk, written straight to the store. */
  async function seeded(node: Node, count: number): Promise<string[]> {
    const dir = join(ctl.config.dataDir, 'recordings', node.nodeId);
    await mkdir(dir, { recursive: true });
    const ids = Array.from({ length: count }, () => randomUUID());
    const body = wavBytes(480, 8000, 1);
    await Promise.all(ids.map((id) => writeFile(join(dir, `${id}.wav`), body)));
    await ctl.db.recording.createMany({
      data: ids.map((id) => ({
        id,
        nodeId: node.nodeId,
        title: `seeded ${id}`,
        state: 'completed',
        sampleRate: 8000,
        channels: 1,
        filePath: join('recordings', node.nodeId, `${id}.wav`),
        sizeBytes: BigInt(body.length),
        sha256: 'a'.repeat(64),
        completedAt: new Date(),
      })),
    });
    return ids;
  }

  beforeAll(async () => {
    ctl = await testController();
    owner = await ctl.ownerToken();
    hq = await enrolledNode(ctl, { id: 'lib-hq', site: 'hq' });
    annex = await enrolledNode(ctl, { id: 'lib-annex', site: 'annex' });
    const annexSite = await ctl.db.site.findUniqueOrThrow({ where: { name: 'annex' } });
    annexViewer = await userWithRole(ctl, 'annex-operator', 'operator', { type: 'site', id: annexSite.id });
  });
  afterAll(async () => {
    await ctl?.stop();
  });

  it('edits metadata: title, notes, tags (replaced), custom fields (merged), hold; audited before and after', async () => {
    const { id } = await completedRecording(ctl, owner, hq, wavBytes(4800, 8000, 1));
    const first = await call('PATCH', `/recordings/${id}/metadata`, {
      title: 'Board meeting',
      notes: 'quarterly',
      tags: ['meetings', 'board'],
      customFields: { room: 'A1', project: 'q3' },
    });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json().data).toMatchObject({
      title: 'Board meeting',
      notes: 'quarterly',
      tags: ['board', 'meetings'],
      customFields: { room: 'A1', project: 'q3' },
      legalHold: false,
    });
    const second = await call('PATCH', `/recordings/${id}/metadata`, {
      customFields: { room: null, speaker: 'Ada' },
      legalHold: true,
    });
    expect(second.json().data).toMatchObject({
      customFields: { project: 'q3', speaker: 'Ada' },
      legalHold: true,
      tags: ['board', 'meetings'],
    });
    // The list shows the same metadata as the detail.
    const listed = (await call('GET', '/recordings?limit=50'))
      .json()
      .data.find((r: { id: string }) => r.id === id);
    expect(listed).toMatchObject({ tags: ['board', 'meetings'], legalHold: true, notes: 'quarterly' });
    const events = await ctl.db.auditEvent.findMany({
      where: { action: 'recording.metadata_update', targetId: id },
      orderBy: { seq: 'asc' },
    });
    expect(events).toHaveLength(2);
    expect(JSON.parse(events[1]!.before!)).toEqual({
      customFields: { room: 'A1', project: 'q3' },
      legalHold: false,
    });
    // Nothing changed: no event.
    await call('PATCH', `/recordings/${id}/metadata`, { legalHold: true });
    expect(
      await ctl.db.auditEvent.count({ where: { action: 'recording.metadata_update', targetId: id } }),
    ).toBe(2);
  });

  it('refuses bad metadata with 400 and a useful message', async () => {
    const { id } = await completedRecording(ctl, owner, hq, wavBytes(480, 8000, 1));
    for (const body of [
      {},
      { tags: [' padded'] },
      { tags: Array.from({ length: 33 }, (_, i) => `t${i}`) },
      { customFields: { 'bad name!': 'x' } },
      { title: '' },
      { unknown: 1 },
      { notes: 'x'.repeat(10_001) },
    ]) {
      const res = await call('PATCH', `/recordings/${id}/metadata`, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().error.message).toBeTruthy();
    }
    const fields = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`f${i}`, 'v']));
    expect((await call('PATCH', `/recordings/${id}/metadata`, { customFields: fields })).statusCode).toBe(
      200,
    );
    const over = await call('PATCH', `/recordings/${id}/metadata`, { customFields: { another: 'v' } });
    expect(over.statusCode).toBe(400);
    expect(over.json().error.message).toMatch(/at most 32 custom fields/);
    expect((await call('PATCH', '/recordings/no-such/metadata', { notes: 'x' })).statusCode).toBe(404);
  });

  it('deletes a finished recording and its file; refuses held, tagged (unless allowed) and unfinished ones', async () => {
    const done = await completedRecording(ctl, owner, hq, wavBytes(4800, 8000, 1));
    const path = await fileOf(done.id);
    expect(await exists(path)).toBe(true);
    const removed = await call('DELETE', `/recordings/${done.id}`);
    expect(removed.statusCode, removed.body).toBe(200);
    expect(removed.json().data).toMatchObject({ id: done.id, deleted: true, freedBytes: 4800 + 44 });
    expect(await exists(path)).toBe(false);
    expect((await call('GET', `/recordings/${done.id}`)).statusCode).toBe(404);
    expect(await ctl.db.recordingJob.count({ where: { recordingId: done.id } })).toBe(0);
    const event = await ctl.db.auditEvent.findFirstOrThrow({
      where: { action: 'recording.delete', targetId: done.id },
    });
    expect(JSON.parse(event.before!)).toMatchObject({ state: 'completed', sizeBytes: 4844 });

    const held = await completedRecording(ctl, owner, hq, wavBytes(480, 8000, 1));
    await call('PATCH', `/recordings/${held.id}/metadata`, { legalHold: true });
    const refusedHeld = await call('DELETE', `/recordings/${held.id}`);
    expect(refusedHeld.statusCode).toBe(409);
    expect(refusedHeld.json().error.message).toMatch(/legal hold: release the hold first/);
    expect(await exists(await fileOf(held.id))).toBe(true);

    const tagged = await completedRecording(ctl, owner, hq, wavBytes(480, 8000, 1));
    await call('PATCH', `/recordings/${tagged.id}/metadata`, { tags: ['keep'] });
    const refusedTagged = await call('DELETE', `/recordings/${tagged.id}`);
    expect(refusedTagged.statusCode).toBe(409);
    expect(refusedTagged.json().error.message).toMatch(/tagged \(keep\): say allowTagged/);
    expect((await call('DELETE', `/recordings/${tagged.id}?allowTagged=true`)).statusCode).toBe(200);

    const running = await createRecording(ctl, owner, hq.nodeId, { durationSeconds: 60 });
    const refusedRunning = await call('DELETE', `/recordings/${running.id}`);
    expect(refusedRunning.statusCode).toBe(409);
    expect(refusedRunning.json().error.message).toMatch(/is pending: only completed, failed or cancelled/);
    await call('POST', `/recordings/${running.id}/stop`);
    expect((await call('DELETE', `/recordings/${running.id}`)).statusCode).toBe(200);
  });

  it('bulk-deletes 1,000 recordings: per-item results, one audit event each, nothing left on disk', async () => {
    const ids = await seeded(hq, 1000);
    const held = ids[10]!;
    await ctl.db.recording.update({ where: { id: held }, data: { legalHold: true } });
    const outside = (await seeded(annex, 1))[0]!;
    const res = await call('POST', '/recordings/bulk-delete', { ids: [...ids, 'no-such-recording'] });
    expect(res.statusCode, res.body).toBe(400); // 1,001 ids: over the limit, nothing done
    expect(
      await ctl.db.recording.count({ where: { nodeId: hq.nodeId, title: { startsWith: 'seeded' } } }),
    ).toBe(1000);

    const asAnnex = await call('POST', '/recordings/bulk-delete', { ids: [outside, ids[0]!] }, annexViewer);
    // An operator may not delete (recording:delete is not theirs): refused for the whole request.
    expect(asAnnex.statusCode).toBe(403);

    const bulk = await call('POST', '/recordings/bulk-delete', { ids });
    expect(bulk.statusCode, bulk.body).toBe(200);
    const { results, succeeded, failed } = bulk.json().data;
    expect(results).toHaveLength(1000);
    expect([succeeded, failed]).toEqual([999, 1]);
    expect(results[10]).toMatchObject({ id: held, ok: false, status: 409, error: { code: 'conflict' } });
    expect(results.filter((r: { ok: boolean }) => r.ok).map((r: { id: string }) => r.id)).toEqual(
      ids.filter((id) => id !== held),
    );
    const bulkIds = new Set(ids);
    const events = (
      await ctl.db.auditEvent.findMany({
        where: { action: 'recording.delete' },
        select: { targetId: true, outcome: true },
      })
    ).filter((e) => bulkIds.has(e.targetId!));
    expect(events.filter((e) => e.outcome === 'success')).toHaveLength(999);
    expect(events.filter((e) => e.outcome === 'failure').map((e) => e.targetId)).toEqual([held]);
    const left = await readdir(join(ctl.config.dataDir, 'recordings', hq.nodeId));
    const remaining = new Set(left.map((name) => name.replace(/\.wav$/, '')));
    expect(ids.filter((id) => remaining.has(id))).toEqual([held]);
    expect(
      await ctl.db.recording.count({ where: { nodeId: hq.nodeId, title: { startsWith: 'seeded' } } }),
    ).toBe(1);
  }, 120_000);

  it('bulk metadata: per item, out-of-scope ids answered as not found and audited as denials', async () => {
    const [a, b] = await seeded(hq, 2);
    const [c] = await seeded(annex, 1);
    const annexSite = await ctl.db.site.findUniqueOrThrow({ where: { name: 'annex' } });
    const annexGuest = await userWithRole(ctl, 'annex-viewer', 'viewer', { type: 'site', id: annexSite.id });
    // A viewer cannot edit at all: refused for the whole request.
    expect(
      (await call('POST', '/recordings/bulk-metadata', { ids: [c!], set: { notes: 'x' } }, annexGuest))
        .statusCode,
    ).toBe(403);
    const scoped = await call(
      'POST',
      '/recordings/bulk-metadata',
      { ids: [a!, c!, 'missing-one'], set: { addTags: ['triage'] } },
      annexViewer,
    );
    expect(scoped.statusCode, scoped.body).toBe(200);
    expect(scoped.json().data.results.map((r: { status: number }) => r.status)).toEqual([404, 200, 404]);
    const denial = await ctl.db.auditEvent.findFirstOrThrow({
      where: { action: 'recording.metadata_update', targetId: a, outcome: 'denied' },
    });
    expect(denial.reason).toMatch(/outside the caller's scope/);

    const all = await call('POST', '/recordings/bulk-metadata', {
      ids: [a, b],
      set: { addTags: ['q4', 'triage'], legalHold: true },
    });
    expect(all.json().data).toMatchObject({ succeeded: 2, failed: 0 });
    const removed = await call('POST', '/recordings/bulk-metadata', {
      ids: [a],
      set: { removeTags: ['q4'] },
    });
    expect(removed.json().data.succeeded).toBe(1);
    expect((await recording(a!)).tags).toEqual(['triage']);
    expect((await recording(b!)).tags).toEqual(['q4', 'triage']);
    const clash = await call('POST', '/recordings/bulk-metadata', {
      ids: [a],
      set: { addTags: ['x'], removeTags: ['x'] },
    });
    expect(clash.statusCode).toBe(400);
  });

  it('facets count what the caller sees, filtered like the list', async () => {
    const owned = (await call('GET', '/recordings/facets')).json().data;
    expect(owned.total).toBeGreaterThan(0);
    expect(owned.site.map((s: { value: string }) => s.value).length).toBe(2);
    const annexOnly = (await call('GET', '/recordings/facets', undefined, annexViewer)).json().data;
    expect(annexOnly.node.map((n: { value: string }) => n.value)).toEqual([annex.nodeId]);
    expect(annexOnly.total).toBe(await ctl.db.recording.count({ where: { nodeId: annex.nodeId } }));
    const tagged = (await call('GET', '/recordings/facets?tag=triage')).json().data;
    expect(tagged.total).toBe(3);
    expect(tagged.tag).toEqual(expect.arrayContaining([{ value: 'triage', count: 3 }]));
    expect(tagged.legalHold).toBe(2);
    expect((await call('GET', '/recordings/facets?state=nope')).statusCode).toBe(400);
  });

  it('the list filters by tag and by a created-at range (jump to a moment), and its facets count the same', async () => {
    const ids = await seeded(annex, 3);
    const at = ['2020-01-01T10:00:00.000Z', '2020-01-02T10:00:00.000Z', '2020-01-03T10:00:00.000Z'];
    for (const [i, id] of ids.entries())
      await ctl.db.recording.update({ where: { id }, data: { createdAt: new Date(at[i]!) } });
    await call('PATCH', `/recordings/${ids[0]}/metadata`, { tags: ['range-test'] });
    await call('PATCH', `/recordings/${ids[2]}/metadata`, { tags: ['range-test'] });
    const listed = async (query: string) =>
      (await call('GET', `/recordings?${query}`)).json().data.map((r: { id: string }) => r.id);
    expect(await listed('tag=range-test')).toEqual([ids[2], ids[0]]);
    const range = `from=${encodeURIComponent(at[0]!)}&to=${encodeURIComponent(at[2]!)}`;
    expect(await listed(range)).toEqual([ids[1], ids[0]]);
    expect(await listed(`${range}&tag=range-test`)).toEqual([ids[0]]);
    const facets = (await call('GET', `/recordings/facets?${range}`)).json().data;
    expect(facets.total).toBe(2);
    expect(facets.newestAt).toBe(at[1]);
    expect((await call('GET', '/recordings?to=yesterday')).statusCode).toBe(400);
    // A range that ends before it starts is a mistake, answered as on the jobs list: not an empty page.
    const backwards = `from=${encodeURIComponent(at[2]!)}&to=${encodeURIComponent(at[0]!)}`;
    for (const url of [
      `/recordings?${backwards}`,
      `/recordings/facets?${backwards}`,
      `/recordings/export?${backwards}`,
    ]) {
      const refused = await call('GET', url);
      expect(refused.statusCode, url).toBe(400);
      expect(refused.json().error.message, url).toBe('from must not be after to');
    }
  });

  it('exports the library as CSV or NDJSON, filtered or selected, within scope; audited once', async () => {
    const csv = await call('GET', '/recordings/export?format=csv&tag=triage');
    expect(csv.statusCode, csv.body).toBe(200);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    const lines = csv.body.trim().split('\n');
    expect(lines[0]).toMatch(/^id,title,state,nodeId,siteId,/);
    expect(lines).toHaveLength(4);
    const ids = (
      await ctl.db.recording.findMany({ where: { nodeId: annex.nodeId }, select: { id: true } })
    ).map((r) => r.id);
    const selected = await call(
      'POST',
      '/recordings/export',
      { ids: [...ids, 'nope'], format: 'ndjson' },
      annexViewer,
    );
    expect(selected.statusCode, selected.body).toBe(200);
    const rows = selected.body
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(rows.map((r: { id: string }) => r.id).sort()).toEqual([...ids].sort());
    const outside = await call('POST', '/recordings/export', { ids: [...ids] }, annexViewer);
    expect(outside.statusCode).toBe(200);
    expect(await ctl.db.auditEvent.count({ where: { action: 'recording.export' } })).toBe(3);
  });

  it('searches titles and notes (every word, any case), by site and container; facets and export find the same', async () => {
    const [choir, vespers, other] = await seeded(hq, 3);
    await call('PATCH', `/recordings/${choir}/metadata`, { title: 'Choir rehearsal, Tuesday' });
    await call('PATCH', `/recordings/${vespers}/metadata`, {
      title: 'Vespers',
      notes: 'The CHOIR sang the Magnificat',
    });
    await call('PATCH', `/recordings/${other}/metadata`, { title: 'Organ recital', notes: 'no singing' });
    const found = async (q: string) => {
      const page = await call(
        'GET',
        `/recordings?q=${q.includes('&') ? q : encodeURIComponent(q)}&limit=100`,
      );
      expect(page.statusCode, page.body).toBe(200);
      return page
        .json()
        .data.map((r: { id: string }) => r.id)
        .sort();
    };
    expect(await found('choir')).toEqual([choir, vespers].sort());
    expect(await found('  Choir   magnificat ')).toEqual([vespers]);
    expect(await found('recital')).toEqual([other]);
    expect(await found('choir recital')).toEqual([]);
    // With the site and container filters (the facets' other counts).
    const { siteId } = await ctl.db.node.findUniqueOrThrow({ where: { id: hq.nodeId } });
    const { siteId: annexSite } = await ctl.db.node.findUniqueOrThrow({ where: { id: annex.nodeId } });
    expect(await found(`choir&siteId=${siteId}&container=wav`)).toEqual([choir, vespers].sort());
    expect(await found(`choir&siteId=${annexSite}`)).toEqual([]);
    expect(await found('choir&container=flac')).toEqual([]);
    const { name } = await ctl.db.site.findUniqueOrThrow({ where: { id: annexSite } });
    expect((await call('GET', `/recordings/facets?siteId=${annexSite}`)).json().data.site).toEqual([
      { value: annexSite, name, count: await ctl.db.recording.count({ where: { nodeId: annex.nodeId } }) },
    ]);
    expect((await call('GET', '/recordings?container=mp3')).statusCode).toBe(400);
    const facets = (await call('GET', '/recordings/facets?q=choir')).json().data;
    expect(facets.total).toBe(2);
    const exported = await call('GET', '/recordings/export?format=ndjson&q=CHOIR');
    expect(exported.statusCode, exported.body).toBe(200);
    const rows = exported.body
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).id)
      .sort();
    expect(rows).toEqual([choir, vespers].sort());
    // Only what the caller sees: the annex viewer finds none of these HQ recordings.
    const scoped = await call('GET', '/recordings?q=choir', undefined, annexViewer);
    expect(scoped.json().data).toEqual([]);
    for (const bad of ['', 'x'.repeat(201)])
      expect((await call('GET', `/recordings?q=${bad}`)).statusCode, `q of ${bad.length}`).toBe(400);
  });

  it('prepares a download: one file described, or a zip of several with a manifest and SHA-256 sums', async () => {
    const one = await completedRecording(ctl, owner, hq, wavBytes(4800, 8000, 1), {
      title: 'Morning / take 1',
    });
    const two = await completedRecording(ctl, owner, hq, wavBytes(9600, 8000, 1));
    const file = await call('POST', `/recordings/${one.id}/download`, {});
    expect(file.statusCode, file.body).toBe(200);
    expect(file.json().data).toMatchObject({
      url: `/api/v1/recordings/${one.id}/file`,
      filename: `Morning-take-1-${one.id}.wav`,
      contentType: 'audio/wav',
      sizeBytes: 4844,
      sha256: (await recording(one.id)).sha256,
    });

    const zip = await call('POST', `/recordings/${one.id}/download`, { ids: [two.id] });
    expect(zip.statusCode, zip.body.slice(0, 200)).toBe(200);
    expect(zip.headers['content-type']).toBe('application/zip');
    expect(zip.headers['content-disposition']).toMatch(/attachment; filename="recordings-.*\.zip"/);
    const entries = await unzipped(zip.rawPayload);
    const names = [...entries.keys()];
    expect(names).toHaveLength(4);
    expect(names).toEqual(
      expect.arrayContaining(['SHA256SUMS', 'manifest.json', `Morning-take-1-${one.id}.wav`]),
    );
    expect(names.some((name) => name.endsWith(`-${two.id}.wav`))).toBe(true);
    const manifest = JSON.parse(entries.get('manifest.json')!.toString());
    expect(manifest.recordings.map((r: { id: string }) => r.id)).toEqual([one.id, two.id]);
    for (const line of entries.get('SHA256SUMS')!.toString().trim().split('\n')) {
      const [digest, name] = line.split('  ');
      expect(createHash('sha256').update(entries.get(name!)!).digest('hex')).toBe(digest);
    }
    expect(
      await ctl.db.auditEvent.count({
        where: { action: 'recording.download', targetId: { in: [one.id, two.id] } },
      }),
    ).toBe(2);

    // All or nothing: an id outside the caller's scope, or a recording not complete, sends nothing.
    const [outside] = await seeded(annex, 1);
    const hidden = await call('POST', `/recordings/${one.id}/download`, { ids: [outside!] }, annexViewer);
    expect(hidden.statusCode).toBe(404);
    const pending = await createRecording(ctl, owner, hq.nodeId, { durationSeconds: 60 });
    const unfinished = await call('POST', `/recordings/${one.id}/download`, { ids: [pending.id] });
    expect(unfinished.statusCode).toBe(409);
    expect(unfinished.json().error.message).toMatch(/is pending; its file is not available yet/);
    const tooMany = await call('POST', `/recordings/${one.id}/download`, {
      ids: Array.from({ length: 100 }, (_, i) => `r${i}`),
    });
    expect(tooMany.statusCode).toBe(400);
    const fileWithIds = await call('POST', `/recordings/${one.id}/download`, {
      ids: [two.id],
      format: 'file',
    });
    expect(fileWithIds.statusCode).toBe(400);
  });

  it('actions say what the caller may do now, with reasons', async () => {
    const done = await completedRecording(ctl, owner, hq, wavBytes(480, 8000, 1));
    const mine = (await call('GET', `/recordings/${done.id}/actions`)).json().data;
    expect(mine).toMatchObject({
      playback: { allowed: true },
      download: { allowed: true },
      editMetadata: { allowed: true },
      stop: { allowed: false, reason: expect.stringMatching(/nothing to stop/) },
      delete: { allowed: true },
    });
    const pending = await createRecording(ctl, owner, hq.nodeId, { durationSeconds: 60 });
    const pendingActions = (await call('GET', `/recordings/${pending.id}/actions`)).json().data;
    expect(pendingActions).toMatchObject({
      playback: { allowed: false, reason: expect.stringMatching(/not complete/) },
      stop: { allowed: true },
      delete: { allowed: false, reason: expect.stringMatching(/is pending/) },
    });
    expect((await call('GET', `/recordings/${done.id}/actions`, undefined, annexViewer)).statusCode).toBe(
      404,
    );
  });
});
