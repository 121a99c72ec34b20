/**
 * Health events through the real API and the real broker, with mqtt.js as the agent: reports on
 * the `events` topic and the HTTP fallback are stored once per event id and updated by later
 * reports; bad reports are never stored and never crash the broker; scoped lists, filters,
 * cursors, facets and exports; every lifecycle step, the refused ones (409) and their audit
 * rows; the bulk step (all or nothing); scope isolation; the Prometheus gauge.
 */
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type HealthEventMessage, MAX_MQTT_PAYLOAD_BYTES, nodeTopic } from '../../shared/src/mqtt.js';
import {
  bearer,
  enrolledNode,
  type TestController,
  testController,
  userWithRole,
} from '../support/controller.js';

type Node = { nodeId: string; credential: string; siteId: string };

const T0 = Date.parse('2030-03-01T10:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

function report(id: string, extra: Partial<HealthEventMessage> = {}): HealthEventMessage {
  return {
    id,
    type: 'silence',
    severity: 'warning',
    state: 'open',
    channel: 1,
    message: 'channel 1 below -60 dBFS for 60 s',
    values: { rmsDbfs: -72.5, seconds: 60 },
    firstSeenAt: at(0),
    lastSeenAt: at(60),
    count: 1,
    ...extra,
  };
}

describe('health events', () => {
  let ctl: TestController;
  let owner: string;
  let mqttUrl: string;
  let a: Node;
  let b: Node;
  /** Moves the controller's clock (suppressions end by themselves). */
  let offsetMs = 0;
  const clients: MqttClient[] = [];

  const api = (method: 'GET' | 'POST', url: string, payload?: object, token = owner) =>
    ctl.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });
  const stored = (id: string) => ctl.db.healthEvent.findUnique({ where: { id } });
  const audits = (id: string) =>
    ctl.db.auditEvent.findMany({
      where: { targetType: 'health_event', targetId: id },
      orderBy: { seq: 'asc' },
    });

  async function asNode(node: Node): Promise<MqttClient> {
    const client = await connectAsync(mqttUrl, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
      username: node.nodeId,
      password: node.credential,
    });
    clients.push(client);
    return client;
  }
  const closed = (client: MqttClient) =>
    new Promise<void>((resolve) => (client.connected ? client.once('close', () => resolve()) : resolve()));

  beforeAll(async () => {
    ctl = await testController(
      { mqttHost: '127.0.0.1', httpHost: '127.0.0.1' },
      () => new Date(Date.now() + offsetMs),
    );
    await ctl.start();
    mqttUrl = `mqtt://127.0.0.1:${ctl.broker.port()}`;
    owner = await ctl.ownerToken();
    a = await enrolledNode(ctl, { id: 'health-a', site: 'north' });
    b = await enrolledNode(ctl, { id: 'health-b', site: 'south' });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
    await ctl.stop();
  });

  it('stores a report from the events topic once, and updates it with later reports', async () => {
    const client = await asNode(a);
    const topic = nodeTopic(a.nodeId, 'events');
    await client.publishAsync(topic, JSON.stringify(report('mqtt-1')), { qos: 1 });
    await vi.waitFor(async () => expect(await stored('mqtt-1')).not.toBeNull(), { timeout: 10_000 });
    // Re-sent (a reconnect replaying the queue): still one event, one audit row.
    await client.publishAsync(topic, JSON.stringify(report('mqtt-1')), { qos: 1 });
    await client.publishAsync(topic, JSON.stringify(report('mqtt-1', { lastSeenAt: at(120), count: 2 })), {
      qos: 1,
    });
    await vi.waitFor(async () => expect((await stored('mqtt-1'))?.count).toBe(2), { timeout: 10_000 });
    expect(await ctl.db.healthEvent.count({ where: { id: 'mqtt-1' } })).toBe(1);
    // An older report arriving late changes nothing.
    await client.publishAsync(topic, JSON.stringify(report('mqtt-1', { lastSeenAt: at(90), count: 1 })), {
      qos: 1,
    });
    await client.publishAsync(
      topic,
      JSON.stringify(report('mqtt-1', { state: 'resolved', lastSeenAt: at(180), count: 3, values: {} })),
      { qos: 1 },
    );
    await vi.waitFor(async () => expect((await stored('mqtt-1'))?.status).toBe('resolved'), {
      timeout: 10_000,
    });
    const row = (await stored('mqtt-1'))!;
    expect(row).toMatchObject({ count: 3, nodeId: a.nodeId, source: 'agent', channel: 1 });
    expect(row.lastSeenAt.toISOString()).toBe(at(180));
    expect(row.resolvedAt?.toISOString()).toBe(at(180));
    const events = await audits('mqtt-1');
    expect(events.map((e) => [e.action, e.reason, e.actorType, e.actorId])).toEqual([
      ['health_event.report', 'reported', 'node', a.nodeId],
      ['health_event.report', 'cleared', 'node', a.nodeId],
    ]);
    expect(events[0]).toMatchObject({ nodeId: a.nodeId, siteId: a.siteId });
  });

  it('drops bad reports on the topic without storing them, and the broker carries on', async () => {
    const theirs = await api(
      'POST',
      `/api/v1/nodes/${b.nodeId}/health-events`,
      report('b-owned'),
      b.credential,
    );
    expect(theirs.statusCode).toBe(200);
    const client = await asNode(a);
    const topic = nodeTopic(a.nodeId, 'events');
    for (const payload of [
      'not json',
      JSON.stringify({ ...report('bad-1'), extra: true }),
      JSON.stringify({ ...report('bad-2'), severity: 'apocalyptic' }),
      JSON.stringify(report('bad/3')),
      JSON.stringify(report('bad-4', { nodeId: b.nodeId })),
      JSON.stringify(report('bad-5', { firstSeenAt: at(100), lastSeenAt: at(50) })),
      // Another node's event id: b's event stays as it was.
      JSON.stringify(report('b-owned', { lastSeenAt: at(999), count: 50 })),
    ])
      await client.publishAsync(topic, payload, { qos: 1 });
    expect(client.connected).toBe(true);
    // Oversized: the connection is closed before the body is read.
    client.publish(topic, Buffer.alloc(MAX_MQTT_PAYLOAD_BYTES + 2048, 0x20), { qos: 0 });
    await closed(client);
    // Publishing on another node's topic closes the connection too.
    const forger = await asNode(a);
    forger.publish(nodeTopic(b.nodeId, 'events'), JSON.stringify(report('forged-1')), { qos: 1 });
    await closed(forger);
    // The broker is still there: a good report after all that is stored.
    const again = await asNode(a);
    await again.publishAsync(topic, JSON.stringify(report('after-bad')), { qos: 1 });
    await vi.waitFor(async () => expect(await stored('after-bad')).not.toBeNull(), { timeout: 10_000 });
    for (const id of ['bad-1', 'bad-2', 'bad/3', 'bad-4', 'bad-5', 'forged-1'])
      expect(await stored(id), id).toBeNull();
    expect(await stored('b-owned')).toMatchObject({ nodeId: b.nodeId, count: 1 });
  });

  it('takes the HTTP fallback with the same dedupe, for the agent’s own node only', async () => {
    const url = `/api/v1/nodes/${a.nodeId}/health-events`;
    const first = await api('POST', url, report('http-1', { type: 'disk_low', channel: null }), a.credential);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json().data).toEqual({ id: 'http-1', outcome: 'created', status: 'open' });
    const again = await api('POST', url, report('http-1', { type: 'disk_low', channel: null }), a.credential);
    expect(again.json().data).toEqual({ id: 'http-1', outcome: 'unchanged', status: 'open' });
    const later = await api(
      'POST',
      url,
      report('http-1', { type: 'disk_low', channel: null, lastSeenAt: at(300), count: 5 }),
      a.credential,
    );
    expect(later.json().data.outcome).toBe('updated');
    expect(await audits('http-1')).toHaveLength(1);
    // b's credential on a's route: hidden. A node id in the body that is not the route's: refused.
    expect((await api('POST', url, report('http-2'), b.credential)).statusCode).toBe(404);
    expect((await api('POST', url, report('http-3', { nodeId: b.nodeId }), a.credential)).statusCode).toBe(
      400,
    );
    // Another node's event id, or the same id with another type: 409.
    expect(
      (await api('POST', url, report('b-owned', { lastSeenAt: at(999) }), a.credential)).statusCode,
    ).toBe(409);
    expect((await api('POST', url, report('http-1', { lastSeenAt: at(999) }), a.credential)).statusCode).toBe(
      409,
    );
    // A user cannot use the agent route.
    expect((await api('POST', url, report('http-4'))).statusCode).toBe(403);
    for (const id of ['http-2', 'http-3', 'http-4']) expect(await stored(id)).toBeNull();
  });

  it('lists with filters and a cursor, counts facets and exports, scoped to the caller', async () => {
    for (let i = 0; i < 5; i++)
      await api(
        'POST',
        `/api/v1/nodes/${b.nodeId}/health-events`,
        report(`list-${i}`, {
          type: i % 2 ? 'clipping' : 'silence',
          severity: i === 4 ? 'critical' : 'info',
        }),
        b.credential,
      );
    const all = await api('GET', `/api/v1/health-events?nodeId=${b.nodeId}`);
    expect(all.json().data.map((e: { id: string }) => e.id)).toEqual([
      'list-4',
      'list-3',
      'list-2',
      'list-1',
      'list-0',
      'b-owned',
    ]);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await api(
        'GET',
        `/api/v1/health-events?site=south&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...page.json().data.map((e: { id: string }) => e.id));
      cursor = page.json().nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.json().data.map((e: { id: string }) => e.id));
    const clipping = await api('GET', '/api/v1/health-events?type=clipping&site=south');
    expect(clipping.json().data.map((e: { id: string }) => e.id)).toEqual(['list-3', 'list-1']);
    const critical = await api('GET', '/api/v1/health-events?severity=critical');
    expect(critical.json().data.map((e: { id: string }) => e.id)).toEqual(['list-4']);
    const resolved = await api('GET', '/api/v1/health-events?status=resolved');
    expect(resolved.json().data.map((e: { id: string }) => e.id)).toEqual(['mqtt-1']);
    const window = await api('GET', `/api/v1/health-events?from=${at(200)}&nodeId=${a.nodeId}`);
    expect(window.json().data.map((e: { id: string }) => e.id)).toEqual(['http-1']);
    const none = await api('GET', `/api/v1/health-events?to=${at(-10)}`);
    expect(none.json().data).toEqual([]);

    const facets = await api('GET', '/api/v1/health-events/facets?site=south');
    expect(facets.json().data).toMatchObject({
      total: 6,
      status: [{ value: 'open', count: 6 }],
      type: expect.arrayContaining([
        { value: 'silence', count: 4 },
        { value: 'clipping', count: 2 },
      ]),
      nodeId: [{ value: b.nodeId, count: 6 }],
    });

    const csv = await api('GET', '/api/v1/health-events/export?format=csv&type=clipping');
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    const lines = csv.body.trim().split('\n');
    expect(lines[0]).toMatch(/^id,nodeId,siteId,type,severity,status/);
    expect(lines).toHaveLength(3);
    const selected = await api('POST', '/api/v1/health-events/export', { ids: ['list-0', 'http-1'] });
    const rows = selected.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => r.id).sort()).toEqual(['http-1', 'list-0']);
    expect(await ctl.db.auditEvent.count({ where: { action: 'health_event.export' } })).toBe(2);

    // An operator of the north site sees a's events only.
    const north = await userWithRole(ctl, 'north-operator', 'operator', { type: 'site', id: a.siteId });
    const theirs = await api('GET', '/api/v1/health-events', undefined, north);
    expect(new Set(theirs.json().data.map((e: { nodeId: string }) => e.nodeId))).toEqual(new Set([a.nodeId]));
    const theirFacets = await api('GET', '/api/v1/health-events/facets', undefined, north);
    expect(theirFacets.json().data.total).toBe(theirs.json().data.length);
    const exported = await api('POST', '/api/v1/health-events/export', { ids: ['list-0', 'http-1'] }, north);
    expect(
      exported.body
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual(['http-1']);
  });

  it('walks the lifecycle, refuses what the status does not allow, audits each step', async () => {
    const created = await api('POST', '/api/v1/health-events', {
      nodeId: a.nodeId,
      severity: 'critical',
      message: 'the mic cable looks chewed',
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().data.id as string;
    expect(created.json().data).toMatchObject({ type: 'manual', source: 'manual', status: 'open' });
    const step = (action: string, payload: object = {}) =>
      api('POST', `/api/v1/health-events/${id}/${action}`, payload);

    const acked = await step('acknowledge', { reason: 'on it' });
    expect(acked.json().data).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'owner' });
    const twice = await step('acknowledge');
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error.message).toMatch(/already acknowledged by owner/);
    expect((await step('suppress', { until: new Date(Date.now() - 1000).toISOString() })).statusCode).toBe(
      400,
    );
    const until = new Date(Date.now() + 3600_000).toISOString();
    expect((await step('suppress', { until })).json().data).toMatchObject({ status: 'suppressed' });
    const actions = await api('GET', `/api/v1/health-events/${id}/actions`);
    expect(actions.json().data).toMatchObject({
      acknowledge: { allowed: false },
      resolve: { allowed: true, reason: null },
      reopen: { allowed: true },
    });
    expect((await step('resolve')).json().data).toMatchObject({ status: 'resolved' });
    const ackResolved = await step('acknowledge');
    expect(ackResolved.statusCode).toBe(409);
    expect(ackResolved.json().error.message).toMatch(/resolved: reopen it/);
    expect((await step('resolve')).statusCode).toBe(409);
    expect((await step('suppress', { until })).statusCode).toBe(409);
    // No body at all is fine where nothing is required.
    const bare = await ctl.app.inject({
      method: 'POST',
      url: `/api/v1/health-events/${id}/reopen`,
      headers: bearer(owner),
    });
    expect(bare.statusCode, bare.body).toBe(200);
    expect(bare.json().data).toMatchObject({ status: 'open', resolvedAt: null });
    expect((await step('reopen')).statusCode).toBe(409);

    // A suppression ends by itself: open again once its time has passed.
    await step('suppress', { until: new Date(Date.now() + 60_000).toISOString() });
    offsetMs = 120_000;
    try {
      expect((await api('GET', `/api/v1/health-events/${id}`)).json().data).toMatchObject({
        status: 'open',
        suppressedUntil: null,
      });
      const open = await api('GET', `/api/v1/health-events?status=open&nodeId=${a.nodeId}`);
      expect(open.json().data.map((e: { id: string }) => e.id)).toContain(id);
      expect((await step('acknowledge')).statusCode).toBe(200);
    } finally {
      offsetMs = 0;
    }

    const trail = await audits(id);
    expect(trail.map((e) => e.action)).toEqual([
      'health_event.create',
      'health_event.acknowledge',
      'health_event.suppress',
      'health_event.resolve',
      'health_event.reopen',
      'health_event.suppress',
      'health_event.acknowledge',
    ]);
    expect(trail.every((e) => e.actorName === 'owner' && e.outcome === 'success')).toBe(true);
    expect(trail[1]).toMatchObject({ reason: 'on it', nodeId: a.nodeId, siteId: a.siteId });
    expect(JSON.parse(trail[3]!.before!)).toMatchObject({ status: 'suppressed' });
    expect(JSON.parse(trail[3]!.after!)).toMatchObject({ status: 'resolved' });
  });

  it('hides another site’s events from a site operator (404, audited as a denial)', async () => {
    const south = await userWithRole(ctl, 'south-operator', 'operator', { type: 'site', id: b.siteId });
    for (const [method, url] of [
      ['GET', '/api/v1/health-events/http-1'],
      ['GET', '/api/v1/health-events/http-1/actions'],
      ['POST', '/api/v1/health-events/http-1/acknowledge'],
    ] as const) {
      const response = await api(method, url, method === 'POST' ? {} : undefined, south);
      expect(response.statusCode, url).toBe(404);
      const denials = await ctl.db.auditEvent.findMany({
        where: { requestId: response.headers['x-request-id'] as string },
      });
      expect(denials.map((d) => [d.outcome, d.targetType, d.siteId])).toEqual([
        ['denied', 'health_event', a.siteId],
      ]);
    }
    const manual = await api(
      'POST',
      '/api/v1/health-events',
      { nodeId: a.nodeId, severity: 'info', message: 'x' },
      south,
    );
    expect(manual.statusCode).toBe(404);
    expect((await stored('http-1'))?.status).toBe('open');
    // A viewer may read but not acknowledge.
    const viewer = await userWithRole(ctl, 'health-viewer', 'viewer');
    expect((await api('GET', '/api/v1/health-events/http-1', undefined, viewer)).statusCode).toBe(200);
    expect((await api('POST', '/api/v1/health-events/http-1/acknowledge', {}, viewer)).statusCode).toBe(403);
  });

  it('applies a bulk step to every event or to none', async () => {
    const ids = ['list-0', 'list-1', 'list-2'];
    await api('POST', '/api/v1/health-events/list-2/resolve', {});
    const refused = await api('POST', '/api/v1/health-events/bulk-lifecycle', { ids, action: 'acknowledge' });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.details.refused).toEqual([
      { id: 'list-2', reason: expect.stringMatching(/resolved/) },
    ]);
    expect((await stored('list-0'))?.status).toBe('open');
    const south = await userWithRole(ctl, 'south-bulk', 'operator', { type: 'site', id: b.siteId });
    const outside = await api(
      'POST',
      '/api/v1/health-events/bulk-lifecycle',
      { ids: ['list-0', 'http-1'], action: 'resolve' },
      south,
    );
    expect(outside.statusCode).toBe(404);
    expect((await stored('list-0'))?.status).toBe('open');
    const until = new Date(Date.now() + 3600_000).toISOString();
    const done = await api(
      'POST',
      '/api/v1/health-events/bulk-lifecycle',
      { ids: ['list-0', 'list-1'], action: 'suppress', until, reason: 'maintenance window' },
      south,
    );
    expect(done.statusCode, done.body).toBe(200);
    expect(done.json().data.events.map((e: { status: string }) => e.status)).toEqual([
      'suppressed',
      'suppressed',
    ]);
    for (const id of ['list-0', 'list-1'])
      expect((await audits(id)).at(-1)).toMatchObject({
        action: 'health_event.suppress',
        actorName: 'south-bulk',
        reason: 'maintenance window',
      });
  });

  it('exports open events by type and severity to Prometheus', async () => {
    const text = await ctl.metrics.render();
    // b: list-3 (clipping, info) and list-4 (silence, critical) and b-owned; list-0/1 suppressed, list-2 resolved.
    expect(text).toMatch(/earshot_health_events_open\{type="clipping",severity="info"\} 1/);
    expect(text).toMatch(/earshot_health_events_open\{type="silence",severity="critical"\} 1/);
    expect(text).not.toMatch(/earshot_health_events_open\{type="disk_low",severity="warning"\} 0/);
  });
});
