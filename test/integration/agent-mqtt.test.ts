// MqttLink against a real in-process aedes broker (authenticating node id + credential
// and enforcing the shared ACL), observed from the broker side.
import { once } from 'node:events';
import { createServer, type Server, Socket } from 'node:net';
import { Aedes, type AedesPublishPacket } from 'aedes';
import type { MqttClient } from 'mqtt';
import { connect } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { agentCommandTable } from '../../agent/src/link/commands.js';
import { MqttLink } from '../../agent/src/link/mqtt-link.js';
import type { BackoffOptions } from '../../agent/src/support/backoff.js';
import { silentLogger } from '../../agent/src/support/log.js';
import { aclFor, type MeterFrame, nodeTopic } from '../../shared/src/mqtt.js';

const NODE = 'node-1';
const CREDENTIAL = 'node-1.abcdefghijklmnopqrstuvwx';

let broker: Aedes;
let server: Server;
let port: number;
let published: { topic: string; payload: string; retain: boolean; qos: number }[];
let link: MqttLink | undefined;
/** How long the broker takes to answer a SUBSCRIBE and a PUBLISH (a busy controller). */
let subscribeDelayMs = 0;
let publishDelayMs = 0;

beforeEach(async () => {
  broker = await Aedes.createBroker({
    maxClientsIdLength: 64,
    authenticate: (_client, username, password, done) => {
      const ok = username === NODE && password?.toString() === CREDENTIAL;
      done(ok ? null : Object.assign(new Error('bad credential'), { returnCode: 4 }), ok);
    },
    authorizePublish: (client, packet, done) => {
      const verdict = aclFor(client?.id ?? '', 'publish', packet.topic);
      setTimeout(() => done(verdict.allowed ? null : new Error(verdict.reason)), publishDelayMs);
    },
    authorizeSubscribe: (client, sub, done) => {
      const verdict = aclFor(client.id, 'subscribe', sub.topic);
      setTimeout(
        () => done(verdict.allowed ? null : new Error(verdict.reason), verdict.allowed ? sub : null),
        subscribeDelayMs,
      );
    },
  });
  published = [];
  broker.on('publish', (packet: AedesPublishPacket, client) => {
    if (client) {
      published.push({
        topic: packet.topic,
        payload: packet.payload.toString(),
        retain: packet.retain,
        qos: packet.qos,
      });
    }
  });
  server = createServer((socket) => broker.handle(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as { port: number }).port;
});

afterEach(async () => {
  subscribeDelayMs = 0;
  publishDelayMs = 0;
  await link?.stop();
  link = undefined;
  vi.restoreAllMocks();
  await new Promise<void>((resolve) => broker.close(() => resolve()));
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function startLink(
  handlers: Partial<Parameters<typeof agentCommandTable>[0]> = {},
  backoff: BackoffOptions = { baseMs: 5, capMs: 20 },
) {
  let client: MqttClient | undefined;
  const targets = {
    wakeClaimLoop: vi.fn(),
    stopRecording: vi.fn(() => false),
    refetchConfig: vi.fn(async () => {}),
    syncSchedule: vi.fn(async () => {}),
    ...handlers,
  };
  link = new MqttLink({
    url: `mqtt://127.0.0.1:${port}`,
    nodeId: NODE,
    credential: CREDENTIAL,
    agentVersion: '9.9.9',
    commands: agentCommandTable(targets),
    log: silentLogger(),
    backoff,
    connect: (url, options) => {
      client = connect(url, options);
      return client;
    },
  });
  link.start();
  return { targets, client: () => client! };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

const statuses = () =>
  published
    .filter((p) => p.topic === nodeTopic(NODE, 'status'))
    .map((p) => ({ ...(JSON.parse(p.payload) as { state: string }), retain: p.retain, qos: p.qos }));

const frame: MeterFrame = {
  seq: 0,
  capturedAtMs: 1,
  windowMs: 100,
  sampleRate: 48_000,
  channels: [{ peakDbfs: -20, rmsDbfs: -23, clipCount: 0 }],
};

describe('agent MQTT link', () => {
  it('connects as its node, sets TCP_NODELAY and publishes online retained', async () => {
    const noDelay = vi.spyOn(Socket.prototype, 'setNoDelay');
    startLink();
    await until(() => statuses().length === 1);
    expect(statuses()[0]).toMatchObject({ state: 'online', agentVersion: '9.9.9', retain: true, qos: 1 });
    expect(noDelay).toHaveBeenCalledWith(true);
  });

  it('drops meter frames while not connected and publishes them at QoS 0 once connected', async () => {
    startLink();
    expect(link!.publishMeter(frame)).toBe(false); // not connected yet: dropped, not queued
    await until(() => link!.connected);
    expect(link!.publishMeter({ ...frame, seq: 1 })).toBe(true);
    await until(() => published.some((p) => p.topic === nodeTopic(NODE, 'meters')));
    const meters = published.filter((p) => p.topic === nodeTopic(NODE, 'meters'));
    expect(meters.map((m) => (JSON.parse(m.payload) as MeterFrame).seq)).toEqual([1]);
    expect(meters[0]).toMatchObject({ qos: 0, retain: false });
  });

  it('runs a command through the table and answers on cmd-result with the same id', async () => {
    const { targets } = startLink();
    let subscribed = false;
    broker.on('subscribe', (subscriptions) => {
      subscribed ||= subscriptions.some((sub) => sub.topic === nodeTopic(NODE, 'cmd'));
    });
    await until(() => subscribed);
    broker.publish(
      {
        cmd: 'publish',
        topic: nodeTopic(NODE, 'cmd'),
        payload: Buffer.from(JSON.stringify({ id: 'cmd-42', type: 'job-available' })),
        qos: 1,
        retain: false,
        dup: false,
      },
      () => {},
    );
    await until(() => published.some((p) => p.topic === nodeTopic(NODE, 'cmd-result')));
    const result = published.find((p) => p.topic === nodeTopic(NODE, 'cmd-result'))!;
    expect(JSON.parse(result.payload)).toEqual({ id: 'cmd-42', ok: true, message: 'claiming' });
    expect(targets.wakeClaimLoop).toHaveBeenCalledOnce();
  });

  it('the broker publishes the offline will when the connection drops, and the agent comes back online', async () => {
    const { client } = startLink();
    await until(() => statuses().length === 1);
    client().stream.destroy();
    // The broker publishes the will on behalf of the lost client; then the agent reconnects.
    await until(() => statuses().length === 3);
    expect(statuses().map((s) => s.state)).toEqual(['online', 'offline', 'online']);
    expect(statuses()[1]).toMatchObject({ retain: true });
  });

  it('reconnectNow cuts a long backoff short (the controller answered over HTTP again)', async () => {
    // Every delay an hour: only reconnectNow can bring the link back within the test.
    const { client } = startLink({}, { baseMs: 3_600_000, capMs: 3_600_000, random: () => 1 });
    await until(() => statuses().length === 1);
    client().stream.destroy();
    await until(() => statuses().length === 2); // the broker's will: offline
    link!.reconnectNow();
    await until(() => statuses().length === 3);
    expect(statuses().map((s) => s.state)).toEqual(['online', 'offline', 'online']);
    link!.reconnectNow(); // connected: nothing happens
    expect(link!.connected).toBe(true);
  });

  it('publishes offline retained on a clean stop', async () => {
    startLink();
    await until(() => statuses().length === 1);
    await link!.stop();
    link = undefined;
    expect(statuses().map((s) => s.state)).toEqual(['online', 'offline']);
    expect(statuses()[1]).toMatchObject({ retain: true });
  });

  it('stopped before its command subscription is acknowledged, it never says online after offline', async () => {
    subscribeDelayMs = 50;
    publishDelayMs = 150;
    const { client } = startLink();
    const stopped = new Promise<void>((resolve) =>
      client().once('connect', () => void link!.stop().then(resolve)),
    );
    await stopped;
    link = undefined;
    // The SUBACK came while the stop waited for its offline's PUBACK: an 'online' sent then
    // would have been the last word.
    expect(statuses().map((s) => s.state)).toEqual(['offline']);
  });
});
