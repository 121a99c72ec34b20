/**
 * Node management through the API with the real broker and real mqtt.js clients: edit
 * (with the agent's config-changed nudge), actions, exports, decommission (the connection is
 * closed within 1 s, the credential then fails on HTTP and MQTT, recordings stay), delete
 * (refused while anything is pending), and the command results agents report.
 */
import { connectAsync, type IClientOptions, type MqttClient, connect as mqttConnect } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Command, nodeTopic } from '../../shared/src/mqtt.js';
import {
  bearer,
  enrolledNode,
  type TestController,
  testController,
  userWithRole,
} from '../support/controller.js';
import { claimNext, createRecording, sha256, uploadHeaders, wavBytes } from '../support/recordings.js';

type Node = { nodeId: string; credential: string; siteId: string };

describe('node management', () => {
  let ctl: TestController;
  let owner: string;
  /** An operator over the east site only. */
  let eastOperator: string;
  let eastViewer: string;
  let mqttUrl: string;
  const clients: MqttClient[] = [];

  async function connect(node: Node, extra: IClientOptions = {}): Promise<MqttClient> {
    const client = await connectAsync(mqttUrl, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
      username: node.nodeId,
      password: node.credential,
      ...extra,
    });
    clients.push(client);
    return client;
  }

  const api = (token: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
    ctl.app.inject({
      method,
      url: `/api/v1${url}`,
      headers: bearer(token),
      ...(payload === undefined ? {} : { payload: payload as object }),
    });

  async function auditEvents(action: string, targetId?: string) {
    return ctl.db.auditEvent.findMany({
      where: { action, ...(targetId ? { targetId } : {}) },
      orderBy: { seq: 'asc' },
    });
  }

  /** The route answers 404 for an object outside the caller's scope, with one denied event. */
  async function expectHidden(
    token: string,
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    body?: unknown,
  ) {
    const before = await ctl.db.auditEvent.aggregate({ _max: { seq: true } });
    const response = await api(token, method, url, body);
    expect(response.statusCode, response.body).toBe(404);
    const denied = await ctl.db.auditEvent.findMany({
      where: { seq: { gt: before._max.seq ?? 0 }, outcome: 'denied' },
    });
    expect(denied).toHaveLength(1);
  }

  beforeAll(async () => {
    ctl = await testController({ mqttHost: '127.0.0.1' });
    await ctl.start();
    mqttUrl = `mqtt://127.0.0.1:${ctl.broker.port()}`;
    owner = await ctl.ownerToken();
    const east = await enrolledNode(ctl, { id: 'east-1', site: 'east' });
    await enrolledNode(ctl, { id: 'west-1', site: 'west' });
    eastOperator = await userWithRole(ctl, 'east-op', 'operator', { type: 'site', id: east.siteId });
    eastViewer = await userWithRole(ctl, 'east-viewer', 'viewer', { type: 'site', id: east.siteId });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
    await ctl.stop();
  });

  it('edits a node, audits before and after, and nudges its agent when its config changed', async () => {
    const node = await enrolledNode(ctl, { id: 'edit-1', site: 'east' });
    const agent = await connect(node);
    const commands: Command[] = [];
    agent.on('message', (_topic, payload) => commands.push(JSON.parse(payload.toString()) as Command));
    await agent.subscribeAsync(nodeTopic(node.nodeId, 'cmd'), { qos: 1 });

    // Labels only: the agent does not use them, so no nudge.
    const labelled = await api(eastOperator, 'PATCH', '/nodes/edit-1', {
      tags: ['studio', 'rack 2'],
      location: 'Room 101',
      notes: 'spare mic on the left',
    });
    expect(labelled.statusCode, labelled.body).toBe(200);
    expect(labelled.json().data).toMatchObject({
      tags: ['studio', 'rack 2'],
      location: 'Room 101',
      notes: 'spare mic on the left',
      decommissionedAt: null,
    });

    const renamed = await api(eastOperator, 'PATCH', '/nodes/edit-1', { name: 'Studio One', location: null });
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect(renamed.json().data).toMatchObject({
      name: 'Studio One',
      location: null,
      tags: ['studio', 'rack 2'],
    });
    await vi.waitFor(() => expect(commands.map((c) => c.type)).toEqual(['config-changed']), {
      timeout: 2_000,
      interval: 20,
    });
    const config = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/nodes/edit-1/config',
      headers: bearer(node.credential),
    });
    expect(config.json().data.name).toBe('Studio One');

    const [first, second] = await auditEvents('node.update', 'edit-1');
    expect(JSON.parse(first!.before!)).toMatchObject({ name: 'edit-1', tags: [], location: null });
    expect(JSON.parse(first!.after!)).toMatchObject({ tags: ['studio', 'rack 2'], location: 'Room 101' });
    expect(JSON.parse(second!.after!)).toMatchObject({ name: 'Studio One', location: null });
    expect(second!.outcome).toBe('success');
  });

  it('assigns a recording profile and a watchdog policy: the agent config carries them, a change nudges, a delete is refused', async () => {
    const node = await enrolledNode(ctl, { id: 'profiled-1', site: 'east' });
    const agent = await connect(node);
    const commands: Command[] = [];
    agent.on('message', (_topic, payload) => commands.push(JSON.parse(payload.toString()) as Command));
    await agent.subscribeAsync(nodeTopic(node.nodeId, 'cmd'), { qos: 1 });
    const create = async (family: string, name: string, body: object) => {
      const created = await api(owner, 'POST', `/settings/${family}`, { name, body });
      expect(created.statusCode, created.body).toBe(201);
      return created.json().data.id as string;
    };
    const profileId = await create('recording-profiles', 'flac-44k', {
      container: 'flac',
      sampleRate: 44100,
    });
    const policyId = await create('watchdog-policies', 'quiet-room', { silenceDbfs: -70 });

    const unknown = await api(eastOperator, 'PATCH', '/nodes/profiled-1', { recordingProfileId: 'nope' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.message).toContain('no recording profile with id "nope"');

    const assigned = await api(eastOperator, 'PATCH', '/nodes/profiled-1', {
      recordingProfileId: profileId,
      watchdogPolicyId: policyId,
    });
    expect(assigned.statusCode, assigned.body).toBe(200);
    expect(assigned.json().data).toMatchObject({ recordingProfileId: profileId, watchdogPolicyId: policyId });
    await vi.waitFor(() => expect(commands.map((c) => c.type)).toEqual(['config-changed']), {
      timeout: 2_000,
    });
    const configOf = async () =>
      (
        await ctl.app.inject({ url: '/api/v1/nodes/profiled-1/config', headers: bearer(node.credential) })
      ).json().data;
    expect(await configOf()).toMatchObject({
      capture: { sampleRate: 44100 },
      recordingProfile: {
        id: profileId,
        name: 'flac-44k',
        revision: 1,
        container: 'flac',
        sampleRate: 44100,
      },
      watchdogPolicy: { id: policyId, silenceDbfs: -70, silenceSeconds: 30 },
    });

    // A change to the profile reaches the nodes using it.
    const changed = await api(owner, 'PATCH', `/settings/recording-profiles/${profileId}`, {
      body: { sampleRate: 48000 },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    await vi.waitFor(() => expect(commands).toHaveLength(2), { timeout: 10_000 });
    expect(await configOf()).toMatchObject({
      capture: { sampleRate: 48000 },
      recordingProfile: { revision: 2 },
    });

    const refused = await api(owner, 'DELETE', `/settings/recording-profiles/${profileId}`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.message).toContain('node profiled-1');
    const actions = await api(owner, 'GET', `/settings/watchdog-policies/${policyId}/actions`);
    expect(actions.json().data.delete).toMatchObject({ allowed: false });

    const cleared = await api(eastOperator, 'PATCH', '/nodes/profiled-1', { recordingProfileId: null });
    expect(cleared.json().data.recordingProfileId).toBeNull();
    expect((await configOf()).recordingProfile).toBeNull();
    expect((await api(owner, 'DELETE', `/settings/recording-profiles/${profileId}`)).statusCode).toBe(204);
  });

  it('refuses a recording profile that records a capture channel the node does not have', async () => {
    await enrolledNode(ctl, { id: 'two-channels', site: 'east', channels: 2 });
    const create = async (name: string, body: object) => {
      const created = await api(owner, 'POST', '/settings/recording-profiles', { name, body });
      expect(created.statusCode, created.body).toBe(201);
      return created.json().data.id as string;
    };
    const wide = await create('channels 1 and 5', { container: 'flac', channelMap: [1, 5] });
    const refused = await api(eastOperator, 'PATCH', '/nodes/two-channels', { recordingProfileId: wide });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.message).toMatch(
      /"channels 1 and 5" does not fit this node: it records capture channel 5, but node two-channels captures 2/,
    );
    expect((await api(owner, 'GET', '/nodes/two-channels')).json().data.recordingProfileId).toBeNull();

    // A profile that fits is assigned; then it cannot be changed to one that no longer fits.
    const stereo = await create('channels 2 and 1', { channelMap: [2, 1] });
    expect(
      (await api(eastOperator, 'PATCH', '/nodes/two-channels', { recordingProfileId: stereo })).statusCode,
    ).toBe(200);
    for (const body of [{ channelMap: [1, 3] }, { channelMap: null, channels: 4 }]) {
      const changed = await api(owner, 'PATCH', `/settings/recording-profiles/${stereo}`, { body });
      expect(changed.statusCode, JSON.stringify(body)).toBe(400);
      expect(changed.json().error.message).toMatch(/but node two-channels captures 2/);
    }
    expect(
      (await api(owner, 'PATCH', `/settings/recording-profiles/${stereo}`, { body: { channelMap: [1] } }))
        .statusCode,
    ).toBe(200);
  });

  it('moves a node to another site by name, only into a site the caller manages', async () => {
    await enrolledNode(ctl, { id: 'move-1', site: 'east' });
    const refused = await api(eastOperator, 'PATCH', '/nodes/move-1', { site: 'west' });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.message).toMatch(/node:manage there/);
    const brandNew = await api(eastOperator, 'PATCH', '/nodes/move-1', { site: 'north' });
    expect(brandNew.statusCode).toBe(403);
    expect(await ctl.db.site.findUnique({ where: { name: 'north' } })).toBeNull();

    const moved = await api(owner, 'PATCH', '/nodes/move-1', { site: 'west' });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(moved.json().data.site.name).toBe('west');
    // Now outside the east operator's scope.
    expect((await api(eastOperator, 'GET', '/nodes/move-1')).statusCode).toBe(404);
    const created = await api(owner, 'PATCH', '/nodes/move-1', { site: 'north' });
    expect(created.json().data.site.name).toBe('north');
  });

  it('refuses bad edits with a 400 that says what is wrong, and hides other sites’ nodes', async () => {
    for (const body of [
      {},
      { tags: ['a', 'a'] },
      { tags: [' padded'] },
      { tags: [''] },
      { name: '' },
      { site: '' },
      { colour: 'red' },
      { tags: 'studio' },
    ]) {
      const response = await api(owner, 'PATCH', '/nodes/east-1', body);
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      expect(response.json().error.message).toBeTruthy();
    }
    await expectHidden(eastOperator, 'PATCH', '/nodes/west-1', { notes: 'x' });
    // A viewer holds node:read, not node:manage.
    expect((await api(eastViewer, 'PATCH', '/nodes/east-1', { notes: 'x' })).statusCode).toBe(403);
  });

  it('lists what the caller can do with a node now, with reasons', async () => {
    const asOperator = await api(eastOperator, 'GET', '/nodes/east-1/actions');
    expect(asOperator.statusCode).toBe(200);
    expect(asOperator.json().data).toEqual({
      update: { allowed: true, reason: null },
      rotateCredential: { allowed: true, reason: null },
      decommission: { allowed: true, reason: null },
      delete: { allowed: false, reason: 'decommission the node first' },
      record: { allowed: true, reason: null },
      lifecycle: { allowed: true, reason: null },
    });
    const asViewer = (await api(eastViewer, 'GET', '/nodes/east-1/actions')).json().data;
    expect(asViewer.update).toEqual({ allowed: false, reason: 'needs node:manage on this node' });
    expect(asViewer.lifecycle).toEqual({ allowed: false, reason: 'needs node:manage on this node' });
    expect(asViewer.record).toEqual({ allowed: false, reason: 'needs recording:create on this node' });
    expect((await api(owner, 'GET', '/nodes/not_a!valid/actions')).statusCode).toBe(400);
    expect((await api(owner, 'GET', '/nodes/no-such-node/actions')).statusCode).toBe(404);
    await expectHidden(eastOperator, 'GET', '/nodes/west-1/actions');
  });

  it('exports the nodes the caller may see as CSV or NDJSON, audited once per export', async () => {
    const before = (await auditEvents('node.export')).length;
    const csv = await api(eastViewer, 'GET', '/nodes/export?format=csv');
    expect(csv.statusCode, csv.body).toBe(200);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.headers['content-disposition']).toMatch(/attachment; filename="nodes-.*\.csv"/);
    const [header, ...lines] = csv.body.trim().split('\n');
    expect(header).toBe(
      'id,name,site,tags,location,notes,enrolled,online,lastSeenAt,agentVersion,captureDevice,' +
        'sampleRate,channels,decommissionedAt,createdAt',
    );
    expect(lines.some((l) => l.startsWith('east-1,'))).toBe(true);
    expect(csv.body).not.toContain('west-1');

    const filtered = await api(owner, 'GET', '/nodes/export?site=west');
    const ids = filtered.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).id as string);
    expect(ids).toEqual(['west-1']);

    const selected = await api(eastViewer, 'POST', '/nodes/export', {
      ids: ['east-1', 'west-1'],
      format: 'ndjson',
    });
    expect(selected.statusCode).toBe(200);
    expect(
      selected.body
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual(['east-1']);

    const events = await auditEvents('node.export');
    expect(events).toHaveLength(before + 3);
    expect(JSON.parse(events.at(-1)!.after!)).toEqual({ count: 1, format: 'ndjson' });

    expect((await api(owner, 'GET', '/nodes/export?format=xml')).statusCode).toBe(400);
    expect((await api(owner, 'POST', '/nodes/export', { ids: [] })).statusCode).toBe(400);
    expect((await api(owner, 'POST', '/nodes/export', { ids: ['bad id!'] })).statusCode).toBe(400);
    expect((await api(eastOperator, 'GET', '/nodes/export?site=west')).body).toBe('');
  });

  it('records the command results an agent reports, warns on failures, ignores malformed ones', async () => {
    const node = await enrolledNode(ctl, { id: 'results-1', site: 'east' });
    const warn = vi.spyOn(ctl.app.log, 'warn');
    const agent = await connect(node);
    const topic = nodeTopic(node.nodeId, 'cmd-result');
    await agent.publishAsync(topic, JSON.stringify({ id: 'c-1', ok: true }), { qos: 1 });
    await agent.publishAsync(
      topic,
      JSON.stringify({ id: 'c-2', ok: false, message: 'listen-start is not supported' }),
      {
        qos: 1,
      },
    );
    // Malformed: refused (dropped), never recorded, and the connection stays.
    await agent.publishAsync(topic, JSON.stringify({ id: 'c-3', ok: 'yes' }), { qos: 1 });
    await agent.publishAsync(topic, 'not json', { qos: 1 });
    await agent.publishAsync(topic, JSON.stringify({ id: 'c-4', ok: true, extra: 1 }), { qos: 1 });
    expect(agent.connected).toBe(true);

    const results = await api(eastViewer, 'GET', '/nodes/results-1/command-results');
    expect(results.statusCode).toBe(200);
    expect(results.json().data).toMatchObject([
      { id: 'c-2', ok: false, message: 'listen-start is not supported' },
      { id: 'c-1', ok: true, message: null },
    ]);
    expect(warn).toHaveBeenCalledWith(
      { nodeId: 'results-1', commandId: 'c-2', message: 'listen-start is not supported' },
      'agent reports a command failed',
    );
    expect(warn.mock.calls.filter(([, msg]) => msg === 'agent reports a command failed')).toHaveLength(1);
    warn.mockRestore();
    await expectHidden(eastOperator, 'GET', '/nodes/west-1/command-results');
  });

  it('decommissions: closes the MQTT connection within 1 s, the credential fails everywhere, recordings stay', async () => {
    const node = await enrolledNode(ctl, { id: 'retire-1', site: 'east' });
    const recording = await createRecording(ctl, owner, node.nodeId, { durationSeconds: 5 });
    const agent = await connect(node);
    let closedAt: number | undefined;
    agent.once('close', () => {
      closedAt = Date.now();
    });
    expect(agent.connected).toBe(true);

    await expectHidden(eastOperator, 'POST', '/nodes/west-1/decommission');
    const sentAt = Date.now();
    const retired = await api(eastOperator, 'POST', '/nodes/retire-1/decommission');
    expect(retired.statusCode, retired.body).toBe(200);
    await vi.waitFor(() => expect(closedAt).toBeDefined(), { timeout: 1_000, interval: 10 });
    expect(closedAt! - sentAt).toBeLessThanOrEqual(1_000);
    expect(retired.json().data.decommissionedAt).toEqual(expect.any(String));

    const http = await ctl.app.inject({
      method: 'GET',
      url: '/api/v1/nodes/retire-1/config',
      headers: bearer(node.credential),
    });
    expect(http.statusCode).toBe(401);
    await expect(connect(node)).rejects.toMatchObject({ code: 4 });

    const shown = (await api(owner, 'GET', '/nodes/retire-1')).json().data;
    expect(shown.decommissionedAt).toBe(retired.json().data.decommissionedAt);
    expect((await api(owner, 'GET', `/recordings/${recording.id}`)).statusCode).toBe(200);
    // Retired for good: no second decommission, no new credential, no new recording.
    expect((await api(owner, 'POST', '/nodes/retire-1/decommission')).statusCode).toBe(409);
    expect((await api(owner, 'POST', '/nodes/retire-1/credentials/rotate')).statusCode).toBe(409);
    expect(
      (await api(owner, 'POST', '/recordings', { nodeId: 'retire-1', durationSeconds: 5 })).statusCode,
    ).toBe(409);
    const actions = (await api(owner, 'GET', '/nodes/retire-1/actions')).json().data;
    expect(actions.decommission).toEqual({ allowed: false, reason: 'already decommissioned' });
    expect(actions.record).toEqual({ allowed: false, reason: 'the node is decommissioned' });
    expect(actions.lifecycle).toEqual({ allowed: false, reason: 'the node is decommissioned' });
    // And the lifecycle route says so too.
    const asked = await api(owner, 'POST', '/nodes/retire-1/lifecycle/restart-agent');
    expect(asked.statusCode).toBe(409);
    expect(asked.json().error.message).toMatch(/decommissioned/);
    const [event] = await auditEvents('node.decommission', 'retire-1');
    expect(JSON.parse(event!.after!)).toMatchObject({ credential: 'revoked' });
  });

  it('closes a connection whose credential check began before the decommission', async () => {
    const node = await enrolledNode(ctl, { id: 'race-1', site: 'east' });
    // Hold the node's credential check after its database read until the node is decommissioned.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const nodes = ctl.services.nodes;
    const original = nodes.authenticate.bind(nodes);
    const spy = vi.spyOn(nodes, 'authenticate').mockImplementation(async (credential) => {
      const result = await original(credential);
      if (credential === node.credential) await gate;
      return result;
    });
    try {
      const client = mqttConnect(mqttUrl, {
        protocolVersion: 4,
        reconnectPeriod: 0,
        connectTimeout: 5_000,
        username: node.nodeId,
        password: node.credential,
      });
      clients.push(client);
      let closed = false;
      client.once('close', () => {
        closed = true;
      });
      await vi.waitFor(() => expect(spy).toHaveBeenCalledWith(node.credential), {
        timeout: 2_000,
        interval: 10,
      });
      expect((await api(owner, 'POST', '/nodes/race-1/decommission')).statusCode).toBe(200);
      release();
      await vi.waitFor(() => expect(closed).toBe(true), { timeout: 1_000, interval: 10 });
    } finally {
      release();
      spy.mockRestore();
    }
  });

  it('deletes only a decommissioned node with nothing pending, naming what still is', async () => {
    await enrolledNode(ctl, { id: 'gone-1', site: 'east' });
    const inService = await api(owner, 'DELETE', '/nodes/gone-1');
    expect(inService.statusCode).toBe(409);
    expect(inService.json().error.message).toMatch(/decommission it before deleting it/);

    const schedule = await api(owner, 'POST', '/schedules', {
      name: 'daily on gone-1',
      recurrence: 'RRULE:FREQ=DAILY',
      timeZone: 'UTC',
      start: '2030-01-01T09:00',
      durationSeconds: 60,
      targets: [{ nodeId: 'gone-1' }],
    });
    expect(schedule.statusCode, schedule.body).toBe(201);
    expect((await api(owner, 'POST', '/nodes/gone-1/decommission')).statusCode).toBe(200);
    await expectHidden(eastOperator, 'DELETE', '/nodes/west-1');
    const pending = await api(eastOperator, 'DELETE', '/nodes/gone-1');
    expect(pending.statusCode).toBe(409);
    expect(pending.json().error.message).toMatch(/1 schedule targets it/);
    expect((await api(owner, 'GET', '/nodes/gone-1/actions')).json().data.delete).toEqual({
      allowed: false,
      reason: '1 schedule targets it: remove it from them',
    });

    expect((await api(owner, 'DELETE', `/schedules/${schedule.json().data.id}`)).statusCode).toBe(204);
    const deleted = await api(eastOperator, 'DELETE', '/nodes/gone-1');
    expect(deleted.statusCode, deleted.body).toBe(204);
    expect((await api(owner, 'GET', '/nodes/gone-1')).statusCode).toBe(404);
    const [event] = await auditEvents('node.delete', 'gone-1');
    expect(event!.outcome).toBe('success');
    expect(JSON.parse(event!.before!)).toMatchObject({ name: 'gone-1', site: 'east' });
  });

  it('keeps a node whose recordings hold audio; one with only empty recordings goes, with them', async () => {
    const kept = await enrolledNode(ctl, { id: 'kept-1', site: 'east' });
    const recorded = await createRecording(ctl, owner, kept.nodeId, { durationSeconds: 5 });
    const { lease } = await claimNext(ctl, kept.nodeId, kept.credential);
    const bytes = wavBytes(4_800);
    const upload = await ctl.app.inject({
      method: 'PUT',
      url: `/api/v1/recordings/${recorded.id}/cache-file`,
      headers: uploadHeaders(kept.credential, lease!.epoch, sha256(bytes), bytes.length),
      payload: bytes,
    });
    expect(upload.statusCode, upload.body).toBeLessThan(300);
    expect((await api(owner, 'POST', '/nodes/kept-1/decommission')).statusCode).toBe(200);
    const refused = await api(owner, 'DELETE', '/nodes/kept-1');
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.message).toMatch(/1 recording is kept with it/);
    expect((await api(owner, 'GET', `/recordings/${recorded.id}/file`)).statusCode).toBe(200);

    const empty = await enrolledNode(ctl, { id: 'empty-1', site: 'east' });
    const queued = await createRecording(ctl, owner, empty.nodeId, { durationSeconds: 5 });
    expect((await api(owner, 'POST', '/nodes/empty-1/decommission')).statusCode).toBe(200);
    const pending = await api(owner, 'DELETE', '/nodes/empty-1');
    expect(pending.statusCode).toBe(409);
    expect(pending.json().error.message).toMatch(/1 recording job is still pending \(1 queued\): stop/);
    // Stopped while queued: cancelled, no audio. It goes with the node.
    expect((await api(owner, 'POST', `/recordings/${queued.id}/stop`)).statusCode).toBe(200);
    expect((await api(owner, 'DELETE', '/nodes/empty-1')).statusCode).toBe(204);
    expect((await api(owner, 'GET', `/recordings/${queued.id}`)).statusCode).toBe(404);
    const [event] = await auditEvents('node.delete', 'empty-1');
    expect(JSON.parse(event!.after!)).toEqual({ recordingsWithoutAudioRemoved: 1 });
  });
});
