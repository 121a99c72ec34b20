/**
 * The embedded broker with real mqtt.js clients and real enrolled nodes: node
 * credentials at CONNECT, topic isolation between nodes, payload validation, the
 * packet size limit, presence from `status` and the last will, and meter frames
 * flowing to the store, the snapshot route and the SSE stream, scoped per caller.
 */
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MAX_MQTT_PAYLOAD_BYTES, type MeterFrame, nodeTopic } from '../../shared/src/mqtt.js';
import {
  bearer,
  enrolledNode,
  type TestController,
  testController,
  userWithRole,
} from '../support/controller.js';
import { readSse, type SseEvent } from '../support/sse.js';

type Node = { nodeId: string; credential: string; siteId: string };

function frame(seq: number, peakDbfs = -20): MeterFrame {
  return {
    seq,
    capturedAtMs: Date.now(),
    windowMs: 100,
    sampleRate: 48_000,
    channels: [{ peakDbfs, rmsDbfs: peakDbfs - 3, clipCount: 0 }],
  };
}

describe('embedded MQTT broker', () => {
  let ctl: TestController;
  let owner: string;
  let mqttUrl: string;
  let httpBase: string;
  let a: Node;
  let b: Node;
  const clients: MqttClient[] = [];

  /** Connects as a node (or with whatever username/password is given); never reconnects. */
  async function connect(options: IClientOptions, url = mqttUrl): Promise<MqttClient> {
    const client = await connectAsync(url, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
      ...options,
    });
    clients.push(client);
    return client;
  }
  const asNode = (node: Node, extra: IClientOptions = {}) =>
    connect({ username: node.nodeId, password: node.credential, ...extra });

  /** Resolves when the broker has closed the client's connection. */
  const closed = (client: MqttClient) =>
    new Promise<void>((resolve) => (client.connected ? client.once('close', () => resolve()) : resolve()));

  /** The QoS the broker granted per topic, in order; 128 is a refusal. */
  async function grantedQos(client: MqttClient, topics: string[]): Promise<number[]> {
    try {
      const granted = await client.subscribeAsync(topics, { qos: 1 });
      return topics.map((t) => granted.find((g) => g.topic === t)?.qos ?? -1);
    } catch (error) {
      // mqtt.js rejects when any filter was refused; the SUBACK still lists every grant.
      const granted = (error as { packet?: { granted?: number[] } }).packet?.granted;
      if (!granted) throw error;
      return granted;
    }
  }

  async function counter(topic: string, outcome: string): Promise<number> {
    const metric = await ctl.metrics.mqttMessages.get();
    return metric.values.find((v) => v.labels.topic === topic && v.labels.outcome === outcome)?.value ?? 0;
  }

  async function latestMeters(node: string, token = owner) {
    return ctl.app.inject({ method: 'GET', url: `/api/v1/nodes/${node}/meters`, headers: bearer(token) });
  }

  /** Publishes frames like an agent (10 Hz) until `until` settles, so a fresh subscriber sees one. */
  async function publishWhile<T>(client: MqttClient, node: Node, until: Promise<T>): Promise<T> {
    let seq = 1000;
    const timer = setInterval(() => {
      client.publish(nodeTopic(node.nodeId, 'meters'), JSON.stringify(frame(seq++)), { qos: 0 });
    }, 100);
    try {
      return await until;
    } finally {
      clearInterval(timer);
    }
  }

  beforeAll(async () => {
    ctl = await testController({ mqttHost: '127.0.0.1', httpHost: '127.0.0.1' });
    await ctl.start();
    await ctl.app.listen({ port: 0, host: '127.0.0.1' });
    const address = ctl.app.server.address();
    httpBase = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    mqttUrl = `mqtt://127.0.0.1:${ctl.broker.port()}`;
    owner = await ctl.ownerToken();
    a = await enrolledNode(ctl, { id: 'node-a', site: 'north' });
    b = await enrolledNode(ctl, { id: 'node-b', site: 'south' });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
    await ctl.stop();
  });

  it('is part of readiness once started', async () => {
    const ready = await ctl.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().checks).toMatchObject({ database: true, broker: true });
  });

  it('accepts a node with its credential', async () => {
    const client = await asNode(a);
    expect(client.connected).toBe(true);
    expect((await ctl.metrics.mqttClients.get()).values[0]?.value).toBeGreaterThanOrEqual(1);
  });

  it('refuses a wrong credential, a missing one, and another node’s', async () => {
    const wrongSecret = `${a.nodeId}.${'x'.repeat(43)}`;
    await expect(connect({ username: a.nodeId, password: wrongSecret })).rejects.toMatchObject({ code: 4 });
    await expect(connect({})).rejects.toMatchObject({ code: 4 });
    await expect(connect({ username: a.nodeId })).rejects.toMatchObject({ code: 4 });
    // B's valid credential presented under A's name.
    await expect(connect({ username: a.nodeId, password: b.credential })).rejects.toMatchObject({ code: 4 });
    // A username that could smuggle a wildcard into a filter never authenticates.
    await expect(connect({ username: '+', password: a.credential })).rejects.toMatchObject({ code: 4 });

    await vi.waitFor(
      async () => {
        const denied = await ctl.db.auditEvent.count({
          where: { action: 'mqtt.connect', outcome: 'denied' },
        });
        expect(denied).toBe(5);
      },
      { timeout: 10_000 },
    );
  });

  it('refuses subscriptions outside the node’s own cmd topic, wildcards included', async () => {
    const client = await asNode(a);
    const topics = [
      nodeTopic(a.nodeId, 'cmd'),
      nodeTopic(b.nodeId, 'cmd'),
      nodeTopic(a.nodeId, 'meters'),
      'earshot/v1/nodes/+/cmd',
      'earshot/v1/nodes/node-a/#',
      '#',
      '$SYS/#',
    ];
    expect(await grantedQos(client, topics)).toEqual([1, 128, 128, 128, 128, 128, 128]);
    // Still connected: a refused filter is not a reason to drop the agent.
    expect(client.connected).toBe(true);
  });

  it('delivers the controller’s commands to that node only', async () => {
    const clientA = await asNode(a);
    const clientB = await asNode(b);
    await clientA.subscribeAsync(nodeTopic(a.nodeId, 'cmd'), { qos: 1 });
    await clientB.subscribeAsync(nodeTopic(b.nodeId, 'cmd'), { qos: 1 });
    const seenByB: string[] = [];
    clientB.on('message', (_topic, payload) => seenByB.push(payload.toString()));
    const received = new Promise<string>((resolve) =>
      clientA.once('message', (_topic, payload) => resolve(payload.toString())),
    );
    await ctl.broker.publishToNode(a.nodeId, 'cmd', { id: 'c-1', type: 'config-changed' });
    expect(JSON.parse(await received)).toEqual({ id: 'c-1', type: 'config-changed' });
    // B gets its own next command and nothing before it.
    const forB = new Promise<void>((resolve) => clientB.once('message', () => resolve()));
    await ctl.broker.publishToNode(b.nodeId, 'cmd', { id: 'c-2', type: 'job-available' });
    await forB;
    expect(seenByB.map((m) => JSON.parse(m).id)).toEqual(['c-2']);
  });

  it('refuses a node publishing into another node’s subtree', async () => {
    const listener = await asNode(b);
    await listener.subscribeAsync(nodeTopic(b.nodeId, 'cmd'), { qos: 1 });
    const seenByB: string[] = [];
    listener.on('message', (_topic, payload) => seenByB.push(payload.toString()));
    const deniedBefore = await counter('cmd', 'denied');

    // A forging a command to B: the broker closes A's connection and forwards nothing.
    const attacker = await asNode(a);
    attacker.publish(nodeTopic(b.nodeId, 'cmd'), JSON.stringify({ id: 'evil', type: 'lifecycle' }), {
      qos: 1,
    });
    await closed(attacker);
    expect(await counter('cmd', 'denied')).toBe(deniedBefore + 1);

    // A forging B's meters and status: refused the same way, nothing reaches B's state.
    for (const [name, payload] of [
      ['meters', frame(1)],
      ['status', { state: 'offline' }],
    ] as const) {
      const forger = await asNode(a);
      forger.publish(nodeTopic(b.nodeId, name), JSON.stringify(payload), { qos: 1 });
      await closed(forger);
    }
    expect((await latestMeters(b.nodeId)).json().data.frame).toBeNull();

    // Positive control: a genuine command still reaches B, and it is the only thing B saw.
    const genuine = new Promise<void>((resolve) => listener.once('message', () => resolve()));
    await ctl.broker.publishToNode(b.nodeId, 'cmd', { id: 'real', type: 'job-available' });
    await genuine;
    expect(seenByB.map((m) => JSON.parse(m).id)).toEqual(['real']);

    await vi.waitFor(
      async () => {
        const events = await ctl.db.auditEvent.findMany({ where: { action: 'mqtt.publish' } });
        expect(events.map((e) => e.targetId).sort()).toEqual(
          [nodeTopic(b.nodeId, 'cmd'), nodeTopic(b.nodeId, 'meters'), nodeTopic(b.nodeId, 'status')].sort(),
        );
        expect(events.every((e) => e.outcome === 'denied' && e.actorId === a.nodeId)).toBe(true);
      },
      { timeout: 10_000 },
    );
  });

  it('stops one node taking over another’s session by client id', async () => {
    const victim = await asNode(a, { clientId: 'shared-id' });
    await asNode(b, { clientId: 'shared-id' });
    // A round trip on the victim proves its connection survived B's CONNECT.
    await victim.subscribeAsync(nodeTopic(a.nodeId, 'cmd'), { qos: 1 });
    expect(victim.connected).toBe(true);
  });

  it('drops and counts invalid payloads without disconnecting the agent', async () => {
    const client = await asNode(a);
    const invalidBefore = await counter('meters', 'invalid');
    const topic = nodeTopic(a.nodeId, 'meters');
    await client.publishAsync(topic, 'not json', { qos: 1 });
    await client.publishAsync(topic, JSON.stringify({ ...frame(1), channels: [] }), { qos: 1 });
    await client.publishAsync(topic, JSON.stringify({ ...frame(2), extra: true }), { qos: 1 });
    await client.publishAsync(topic, JSON.stringify(frame(7, -12)), { qos: 1 });
    expect(client.connected).toBe(true);
    expect(await counter('meters', 'invalid')).toBe(invalidBefore + 3);

    const latest = await latestMeters(a.nodeId);
    expect(latest.statusCode).toBe(200);
    expect(latest.json().data).toMatchObject({
      nodeId: a.nodeId,
      frame: { seq: 7, channels: [{ peakDbfs: -12 }] },
      receivedAt: expect.any(String),
    });
  });

  it('closes a connection that sends a packet over the size limit', async () => {
    const client = await asNode(a);
    const before = await counter('unknown', 'too_large');
    client.publish(nodeTopic(a.nodeId, 'meters'), Buffer.alloc(MAX_MQTT_PAYLOAD_BYTES + 2048, 0x20), {
      qos: 0,
    });
    await closed(client);
    expect(await counter('unknown', 'too_large')).toBe(before + 1);
  });

  it('tracks presence from the retained status and the last will', async () => {
    const online = async () => {
      await ctl.metrics.render();
      return (await ctl.metrics.nodesOnline.get()).values[0]?.value;
    };
    const statusTopic = nodeTopic(b.nodeId, 'status');
    const client = await asNode(b, {
      will: { topic: statusTopic, payload: Buffer.from('{"state":"offline"}'), qos: 1, retain: true },
    });
    const before = await online();
    await client.publishAsync(statusTopic, JSON.stringify({ state: 'online', agentVersion: '9.9.9' }), {
      qos: 1,
      retain: true,
    });
    await vi.waitFor(async () => expect(await online()).toBe((before ?? 0) + 1), { timeout: 10_000 });
    await vi.waitFor(async () =>
      expect((await ctl.db.node.findUniqueOrThrow({ where: { id: b.nodeId } })).agentVersion).toBe('9.9.9'),
    );
    // The network drops: no DISCONNECT, so the broker publishes the will.
    client.stream.destroy();
    await vi.waitFor(async () => expect(await online()).toBe(before ?? 0), { timeout: 10_000 });
  });

  it('counts a node offline when its connection ends cleanly after it said online (no will is sent)', async () => {
    const statusTopic = nodeTopic(b.nodeId, 'status');
    const client = await asNode(b);
    await client.publishAsync(statusTopic, JSON.stringify({ state: 'online' }), { qos: 1, retain: true });
    await vi.waitFor(() => expect(ctl.services.nodes.connected(b.nodeId)).toBe(true), { timeout: 10_000 });
    // An agent stopping while its 'online' was still on the way: DISCONNECT, and 'online' was last.
    await client.endAsync();
    await vi.waitFor(() => expect(ctl.services.nodes.connected(b.nodeId)).toBe(false), { timeout: 10_000 });
  });

  it('sends frames to an SSE client and the snapshot route, each scoped to the caller', async () => {
    const publisherA = await asNode(a);
    const publisherB = await asNode(b);
    const southViewer = await userWithRole(ctl, 'south-viewer', 'viewer', { type: 'site', id: b.siteId });

    // Owner, one node: the first meter event is one of A's frames.
    let first: SseEvent | undefined;
    await publishWhile(
      publisherA,
      a,
      readSse(`${httpBase}/api/v1/meter-events?nodeId=${a.nodeId}`, bearer(owner), (event) => {
        if (event.event !== 'meter') return undefined;
        first = event;
        return true;
      }),
    );
    const data = JSON.parse(first!.data);
    expect(data.nodeId).toBe(a.nodeId);
    expect(data.frame).toMatchObject({ seq: expect.any(Number), sampleRate: 48_000 });

    // A viewer of the south site, no filter: B's frames arrive, A's never do.
    const seen: string[] = [];
    await publishWhile(
      publisherA,
      a,
      publishWhile(
        publisherB,
        b,
        readSse(`${httpBase}/api/v1/meter-events`, bearer(southViewer), (event) => {
          if (event.event !== 'meter') return undefined;
          seen.push(JSON.parse(event.data).nodeId);
          return seen.length >= 5 ? true : undefined;
        }),
      ),
    );
    expect(new Set(seen)).toEqual(new Set([b.nodeId]));

    // Out of scope is not found, for the stream and the snapshot alike.
    const outOfScope = await ctl.app.inject({
      method: 'GET',
      url: `/api/v1/meter-events?nodeId=${a.nodeId}`,
      headers: bearer(southViewer),
    });
    expect(outOfScope.statusCode).toBe(404);
    expect((await latestMeters(a.nodeId, southViewer)).statusCode).toBe(404);
    expect((await latestMeters(b.nodeId, southViewer)).statusCode).toBe(200);
    expect((await latestMeters('no-such-node')).statusCode).toBe(404);

    // Audited once per stream opened, never per frame.
    const opened = await ctl.db.auditEvent.findMany({ where: { action: 'meters.stream_open' } });
    expect(opened).toHaveLength(2);
    expect(opened.map((e) => e.targetId)).toEqual([a.nodeId, null]);
  });

  it('speaks MQTT over WebSocket on the HTTP server, with the same checks', async () => {
    const wsUrl = `${httpBase.replace('http', 'ws')}${ctl.config.mqttWsPath}`;
    await expect(
      connect({ username: a.nodeId, password: `${a.nodeId}.${'y'.repeat(43)}` }, wsUrl),
    ).rejects.toMatchObject({ code: 4 });
    const client = await connect({ username: a.nodeId, password: a.credential }, wsUrl);
    expect(await grantedQos(client, [nodeTopic(a.nodeId, 'cmd'), nodeTopic(b.nodeId, 'cmd')])).toEqual([
      1, 128,
    ]);
    await client.publishAsync(nodeTopic(a.nodeId, 'meters'), JSON.stringify(frame(4242)), { qos: 1 });
    expect((await latestMeters(a.nodeId)).json().data.frame.seq).toBe(4242);
  });
});
