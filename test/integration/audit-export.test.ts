/**
 * Audit reads beyond the list: filters, facets, and streamed CSV / NDJSON exports of
 * filtered and of selected events, including a large export paged from the database.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AuditInput } from '../../controller/src/core/audit.types.js';
import type { AuditAction } from '../../controller/src/core/audit-actions.js';
import { AuditRepository } from '../../controller/src/modules/audit/audit.repository.js';
import { hashAuditEvent } from '../../controller/src/modules/audit/audit-hash.js';
import { bearer, type TestController, testController, userWithRole } from '../support/controller.js';

/** RFC 4180 CSV: quoted fields may hold commas, quotes ("") and newlines. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else if (c !== '\r') field += c;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

function csvObjects(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  return rows.map((cells) => Object.fromEntries(header!.map((name, i) => [name, cells[i] ?? ''])));
}

function ndjson(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const START = Date.parse('2025-03-01T10:00:00.000Z');

describe('audit filters, facets and exports', () => {
  let ctl: TestController;
  let auditor: string;
  let viewer: string;
  let nowMs = START;

  /**
   * Fixture events under their own `fixture.*` actions, outside the catalog on purpose (so no
   * real event matches a filter): written past `AuditAction` with a cast.
   */
  const seed: (Omit<AuditInput, 'action'> & { action: `fixture.${string}` })[] = [
    {
      actor: { type: 'user', id: 'u-alice', name: 'alice' },
      permission: 'node:manage',
      action: 'fixture.node.update',
      target: { type: 'node', id: 'n-1' },
      outcome: 'success',
      before: { name: 'old' },
      after: { name: 'new, "quoted"\nline' },
    },
    {
      actor: { type: 'user', id: 'u-alice', name: 'alice' },
      permission: 'node:manage',
      action: 'fixture.node.update',
      target: { type: 'node', id: 'n-2' },
      outcome: 'denied',
      reason: 'permission not held',
    },
    {
      actor: { type: 'user', id: 'u-bob', name: 'bob' },
      permission: 'recording:delete',
      action: 'fixture.recording.delete',
      target: { type: 'recording', id: 'r-1' },
      outcome: 'success',
    },
    {
      actor: { type: 'node', id: 'n-1', name: 'n-1' },
      permission: 'recording:control',
      action: 'fixture.recording.upload',
      target: { type: 'recording', id: 'r-1' },
      outcome: 'failure',
      reason: 'checksum mismatch',
    },
    {
      actor: { type: 'anonymous', name: '=HYPERLINK("http://evil")' },
      action: 'fixture.login',
      outcome: 'failure',
      reason: 'bad credentials',
    },
    { actor: { type: 'system', name: 'controller' }, action: 'fixture.retention', outcome: 'success' },
  ];
  const seededIds: string[] = [];

  const get = (url: string, token = auditor) =>
    ctl.app.inject({ method: 'GET', url, headers: bearer(token) });

  beforeAll(async () => {
    ctl = await testController({}, () => new Date(nowMs));
    await ctl.ownerToken();
    auditor = await userWithRole(ctl, 'exp-auditor', 'auditor');
    viewer = await userWithRole(ctl, 'exp-viewer', 'viewer');
    // The fixtures happen a minute apart after setup (within the session idle window).
    for (const input of seed) {
      nowMs += 60_000;
      seededIds.push(await ctl.services.audit.recordAlone({ ...input, action: input.action as AuditAction }));
    }
    nowMs += 60_000;
  });
  afterAll(async () => ctl.stop());
  afterEach(() => vi.restoreAllMocks());

  it('filters the list by actor, action (exact or prefix), target, outcome, permission and time', async () => {
    const ids = async (query: string) => {
      const response = await get(`/api/v1/audit-events?${query}`);
      expect(response.statusCode, response.body).toBe(200);
      return (response.json().data as { id: string }[]).map((e) => e.id);
    };
    const [aliceOk, aliceDenied, bobDelete, nodeUpload, anonLogin, retention] = seededIds;
    expect(await ids('actorId=u-alice')).toEqual([aliceDenied, aliceOk]);
    expect(await ids('actorType=node')).toEqual([nodeUpload]);
    expect(await ids('actorName=bob')).toEqual([bobDelete]);
    expect(await ids('action=fixture.node.update')).toEqual([aliceDenied, aliceOk]);
    expect(await ids('action=fixture.recording.*')).toEqual([nodeUpload, bobDelete]);
    // A prefix is literal: LIKE wildcards in it match only themselves.
    expect(await ids('action=fixture_node.*')).toEqual([]);
    expect(await ids('action=fixture%25')).toEqual([]);
    expect(await ids('targetType=recording&targetId=r-1')).toEqual([nodeUpload, bobDelete]);
    expect(await ids('outcome=failure&action=fixture.*')).toEqual([anonLogin, nodeUpload]);
    expect(await ids('permission=node:manage&outcome=denied')).toEqual([aliceDenied]);
    // from inclusive, to exclusive: the 2nd to 4th fixtures (minutes 2, 3 and 4).
    const from = new Date(START + 2 * 60_000).toISOString();
    const to = new Date(START + 5 * 60_000).toISOString();
    expect(await ids(`from=${from}&to=${to}`)).toEqual([nodeUpload, bobDelete, aliceDenied]);
    expect(await ids(`action=fixture.*&from=${new Date(START + 6 * 60_000).toISOString()}`)).toEqual([
      retention,
    ]);
    expect((await get('/api/v1/audit-events?outcome=maybe')).statusCode).toBe(400);
    expect((await get('/api/v1/audit-events?from=yesterday')).statusCode).toBe(400);
  });

  it('counts facets under the same filters', async () => {
    const response = await get('/api/v1/audit-events/facets?action=fixture.*');
    expect(response.statusCode, response.body).toBe(200);
    const facets = response.json().data;
    expect(facets.total).toBe(6);
    expect(facets.action).toEqual([
      { value: 'fixture.node.update', count: 2 },
      { value: 'fixture.login', count: 1 },
      { value: 'fixture.recording.delete', count: 1 },
      { value: 'fixture.recording.upload', count: 1 },
      { value: 'fixture.retention', count: 1 },
    ]);
    expect(facets.outcome).toEqual([
      { value: 'success', count: 3 },
      { value: 'failure', count: 2 },
      { value: 'denied', count: 1 },
    ]);
    expect(facets.actorType).toEqual([
      { value: 'user', count: 3 },
      { value: 'anonymous', count: 1 },
      { value: 'node', count: 1 },
      { value: 'system', count: 1 },
    ]);
    expect(facets.permission).toEqual(
      expect.arrayContaining([
        { value: 'node:manage', count: 2 },
        { value: null, count: 2 },
        { value: 'recording:control', count: 1 },
        { value: 'recording:delete', count: 1 },
      ]),
    );
    expect(facets.targetType).toEqual(
      expect.arrayContaining([
        { value: 'node', count: 2 },
        { value: 'recording', count: 2 },
        { value: null, count: 2 },
      ]),
    );

    const narrowed = (await get('/api/v1/audit-events/facets?action=fixture.*&outcome=success')).json().data;
    expect(narrowed.total).toBe(3);
    expect(narrowed.outcome).toEqual([{ value: 'success', count: 3 }]);
    expect(narrowed.actorType).toEqual([
      { value: 'user', count: 2 },
      { value: 'system', count: 1 },
    ]);
  });

  it('exports filtered events as NDJSON by default, as an attachment, audited once', async () => {
    const before = await ctl.db.auditEvent.count({ where: { action: 'audit.export' } });
    const response = await get('/api/v1/audit-events/export?action=fixture.node.*');
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['content-type']).toContain('application/x-ndjson');
    expect(response.headers['content-disposition']).toMatch(
      /^attachment; filename="audit-events-.*\.ndjson"$/,
    );
    const rows = ndjson(response.body);
    expect(rows.map((r) => r.id)).toEqual([seededIds[1], seededIds[0]]);
    expect(rows[1]).toMatchObject({
      action: 'fixture.node.update',
      actor: { type: 'user', id: 'u-alice', name: 'alice' },
      target: { type: 'node', id: 'n-1' },
      outcome: 'success',
      before: { name: 'old' },
      after: { name: 'new, "quoted"\nline' },
    });
    expect(rows[1]!.hash).toEqual(expect.stringMatching(/^[0-9a-f]{64}$/));

    const events = await ctl.db.auditEvent.findMany({
      where: { action: 'audit.export' },
      orderBy: { seq: 'asc' },
    });
    expect(events).toHaveLength(before + 1);
    const event = events[events.length - 1]!;
    expect(event).toMatchObject({
      outcome: 'success',
      permission: 'audit:read',
      actorName: 'exp-auditor',
      requestId: response.headers['x-request-id'],
    });
    expect(JSON.parse(event.after!)).toMatchObject({
      format: 'ndjson',
      filter: { actionPrefix: 'fixture.node.' },
    });
  });

  it('exports filtered events as CSV with a header row, escaped fields and formula cells defused', async () => {
    const response = await get('/api/v1/audit-events/export?format=csv&action=fixture.*&outcome=failure');
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['content-type']).toContain('text/csv');
    expect(response.headers['content-disposition']).toMatch(/^attachment; filename=".*\.csv"$/);
    const [header] = parseCsv(response.body);
    expect(header).toEqual([
      'seq',
      'id',
      'at',
      'actorType',
      'actorId',
      'actorName',
      'permission',
      'action',
      'targetType',
      'targetId',
      'outcome',
      'reason',
      'requestId',
      'sourceIp',
      'before',
      'after',
      'prevHash',
      'hash',
    ]);
    const rows = csvObjects(response.body);
    expect(rows.map((r) => r.id)).toEqual([seededIds[4], seededIds[3]]);
    expect(rows[0]).toMatchObject({
      actorType: 'anonymous',
      actorName: `'=HYPERLINK("http://evil")`,
      outcome: 'failure',
      reason: 'bad credentials',
    });
    expect(rows[1]).toMatchObject({
      actorType: 'node',
      actorId: 'n-1',
      targetType: 'recording',
      targetId: 'r-1',
    });

    const withJson = csvObjects((await get('/api/v1/audit-events/export?format=csv&targetId=n-1')).body);
    expect(withJson).toHaveLength(1);
    expect(JSON.parse(withJson[0]!.after!)).toEqual({ name: 'new, "quoted"\nline' });
  });

  it('exports selected ids in either format, skipping unknown ids', async () => {
    const ids = [seededIds[5]!, seededIds[2]!, 'no-such-id'];
    for (const format of ['ndjson', 'csv'] as const) {
      const response = await ctl.app.inject({
        method: 'POST',
        url: '/api/v1/audit-events/export',
        headers: bearer(auditor),
        payload: { ids, format },
      });
      expect(response.statusCode, response.body).toBe(200);
      expect(response.headers['content-disposition']).toMatch(new RegExp(`^attachment; .*\\.${format}"$`));
      const rows = format === 'csv' ? csvObjects(response.body) : ndjson(response.body);
      expect(rows.map((r) => r.id)).toEqual([seededIds[5], seededIds[2]]);
      const event = await ctl.db.auditEvent.findFirstOrThrow({
        where: { action: 'audit.export', requestId: response.headers['x-request-id'] as string },
      });
      expect(JSON.parse(event.after!)).toMatchObject({ format, ids: 3 });
    }
    const empty = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/audit-events/export',
      headers: bearer(auditor),
      payload: { ids: [] },
    });
    expect(empty.statusCode).toBe(400);
    const badFormat = await get('/api/v1/audit-events/export?format=xml');
    expect(badFormat.statusCode).toBe(400);
  });

  it('needs audit:read for facets and exports, and audits the denial', async () => {
    for (const response of [
      await get('/api/v1/audit-events/facets', viewer),
      await get('/api/v1/audit-events/export', viewer),
      await ctl.app.inject({
        method: 'POST',
        url: '/api/v1/audit-events/export',
        headers: bearer(viewer),
        payload: { ids: [seededIds[0]] },
      }),
    ]) {
      expect(response.statusCode).toBe(403);
      const denial = await ctl.db.auditEvent.findFirstOrThrow({
        where: { requestId: response.headers['x-request-id'] as string },
      });
      expect(denial).toMatchObject({ outcome: 'denied', permission: 'audit:read' });
    }
  });

  it('streams a large export page by page: every row, in order, in both formats', async () => {
    const count = 3000;
    nowMs += 60_000;
    // Appended as a valid chain in one statement (the hash is the service's own): recording
    // 3,000 events one by one costs tens of seconds of transaction round trips, not export time.
    const last = await ctl.db.auditEvent.findFirstOrThrow({ orderBy: { seq: 'desc' } });
    let prevHash = last.hash;
    const rows = Array.from({ length: count }, (_, i) => {
      const row = {
        id: randomUUID(),
        at: new Date(nowMs),
        actorType: 'system',
        actorId: null,
        actorName: 'bulk',
        permission: null,
        action: 'bulk.event',
        targetType: 'item',
        targetId: String(i),
        outcome: 'success',
        reason: null,
        before: null,
        after: JSON.stringify({ i }),
        requestId: null,
        sourceIp: null,
        siteId: null,
        nodeId: null,
        guildId: null,
        prevHash,
      };
      prevHash = hashAuditEvent(row);
      return { ...row, hash: prevHash };
    });
    await ctl.db.auditEvent.createMany({ data: rows });
    expect((await ctl.services.audit.verifyChain()).ok).toBe(true);
    const pages = vi.spyOn(AuditRepository.prototype, 'exportPage');

    const lines = ndjson((await get('/api/v1/audit-events/export?action=bulk.event')).body);
    expect(lines).toHaveLength(count);
    expect(lines[0]).toMatchObject({ target: { id: String(count - 1) } });
    expect(lines[count - 1]).toMatchObject({ target: { id: '0' } });
    const seqs = lines.map((l) => l.seq as number);
    expect(seqs.every((seq, i) => i === 0 || seq < seqs[i - 1]!)).toBe(true);
    // 500 rows per query: 6 full pages and one empty one that ends the stream.
    expect(pages.mock.calls.length).toBe(7);
    expect(pages.mock.calls.every((args) => args[2] === 500)).toBe(true);

    const csv = await get('/api/v1/audit-events/export?action=bulk.event&format=csv');
    const records = csvObjects(csv.body);
    expect(records).toHaveLength(count);
    expect(new Set(records.map((r) => r.targetId)).size).toBe(count);
    expect(csv.body.split('\n').filter((l) => l !== '')).toHaveLength(count + 1);

    expect((await ctl.services.audit.verifyChain()).ok).toBe(true);
  });
});
