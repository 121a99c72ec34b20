/**
 * A filtered export (`GET …/export`) holds every row its filters select, however many: it pages
 * through the list's own order while the file is sent, with no cap (it used to stop silently at
 * 10,000 rows). Rows sharing a creation time straddle page boundaries, so the keyset's tie-break
 * is exercised. Its one audit event is written before it streams: with its filter, since an export
 * longer than a page is counted only as it is read (a one-page export's event has its count).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EXPORT_PAGE } from '../../controller/src/http/export-routes.js';
import { bearer, enrolledNode, type TestController, testController } from '../support/controller.js';

/** Over the old cap of 10,000, with five recordings to each creation time. */
const RECORDINGS = 10_050;
const HEALTH_EVENTS = 2 * EXPORT_PAGE + 7;
const NODES = EXPORT_PAGE + 3;
const EPOCH = Date.parse('2026-01-01T00:00:00Z');

describe(`filtered exports page through the whole collection (${inject('testDb')})`, () => {
  let ctl: TestController;
  let owner: string;
  let nodeId: string;
  let siteId: string;

  const exported = async (url: string) => {
    const before = await ctl.db.auditEvent.aggregate({ _max: { seq: true } });
    const answer = await ctl.app.inject({ method: 'GET', url, headers: bearer(owner) });
    expect(answer.statusCode, answer.body.slice(0, 200)).toBe(200);
    const audits = await ctl.db.auditEvent.findMany({ where: { seq: { gt: before._max.seq ?? 0 } } });
    expect(audits).toHaveLength(1);
    return {
      body: answer.body,
      audited: JSON.parse(audits[0]!.after!) as { count: number | null; format: string; filter?: object },
    };
  };
  const idsOf = (ndjson: string) =>
    ndjson
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => (JSON.parse(line) as { id: string }).id);

  beforeAll(async () => {
    ctl = await testController();
    owner = await ctl.ownerToken();
    ({ nodeId, siteId } = await enrolledNode(ctl, { id: 'export-node', site: 'export-site' }));
    const at = (i: number, per: number) => new Date(EPOCH + Math.floor(i / per) * 1000);
    await ctl.db.recording.createMany({
      data: Array.from({ length: RECORDINGS }, (_, i) => ({
        id: `rec-${String(i).padStart(5, '0')}`,
        nodeId,
        title: `take ${i}`,
        state: i % 3 === 0 ? 'failed' : 'completed',
        sampleRate: 48_000,
        channels: 2,
        createdAt: at(i, 5),
      })),
    });
    await ctl.db.healthEvent.createMany({
      data: Array.from({ length: HEALTH_EVENTS }, (_, i) => ({
        id: `he-${String(i).padStart(5, '0')}`,
        nodeId,
        type: 'silence',
        severity: 'warning',
        message: `event ${i}`,
        firstSeenAt: at(i, 3),
        lastSeenAt: at(i, 3),
        source: 'agent',
        createdAt: at(i, 3),
      })),
    });
    await ctl.db.node.createMany({
      data: Array.from({ length: NODES }, (_, i) => ({
        id: `bulk-node-${String(i).padStart(4, '0')}`,
        name: `bulk node ${i}`,
        siteId,
      })),
    });
  }, 120_000);
  afterAll(async () => ctl?.stop());

  it(`exports all ${RECORDINGS.toLocaleString('en')} recordings once each, newest first, and audits that many`, async () => {
    const { body, audited } = await exported('/api/v1/recordings/export?format=ndjson');
    const ids = idsOf(body);
    expect(audited).toEqual({ count: null, format: 'ndjson', filter: {} });
    expect(ids).toHaveLength(RECORDINGS);
    expect(new Set(ids).size).toBe(RECORDINGS);
    // Newest first; within one creation time, the larger id first (the list's keyset).
    const expected = Array.from({ length: RECORDINGS }, (_, i) => `rec-${String(i).padStart(5, '0')}`).sort(
      (a, b) => {
        const ta = Math.floor(Number(a.slice(4)) / 5);
        const tb = Math.floor(Number(b.slice(4)) / 5);
        return tb - ta || (a < b ? 1 : -1);
      },
    );
    expect(ids).toEqual(expected);
  });

  it('a filtered CSV export holds every matching row', async () => {
    const failed = Math.ceil(RECORDINGS / 3);
    const { body, audited } = await exported('/api/v1/recordings/export?format=csv&state=failed');
    const lines = body.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^id,title,state,/);
    expect(lines.slice(1)).toHaveLength(failed);
    expect(lines.slice(1).every((line) => line.split(',')[2] === 'failed')).toBe(true);
    expect(audited).toEqual({ count: null, format: 'csv', filter: { state: 'failed' } });
  });

  it('health events and nodes page the same way (each list its own order)', async () => {
    const events = await exported('/api/v1/health-events/export');
    expect(new Set(idsOf(events.body)).size).toBe(HEALTH_EVENTS);
    expect(events.audited).toEqual({ count: null, format: 'ndjson', filter: {} });
    const nodes = await exported('/api/v1/nodes/export');
    const nodeIds = idsOf(nodes.body);
    expect(nodeIds).toHaveLength(NODES + 1); // and the enrolled one
    expect(nodeIds).toEqual([...nodeIds].sort());
    expect(nodes.audited.count).toBeNull();
    // An export of one page is counted in its audit event.
    const one = await exported(`/api/v1/nodes/export?site=no-such-site`);
    expect([one.body, one.audited]).toEqual(['', { count: 0, format: 'ndjson' }]);
  });
});
