/**
 * Channel-map changes reach the node's agent at once: with the real broker and a real mqtt.js
 * client as the agent, setting an assignment, applying a plan, a bulk change and a change to
 * the assigned template each send it a `config-changed` command; a node without the template
 * hears nothing when the template changes.
 */
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Command, nodeTopic } from '../../shared/src/mqtt.js';
import { requestAs } from '../support/api.js';
import { enrolledNode, type TestController, testController } from '../support/controller.js';

describe('channel-map nudges', () => {
  let ctl: TestController;
  let owner: string;
  const clients: MqttClient[] = [];

  /** A node whose agent listens on its command topic; returns the commands it receives. */
  async function listeningNode(id: string): Promise<Command[]> {
    const node = await enrolledNode(ctl, { id, site: 'east' });
    const client = await connectAsync(`mqtt://127.0.0.1:${ctl.broker.port()}`, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      username: node.nodeId,
      password: node.credential,
    });
    clients.push(client);
    const commands: Command[] = [];
    client.on('message', (_topic, payload) => commands.push(JSON.parse(payload.toString()) as Command));
    await client.subscribeAsync(nodeTopic(node.nodeId, 'cmd'), { qos: 1 });
    return commands;
  }

  const api = (method: 'POST' | 'PUT' | 'PATCH', url: string, payload: object) =>
    requestAs(ctl.app, owner, method, `/api/v1/settings${url}`, payload);
  const nudges = async (commands: Command[], count: number) =>
    vi.waitFor(() => expect(commands.filter((c) => c.type === 'config-changed')).toHaveLength(count), {
      timeout: 2_000,
      interval: 20,
    });

  beforeAll(async () => {
    ctl = await testController({ mqttHost: '127.0.0.1' });
    await ctl.start();
    owner = await ctl.ownerToken();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
    await ctl.stop();
  });

  it('assignment, bulk, plan and template changes each nudge the nodes they affect', async () => {
    const a = await listeningNode('nudge-a');
    const b = await listeningNode('nudge-b');
    const template = (await api('POST', '/channel-map-templates', { name: 'pair' })).json().data.id;

    expect((await api('PUT', '/channel-map-assignments/nudge-a', { templateId: template })).statusCode).toBe(
      200,
    );
    await nudges(a, 1);

    const bulk = await api('POST', '/channel-map-assignments/bulk', {
      items: [{ nodeId: 'nudge-b', templateId: template }],
    });
    expect(bulk.statusCode, bulk.body).toBe(200);
    await nudges(b, 1);

    const patched = await api('PATCH', `/channel-map-templates/${template}`, {
      body: { groups: [{ name: 'left', channels: [1] }] },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    await nudges(a, 2);
    await nudges(b, 2);

    const plan = await api('POST', '/channel-map-plans', {
      name: 'clear a',
      items: [{ nodeId: 'nudge-a', templateId: null }],
    });
    expect(a.filter((c) => c.type === 'config-changed')).toHaveLength(2); // staging applies nothing
    expect((await api('POST', `/channel-map-plans/${plan.json().data.id}/apply`, {})).statusCode).toBe(200);
    await nudges(a, 3);

    // nudge-a no longer uses the template: only nudge-b hears of the next change.
    await api('PATCH', `/channel-map-templates/${template}`, {
      body: { groups: [{ name: 'right', channels: [2] }] },
    });
    await nudges(b, 3);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(a.filter((c) => c.type === 'config-changed')).toHaveLength(3);

    // Each assignment change is announced as a settings change of its node (the ops log hears it).
    await ctl.services.opsLog.flush();
    const logged = await requestAs(
      ctl.app,
      owner,
      'GET',
      '/api/v1/ops-events?kind=settings.changed&limit=200',
    );
    const assignments = (logged.json().data as { data: { family: string; name: string; action: string } }[])
      .map((e) => e.data)
      .filter((d) => d.family === 'channel-map-assignments');
    expect(assignments.map((d) => [d.name, d.action])).toEqual([
      ['nudge-a', 'clear'],
      ['nudge-b', 'set'],
      ['nudge-a', 'set'],
    ]);
  });
});
