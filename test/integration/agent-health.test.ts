/**
 * The agent's watchdog end to end: a real agent (fake sound card) against a real controller
 * and broker. Its node's watchdog policy makes the card's signal count as silence: the agent
 * opens a silence event per channel, the controller stores each once (MQTT `events`), and when
 * the policy changes (the `config-changed` nudge) the silence clears and the events resolve.
 * An event raised while the controller is unreachable arrives, once, when it returns.
 */
import type { AddressInfo } from 'node:net';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Agent } from '../../agent/src/agent.js';
import { nodeTopic } from '../../shared/src/mqtt.js';
import {
  enrolledAgentSettings,
  fakeCards,
  type NetworkSwitch,
  networkSwitch,
  testAgent,
} from '../support/agent-harness.js';
import { bearer, enrolledNode, type TestController, testController } from '../support/controller.js';
import { openSse } from '../support/sse.js';
import { type TempDir, tempDir } from '../support/tmp.js';
import { until } from '../support/until.js';

interface EventView {
  id: string;
  type: string;
  status: string;
  channel: number | null;
  source: string;
  count: number;
}

describe('agent watchdog → health events', () => {
  let ctl: TestController;
  let owner: string;
  let dir: TempDir;
  let agent: Agent;
  let http: NetworkSwitch;
  let mqtt: NetworkSwitch;
  const cards = fakeCards();
  const captures = cards.captures;
  const nodeId = 'watched-1';

  const api = async (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) => {
    const response = await ctl.app.inject({ method, url: `/api/v1${url}`, headers: bearer(owner), payload });
    expect(response.statusCode, response.body).toBeLessThan(300);
    return response.json().data;
  };
  const events = async (type: string): Promise<EventView[]> =>
    api('GET', `/health-events?nodeId=${nodeId}&type=${type}`);

  beforeAll(async () => {
    ctl = await testController({ mqttHost: '127.0.0.1', httpHost: '127.0.0.1' });
    await ctl.start();
    await ctl.app.listen({ port: 0, host: '127.0.0.1' });
    owner = await ctl.ownerToken();
    dir = await tempDir('agent-health');
    http = await networkSwitch((ctl.app.server.address() as AddressInfo).port);
    mqtt = await networkSwitch(ctl.broker.port()!);
    const node = await enrolledNode(ctl, { id: nodeId, site: 'hq', sampleRate: 8000 });
    // Everything the fake card plays (at most about -6 dBFS) is "silence" under this policy.
    const policy = await api('POST', '/settings/watchdog-policies', {
      name: 'deaf',
      body: { silenceDbfs: 0, silenceSeconds: 1 },
    });
    await api('PATCH', `/nodes/${nodeId}`, { watchdogPolicyId: policy.id });
    const settings = await enrolledAgentSettings(
      dir.path,
      node,
      `http://127.0.0.1:${http.port}`,
      `mqtt://127.0.0.1:${mqtt.port}`,
    );
    agent = testAgent(settings, {
      syncIntervalMs: 3_600_000,
      createCapture: cards.createCapture,
    });
    await agent.start();
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await http?.close();
    await mqtt?.close();
    await ctl?.stop();
    await dir?.cleanup();
  });

  it('opens one silence event per channel, stored once, and resolves them when the policy changes', async () => {
    await until(async () => (await events('silence')).length === 2, { what: 'two silence events' });
    const opened = await events('silence');
    expect(opened.map((e) => [e.channel, e.status, e.source]).sort()).toEqual([
      [1, 'open', 'agent'],
      [2, 'open', 'agent'],
    ]);

    const [policy] = await api('GET', '/settings/watchdog-policies?q=deaf');
    await api('PATCH', `/settings/watchdog-policies/${policy.id}`, { body: { silenceDbfs: -120 } });
    await until(async () => (await events('silence')).every((e) => e.status === 'resolved'), {
      what: 'the silence events to resolve',
    });
    expect((await events('silence')).map((e) => e.id).sort()).toEqual(opened.map((e) => e.id).sort());
  });

  it('an event raised while the controller is unreachable arrives once when it returns', async () => {
    await http.down();
    await mqtt.down();
    captures.at(-1)!.fail(); // the device goes away; the supervisor restarts the capture
    await until(() => captures.length === 2, { what: 'the capture to restart' });
    expect(await events('capture_restart')).toEqual([]);
    await http.up();
    await mqtt.up();
    await until(async () => (await events('capture_restart')).length === 1, {
      timeoutMs: 30_000,
      what: 'the capture restart event to arrive',
    });
    const [restart] = await events('capture_restart');
    expect(restart).toMatchObject({ status: 'open', source: 'agent' });
    // Its queue was flushed over whichever way came back first; the controller holds it once.
    await until(() => ctl.services.nodes.onlineCount() === 1, { what: 'the agent to reconnect over MQTT' });
    expect(await events('capture_restart')).toHaveLength(1);
  });

  it('a node whose agent dies (its socket dropped, as by kill -9) is offline at once and gets a node_offline event, resolved when it returns', async () => {
    const { credential } = await enrolledNode(ctl, { id: 'killed-1', site: 'hq' });
    const status = nodeTopic('killed-1', 'status');
    const connectAgent = () =>
      connectAsync(`mqtt://127.0.0.1:${ctl.broker.port()}`, {
        protocolVersion: 4,
        reconnectPeriod: 0,
        username: 'killed-1',
        password: credential,
        will: { topic: status, payload: Buffer.from('{"state":"offline"}'), qos: 1, retain: true },
      });
    const online = async () => (await api('GET', '/nodes/killed-1')).presence.online as boolean;
    const first = await connectAgent();
    await first.publishAsync(status, '{"state":"online"}', { qos: 1, retain: true });
    await until(online, { what: 'the node to be online' });
    await ctl.services.nodeWatch.sweep();
    expect(await events('node_offline')).toEqual([]);

    first.stream.destroy(); // no DISCONNECT: the broker publishes the will
    await until(async () => !(await online()), { what: 'the node to be offline' });
    await ctl.services.nodeWatch.sweep();
    await ctl.services.nodeWatch.sweep(); // once per outage
    const [offline, ...more] = await api('GET', '/health-events?nodeId=killed-1&type=node_offline');
    expect(more).toEqual([]);
    expect(offline).toMatchObject({ status: 'open', severity: 'critical', source: 'controller' });

    const back = await connectAgent();
    await back.publishAsync(status, '{"state":"online"}', { qos: 1, retain: true });
    await until(online, { what: 'the node to be back online' });
    await ctl.services.nodeWatch.sweep();
    const [resolved] = await api('GET', '/health-events?nodeId=killed-1&type=node_offline');
    expect(resolved).toMatchObject({ id: offline.id, status: 'resolved' });
    await back.endAsync();
  });

  it('a node offline watch pass reads the open node_offline events in one query, however many nodes there are', async () => {
    for (let i = 0; i < 12; i++) await enrolledNode(ctl, { id: `offline-watch-${i}`, site: 'hq' });
    const findMany = vi.spyOn(ctl.db.healthEvent, 'findMany');
    try {
      await ctl.services.nodeWatch.sweep();
      // Before: one query per node in service, every 5 s (half a second of event loop at 1,000 nodes).
      expect(findMany).toHaveBeenCalledTimes(1);
    } finally {
      findMany.mockRestore();
    }
  });

  it('with MQTT down, its meter frames reach the controller over HTTP, the newest once a second; over MQTT again when it returns', async () => {
    const base = `http://127.0.0.1:${(ctl.app.server.address() as AddressInfo).port}`;
    await mqtt.down();
    await until(() => ctl.services.nodes.onlineCount() === 0, { what: 'the node to go offline' });
    const stream = await openSse(`${base}/api/v1/meter-events?nodeId=${nodeId}`, bearer(owner));
    try {
      // The first may have been sent just before the cut; the next two came over HTTP.
      await stream.meter();
      const first = await stream.meter();
      const second = await stream.meter();
      expect(first.nodeId).toBe(nodeId);
      // Ten frames a second are captured; one a second, the newest, is sent.
      expect(second.frame.seq - first.frame.seq).toBeGreaterThanOrEqual(5);
      await mqtt.up();
      await until(() => ctl.services.nodes.onlineCount() === 1, { what: 'the agent to reconnect over MQTT' });
      // Back on MQTT: every frame again (a late HTTP one may still be on its way first).
      let previous = await stream.meter();
      let next = await stream.meter();
      while (next.frame.seq - previous.frame.seq !== 1) [previous, next] = [next, await stream.meter()];
      expect(next.frame.seq).toBe(previous.frame.seq + 1);
    } finally {
      stream.close();
    }
  });
});
