/**
 * A node's audio interfaces through the real HTTP API, the real broker and a real agent: the
 * agent's report reconciled by device reference (new, changed, vanished → absent, back again;
 * operator fields kept), the operator's edit (validated against the channel count, audited with
 * before and after, the agent nudged with `config-changed` over MQTT), scope, node delete with
 * interfaces, and the agent daemon reporting a real PulseAudio null sink, then a sink added and
 * removed while it runs.
 */
import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Agent } from '../../agent/src/agent.js';
import type { ReportedInterface } from '../../shared/src/agent-api.js';
import { type Command, nodeTopic } from '../../shared/src/mqtt.js';
import { enrolledAgentSettings, testAgent } from '../support/agent-harness.js';
import {
  bearer,
  enrolledNode,
  type TestController,
  testController,
  userWithRole,
} from '../support/controller.js';
import { hasPulse, type PulseSink, startPulseSink, useSinkEnv } from '../support/pulse.js';
import { type TempDir, tempDir } from '../support/tmp.js';
import { until } from '../support/until.js';

const run = promisify(execFile);
type Node = { nodeId: string; credential: string; siteId: string };
interface InterfaceView {
  id: string;
  ref: string;
  channels: number;
  description: string;
  present: boolean;
  alias: string | null;
  enabledChannels: number[] | null;
  channelNames: string[];
}

const device = (ref: string, channels = 2, description = `Device ${ref}`): ReportedInterface => ({
  ref,
  kind: 'pulse',
  description,
  channels,
  sampleRate: 48_000,
});

describe('node interfaces', () => {
  let ctl: TestController;
  let owner: string;
  let eastOperator: string;
  let east: Node;
  const clients: MqttClient[] = [];

  const api = (
    token: string,
    method: 'GET' | 'PUT' | 'PATCH' | 'POST' | 'DELETE',
    url: string,
    body?: unknown,
  ) =>
    ctl.app.inject({
      method,
      url: `/api/v1${url}`,
      headers: bearer(token),
      ...(body === undefined ? {} : { payload: body as object }),
    });
  const report = (node: Node, interfaces: ReportedInterface[]) =>
    api(node.credential, 'PUT', `/nodes/${node.nodeId}/interfaces`, { interfaces });
  const list = async (nodeId: string): Promise<InterfaceView[]> => {
    const response = await api(owner, 'GET', `/nodes/${nodeId}/interfaces`);
    expect(response.statusCode, response.body).toBe(200);
    return response.json().data;
  };
  const byRef = async (nodeId: string) => new Map((await list(nodeId)).map((i) => [i.ref, i]));
  const events = (action: string, targetId: string) =>
    ctl.db.auditEvent.findMany({ where: { action, targetId }, orderBy: { seq: 'asc' } });

  beforeAll(async () => {
    ctl = await testController({ mqttHost: '127.0.0.1' });
    await ctl.start();
    owner = await ctl.ownerToken();
    east = await enrolledNode(ctl, { id: 'east-1', site: 'east' });
    await enrolledNode(ctl, { id: 'west-1', site: 'west' });
    eastOperator = await userWithRole(ctl, 'east-op', 'operator', { type: 'site', id: east.siteId });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
    await ctl.stop();
  });

  it('reconciles reports by device reference: new, changed, vanished (absent), back; aliases kept', async () => {
    const node = await enrolledNode(ctl, { id: 'inv-1', site: 'east' });
    const first = await report(node, [device('usb-a', 2), device('usb-b', 2)]);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json().data).toEqual({ created: 2, updated: 0, absent: 0 });
    const a = (await byRef('inv-1')).get('usb-a')!;
    expect(a).toMatchObject({
      channels: 2,
      present: true,
      alias: null,
      enabledChannels: null,
      channelNames: [],
    });
    const labelled = await api(eastOperator, 'PATCH', `/nodes/inv-1/interfaces/${a.id}`, {
      alias: 'Desk mics',
      enabledChannels: [2],
      channelNames: ['left', 'right'],
    });
    expect(labelled.statusCode, labelled.body).toBe(200);

    // usb-a gains channels, usb-b is unplugged, usb-c appears.
    const second = await report(node, [device('usb-a', 4, 'Desk interface'), device('usb-c', 8)]);
    expect(second.json().data).toEqual({ created: 1, updated: 1, absent: 1 });
    let now = await byRef('inv-1');
    expect(now.get('usb-a')).toMatchObject({
      id: a.id,
      channels: 4,
      description: 'Desk interface',
      present: true,
      alias: 'Desk mics',
      enabledChannels: [2],
      channelNames: ['left', 'right'],
    });
    expect(now.get('usb-b')).toMatchObject({ present: false });
    expect(now.get('usb-c')).toMatchObject({ channels: 8, present: true });
    // Present first: the vanished one is listed last, never deleted.
    expect((await list('inv-1')).map((i) => i.ref)).toEqual(['usb-a', 'usb-c', 'usb-b']);

    // The same set again changes nothing (and is not audited); usb-b coming back is.
    const same = await report(node, [device('usb-a', 4, 'Desk interface'), device('usb-c', 8)]);
    expect(same.json().data).toEqual({ created: 0, updated: 0, absent: 0 });
    const back = await report(node, [
      device('usb-a', 4, 'Desk interface'),
      device('usb-b'),
      device('usb-c', 8),
    ]);
    expect(back.json().data).toEqual({ created: 0, updated: 1, absent: 0 });
    now = await byRef('inv-1');
    expect(now.get('usb-b')).toMatchObject({ present: true });
    // The node detail carries them too.
    const detail = await api(owner, 'GET', '/nodes/inv-1');
    expect(detail.json().data.interfaces.map((i: InterfaceView) => [i.ref, i.alias])).toEqual([
      ['usb-a', 'Desk mics'],
      ['usb-b', null],
      ['usb-c', null],
    ]);

    const reports = await events('node.interface.report', 'inv-1');
    expect(reports.map((e) => e.actorType)).toEqual(['node', 'node', 'node']);
    const [, changed] = reports;
    expect(JSON.parse(changed!.before!)).toEqual([
      expect.objectContaining({ ref: 'usb-a', channels: 2, present: true }),
      expect.objectContaining({ ref: 'usb-b', present: true }),
    ]);
    expect(JSON.parse(changed!.after!)).toEqual([
      expect.objectContaining({ ref: 'usb-c', channels: 8 }),
      expect.objectContaining({ ref: 'usb-a', channels: 4, alias: 'Desk mics' }),
      expect.objectContaining({ ref: 'usb-b', present: false }),
    ]);
  });

  it('refuses a report naming a device twice, and another node’s report', async () => {
    const twice = await report(east, [device('x'), device('x')]);
    expect(twice.statusCode).toBe(400);
    expect(twice.json().error.message).toMatch(/listed more than once: x/);
    const bad = await api(east.credential, 'PUT', '/nodes/east-1/interfaces', {
      interfaces: [{ ...device('y'), channels: 0 }],
    });
    expect(bad.statusCode).toBe(400);
    const other = await api(east.credential, 'PUT', '/nodes/west-1/interfaces', { interfaces: [] });
    expect(other.statusCode).toBe(404);
    const asUser = await api(owner, 'PUT', '/nodes/east-1/interfaces', { interfaces: [] });
    expect(asUser.statusCode).toBe(403);
  });

  it('validates an edit against the channel count, audits before and after, and nudges the agent', async () => {
    const node = await enrolledNode(ctl, { id: 'edit-if', site: 'east' });
    await report(node, [device('stereo', 2)]);
    const [iface] = await list('edit-if');
    const agent = await connectAsync(`mqtt://127.0.0.1:${ctl.broker.port()}`, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      username: node.nodeId,
      password: node.credential,
    });
    clients.push(agent);
    const commands: Command[] = [];
    agent.on('message', (_topic, payload) => commands.push(JSON.parse(payload.toString()) as Command));
    await agent.subscribeAsync(nodeTopic(node.nodeId, 'cmd'), { qos: 1 });
    const url = `/nodes/edit-if/interfaces/${iface!.id}`;

    const nine = await api(eastOperator, 'PATCH', url, { enabledChannels: [1, 9] });
    expect(nine.statusCode).toBe(400);
    expect(nine.json().error.message).toBe(
      'enabledChannels: 9 is not a channel of this 2-channel interface (channels are numbered 1 to 2).',
    );
    const names = await api(eastOperator, 'PATCH', url, { channelNames: ['a', 'b', 'c'] });
    expect(names.statusCode).toBe(400);
    expect(names.json().error.message).toMatch(/3 names for a 2-channel interface/);
    for (const body of [
      {},
      { enabledChannels: [0] },
      { enabledChannels: [1, 1] },
      { alias: '' },
      { colour: 'red' },
    ])
      expect((await api(eastOperator, 'PATCH', url, body)).statusCode, JSON.stringify(body)).toBe(400);
    expect(
      (await api(eastOperator, 'PATCH', '/nodes/edit-if/interfaces/nope', { alias: 'x' })).statusCode,
    ).toBe(404);
    expect(await events('node.interface.update', 'edit-if')).toEqual([]);
    expect(commands).toEqual([]);

    const ok = await api(eastOperator, 'PATCH', url, { alias: 'Booth', channelNames: ['host', 'guest'] });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().data).toMatchObject({
      alias: 'Booth',
      channelNames: ['host', 'guest'],
      enabledChannels: null,
    });
    await vi.waitFor(() => expect(commands.map((c) => c.type)).toEqual(['config-changed']), {
      timeout: 2_000,
      interval: 20,
    });
    const cleared = await api(eastOperator, 'PATCH', url, { alias: null, enabledChannels: [1, 2] });
    expect(cleared.json().data).toMatchObject({ alias: null, enabledChannels: [1, 2] });

    const [first, second] = await events('node.interface.update', 'edit-if');
    expect(first!.outcome).toBe('success');
    expect(JSON.parse(first!.before!)).toMatchObject({
      id: iface!.id,
      ref: 'stereo',
      alias: null,
      channelNames: [],
    });
    expect(JSON.parse(first!.after!)).toMatchObject({ alias: 'Booth', channelNames: ['host', 'guest'] });
    expect(JSON.parse(second!.after!)).toMatchObject({ alias: null, enabledChannels: [1, 2] });
  });

  it('hides another site’s interfaces, and a viewer cannot edit', async () => {
    const west = await ctl.db.node.findUniqueOrThrow({ where: { id: 'west-1' } });
    await ctl.db.nodeInterface.create({
      data: {
        nodeId: west.id,
        ref: 'w',
        kind: 'pulse',
        description: 'w',
        channels: 2,
        firstSeenAt: new Date(),
        lastSeenAt: new Date(),
      },
    });
    const [w] = await list('west-1');
    expect((await api(eastOperator, 'GET', '/nodes/west-1/interfaces')).statusCode).toBe(404);
    const hidden = await api(eastOperator, 'PATCH', `/nodes/west-1/interfaces/${w!.id}`, { alias: 'mine' });
    expect(hidden.statusCode).toBe(404);
    const viewer = await userWithRole(ctl, 'east-viewer', 'viewer', { type: 'site', id: east.siteId });
    await report(east, [device('e')]);
    const [e] = await list('east-1');
    expect((await api(viewer, 'GET', '/nodes/east-1/interfaces')).statusCode).toBe(200);
    expect((await api(viewer, 'PATCH', `/nodes/east-1/interfaces/${e!.id}`, { alias: 'x' })).statusCode).toBe(
      403,
    );
  });

  it('a node with interfaces can still be decommissioned and deleted', async () => {
    const node = await enrolledNode(ctl, { id: 'gone-1', site: 'east' });
    await report(node, [device('a'), device('b')]);
    expect((await api(owner, 'POST', '/nodes/gone-1/decommission')).statusCode).toBe(200);
    const removed = await api(owner, 'DELETE', '/nodes/gone-1');
    expect(removed.statusCode, removed.body).toBe(204);
    expect(await ctl.db.nodeInterface.count({ where: { nodeId: 'gone-1' } })).toBe(0);
  });
});

describe.skipIf(!(await hasPulse()))('the agent reports its PulseAudio sources', () => {
  let ctl: TestController;
  let sink: PulseSink;
  let dir: TempDir;
  let agent: Agent | undefined;
  let restoreEnv = () => {};

  beforeAll(async () => {
    dir = await tempDir('agent-interfaces');
    sink = await startPulseSink({ sampleRate: 48_000, channels: 2 });
    // pactl (like sox) takes its environment from this process.
    restoreEnv = useSinkEnv(sink);
    ctl = await testController({ mqttHost: '127.0.0.1', httpHost: '127.0.0.1' });
    await ctl.start();
    await ctl.app.listen({ port: 0, host: '127.0.0.1' });
  });

  afterAll(async () => {
    await agent?.stop();
    restoreEnv();
    await sink?.stop();
    await ctl?.stop();
    await dir?.cleanup();
  });

  it('at start, then a sink added (new) and removed (absent) while it runs', async () => {
    const owner = await ctl.ownerToken();
    const node = await enrolledNode(ctl, { id: 'pulse-1', site: 'hq' });
    const port = (ctl.app.server.address() as AddressInfo).port;
    const settings = await enrolledAgentSettings(
      dir.path,
      node,
      `http://127.0.0.1:${port}`,
      `mqtt://127.0.0.1:${ctl.broker.port()}`,
    );
    agent = testAgent(settings, { interfacePollMs: 200 });
    await agent.start();
    const interfaces = async () => {
      const response = await ctl.app.inject({
        method: 'GET',
        url: '/api/v1/nodes/pulse-1/interfaces',
        headers: bearer(owner),
      });
      return response.json().data as (InterfaceView & { kind: string; sampleRate: number })[];
    };
    await until(async () => (await interfaces()).length > 0, { what: 'the first report' });
    expect(await interfaces()).toEqual([
      expect.objectContaining({
        ref: sink.monitor,
        kind: 'pulse',
        channels: 2,
        sampleRate: 48_000,
        present: true,
      }),
    ]);

    const { stdout } = await run(
      'pactl',
      ['load-module', 'module-null-sink', 'sink_name=six', 'channels=6', 'rate=44100'],
      { env: process.env },
    );
    await until(async () => (await interfaces()).some((i) => i.ref === 'six.monitor'), {
      what: 'the added sink reported',
    });
    expect((await interfaces()).find((i) => i.ref === 'six.monitor')).toMatchObject({
      channels: 6,
      sampleRate: 44_100,
      present: true,
    });
    await run('pactl', ['unload-module', stdout.trim()], { env: process.env });
    await until(async () => (await interfaces()).find((i) => i.ref === 'six.monitor')?.present === false, {
      what: 'the removed sink marked absent',
    });
    expect((await interfaces()).find((i) => i.ref === sink.monitor)?.present).toBe(true);
  });
});
