/**
 * The node and recording lists are read and written on their own fast paths (the recordings
 * one row as one JSON value, db/raw.ts `jsonArray`; both pages written by JSON.stringify rather
 * than the response schema's serialiser). These pin that the answers are what they were:
 * byte for byte what Fastify's serialiser makes of them with the route's response schema, the
 * same content type, each listed recording equal to its own `GET /recordings/:id`, and the same
 * order page after page. The recordings cover what a list can hold: a job claimed (its lease
 * running and run out), loudness (integrated null or not), a stored file's facts, text that
 * JSON escapes, tags, custom fields (and stored ones that are not all text), a legal hold, a
 * recording whose job is gone; nodes online and not, labelled, and one whose enrollment is unused.
 */
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PageOf } from '../../controller/src/core/pagination.js';
import { NodeSchema } from '../../controller/src/modules/nodes/nodes.schemas.js';
import { RecordingSchema } from '../../controller/src/modules/recordings/recordings.schemas.js';
import { bearer, enrolledNode, type TestController, testController } from '../support/controller.js';

/** What Fastify's own serialiser writes for `value` under `schema` (a 200 response). */
async function schemaSerialised(schema: object, value: unknown): Promise<string> {
  const app = Fastify({ logger: false });
  app.get('/', { schema: { response: { 200: schema } } }, async () => value);
  const answer = await app.inject({ method: 'GET', url: '/' });
  await app.close();
  return answer.body;
}

describe(`list answers (${inject('testDb')})`, () => {
  let ctl: TestController;
  let owner: string;
  /** The controller's clock: the last test moves it past a lease. */
  let clockMs = Date.now();
  const get = (url: string) =>
    ctl.app.inject({ method: 'GET', url: `/api/v1${url}`, headers: bearer(owner) });

  beforeAll(async () => {
    ctl = await testController({}, () => new Date(clockMs));
    owner = await ctl.ownerToken();
    const a = await enrolledNode(ctl, { id: 'list-a', site: 'north' });
    const b = await enrolledNode(ctl, { id: 'list-b', site: 'south' });
    // The node list shows presence, capture facts, an operator's labels, and an unused enrollment.
    const heartbeat = await ctl.app.inject({
      method: 'POST',
      url: `/api/v1/nodes/${b.nodeId}/heartbeat`,
      headers: bearer(b.credential),
      payload: {
        agentVersion: '1.2.3',
        captureDevice: 'hw:1,0 "USB"',
        captureState: 'capturing',
        diskFreeBytes: 9_007_199_254_740_991,
        clockOffsetMs: -7,
        headroomHours: 0.1 + 0.2, // a float that prints long
        sentAtMs: Date.now(),
      },
    });
    expect(heartbeat.statusCode, heartbeat.body).toBe(200);
    const edited = await ctl.app.inject({
      method: 'PATCH',
      url: `/api/v1/nodes/${b.nodeId}`,
      headers: bearer(owner),
      payload: { tags: ['roof', 'été'], location: 'mast "2"', notes: 'line\nbreak' },
    });
    expect(edited.statusCode, edited.body).toBe(200);
    const pending = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/nodes/enroll',
      headers: bearer(owner),
      payload: { id: 'list-c', name: 'not yet enrolled', site: 'south' },
    });
    expect(pending.statusCode, pending.body).toBe(201);
    const ids: string[] = [];
    for (const [nodeId, title] of [
      ['list-a', 'plain'],
      ['list-b', 'quote " backslash \\ tab \t émoji 🎙 line\nbreak'],
      ['list-a', 'claimed'],
      ['list-b', 'stored'],
      ['list-a', 'lease run out'],
      ['list-b', 'no job'],
    ] as const) {
      const created = await ctl.app.inject({
        method: 'POST',
        url: '/api/v1/recordings',
        headers: bearer(owner),
        payload: { nodeId, durationSeconds: 30, title },
      });
      expect(created.statusCode, created.body).toBe(201);
      ids.push((created.json() as { data: { id: string } }).data.id);
    }
    const claim = await ctl.app.inject({
      method: 'POST',
      url: `/api/v1/nodes/${a.nodeId}/recording-jobs/claim-next`,
      headers: bearer(a.credential),
    });
    expect(claim.statusCode, claim.body).toBe(200);
    await ctl.db.recording.update({
      where: { id: ids[3]! },
      data: {
        state: 'completed',
        sizeBytes: 9_007_199_254_740_993n,
        receivedBytes: 1_234_567n,
        sha256: 'ab'.repeat(32),
        durationMs: 30_000,
        bitDepth: 24,
        container: 'flac',
        plannedStartAt: new Date('2026-03-29T00:59:59.5Z'),
        firstSampleAt: new Date('2026-03-29T01:00:00Z'),
        clockOffsetMs: -12,
        partial: true,
        partialReason: 'agent restarted',
        integratedLufs: -23.123456789012344,
        loudnessRangeLu: 0.1 + 0.2,
        truePeakDbtp: -1e-7,
        completedAt: new Date('2026-03-29T01:00:30.07Z'),
      },
    });
    await ctl.db.recording.update({
      where: { id: ids[0]! },
      data: { truePeakDbtp: -3.5, integratedLufs: null, loudnessRangeLu: null },
    });
    await ctl.db.recordingJob.update({
      where: { recordingId: ids[4]! },
      data: { state: 'recording', epoch: 3, leaseExpiresAt: new Date(Date.now() - 60_000) },
    });
    await ctl.db.recordingJob.delete({ where: { recordingId: ids[5]! } });
    const organised = await ctl.app.inject({
      method: 'PATCH',
      url: `/api/v1/recordings/${ids[1]!}/metadata`,
      headers: bearer(owner),
      payload: {
        notes: 'take 2 "quiet"\nroom',
        tags: ['zeta', 'alpha', 'été'],
        customFields: { room: 'B "12"', take: '2' },
        legalHold: true,
      },
    });
    expect(organised.statusCode, organised.body).toBe(200);
    // Stored by an older build or by hand: values that are not text read as none.
    await ctl.db.recording.update({
      where: { id: ids[2]! },
      data: { customFields: '{ "kept": "yes", "dropped": 3 }' },
    });
  });
  afterAll(async () => {
    await ctl.stop();
  });

  it('GET /recordings: what the schema serialiser writes, and each item as GET /recordings/:id', async () => {
    const page = await get('/recordings');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('application/json; charset=utf-8');
    const body = page.json() as { data: { id: string; job: unknown }[]; nextCursor: string | null };
    expect(body.data).toHaveLength(6);
    expect(page.body).toBe(await schemaSerialised(PageOf(RecordingSchema), body));
    for (const item of body.data) {
      const one = await get(`/recordings/${item.id}`);
      expect(one.json().data).toEqual(item);
      expect(one.body).toBe(JSON.stringify({ data: item }));
    }
    const kinds = body.data.map((r) => (r.job as { leaseExpired?: boolean } | null)?.leaseExpired ?? null);
    expect(kinds).toEqual(expect.arrayContaining([true, false, null]));
  });

  it('GET /recordings pages in the same order, with filters', async () => {
    const all = (await get('/recordings')).json().data as { id: string }[];
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await get(`/recordings?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.statusCode).toBe(200);
      const body = page.json() as { data: { id: string }[]; nextCursor: string | null };
      expect(page.body).toBe(await schemaSerialised(PageOf(RecordingSchema), body));
      seen.push(...body.data.map((r) => r.id));
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.map((r) => r.id));
    const filtered = await get('/recordings?nodeId=list-b&state=completed');
    expect((filtered.json().data as { title: string }[]).map((r) => r.title)).toEqual(['stored']);
  });

  it('GET /nodes: what the schema serialiser writes', async () => {
    for (const url of ['/nodes', '/nodes?limit=1', '/nodes?site=south']) {
      const page = await get(url);
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(page.body).toBe(await schemaSerialised(PageOf(NodeSchema), page.json()));
    }
    const nodes = (await get('/nodes')).json().data as { id: string }[];
    for (const node of nodes) expect((await get(`/nodes/${node.id}`)).json().data).toMatchObject(node);
    const states = nodes.map((n) => [
      n.id,
      (n as unknown as { presence: { online: boolean } }).presence.online,
    ]);
    expect(states).toEqual([
      ['list-a', false],
      ['list-b', true],
      ['list-c', false],
    ]);
  });

  it('GET /recordings: a recording is listed as it is now, changed since it was last listed or not', async () => {
    // The list keeps each row's JSON while the row is unchanged (listed-json.ts): every kind of
    // change must show on the next list, and so must a lease running out with no change at all.
    const node = await enrolledNode(ctl, { id: 'list-d', site: 'east' });
    const ids: string[] = [];
    for (const title of ['leased', 'retitled', 'retagged', 'measured', 'job moved', 'job gone']) {
      const created = await ctl.app.inject({
        method: 'POST',
        url: '/api/v1/recordings',
        headers: bearer(owner),
        payload: { nodeId: node.nodeId, durationSeconds: 30, title },
      });
      expect(created.statusCode, created.body).toBe(201);
      ids.push((created.json() as { data: { id: string } }).data.id);
    }
    const claim = await ctl.app.inject({
      method: 'POST',
      url: `/api/v1/nodes/${node.nodeId}/recording-jobs/claim-next`,
      headers: bearer(node.credential),
    });
    expect(claim.statusCode, claim.body).toBe(200);
    type Listed = {
      id: string;
      title: string;
      tags: string[];
      loudness: unknown;
      job: { state: string; leaseExpired: boolean } | null;
    };
    const listed = async () => {
      const page = await get('/recordings?nodeId=list-d');
      expect(page.statusCode).toBe(200);
      const body = page.json() as { data: Listed[] };
      expect(page.body).toBe(await schemaSerialised(PageOf(RecordingSchema), body));
      for (const item of body.data) expect((await get(`/recordings/${item.id}`)).json().data).toEqual(item);
      return new Map(body.data.map((item) => [item.title, item]));
    };
    const before = await listed();
    expect(before.get('leased')?.job).toMatchObject({ state: 'claimed', leaseExpired: false });
    await listed(); // listed again unchanged: from what the list kept

    const patch = (id: string, payload: object) =>
      ctl.app.inject({
        method: 'PATCH',
        url: `/api/v1/recordings/${id}/metadata`,
        headers: bearer(owner),
        payload,
      });
    expect((await patch(ids[1]!, { title: 'retitled, twice' })).statusCode).toBe(200);
    expect((await patch(ids[2]!, { tags: ['new'] })).statusCode).toBe(200);
    await ctl.db.recording.update({
      where: { id: ids[3]! },
      data: { truePeakDbtp: -2, integratedLufs: -20, loudnessRangeLu: 4 },
    });
    await ctl.db.recordingJob.update({ where: { recordingId: ids[4]! }, data: { state: 'cancelled' } });
    await ctl.db.recordingJob.delete({ where: { recordingId: ids[5]! } });
    clockMs += 10 * 60_000; // past the claimed job's lease: its row is unchanged

    const after = await listed();
    expect(after.get('leased')?.job).toMatchObject({ state: 'claimed', leaseExpired: true });
    expect(after.has('retitled')).toBe(false);
    expect(after.get('retitled, twice')?.id).toBe(ids[1]);
    expect(after.get('retagged')?.tags).toEqual(['new']);
    expect(after.get('measured')?.loudness).toEqual({
      integratedLufs: -20,
      loudnessRangeLu: 4,
      truePeakDbtp: -2,
    });
    expect(after.get('job moved')?.job?.state).toBe('cancelled');
    expect(after.get('job gone')?.job).toBeNull();
  });
});
