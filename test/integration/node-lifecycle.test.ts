/**
 * Node lifecycle actions end to end: a real agent (fake sound card) against a real controller
 * and broker. Each allowlisted action goes queued → sent → succeeded over MQTT `cmd` and
 * `cmd-result`; an action off the list is refused by the controller, and by the agent when
 * forged on its topic; an agent offline when asked gets the action when it returns, unless it
 * expired; a sent action nobody answers times out. Rotating the credential leaves the agent on a
 * new one and the old one refused; diagnostics come back as a file without secrets.
 */
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../agent/src/agent.js';
import type { AgentSettings } from '../../agent/src/state/settings.js';
import {
  enrolledAgentSettings,
  fakeCards,
  type NetworkSwitch,
  networkSwitch,
  testAgent,
} from '../support/agent-harness.js';
import { bearer, enrolledNode, type TestController, testController } from '../support/controller.js';
import { type TempDir, tempDir } from '../support/tmp.js';
import { until } from '../support/until.js';

interface JobView {
  id: string;
  action: string;
  state: string;
  message: string | null;
  sentAt: string | null;
  hasDiagnostics: boolean;
}

describe('node lifecycle actions', () => {
  let ctl: TestController;
  let owner: string;
  let dir: TempDir;
  let agent: Agent;
  let settings: AgentSettings;
  let mqtt: NetworkSwitch;
  let credential: string;
  const cards = fakeCards();
  const captures = cards.captures;
  const nodeId = 'managed-1';

  const call = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object, token = owner) =>
    ctl.app.inject({ method, url: `/api/v1${url}`, headers: bearer(token), payload });
  const ask = async (action: string): Promise<JobView> => {
    const response = await call('POST', `/nodes/${nodeId}/lifecycle/${action}`);
    expect(response.statusCode, response.body).toBe(202);
    return response.json().data;
  };
  const job = async (id: string): Promise<JobView> =>
    (await call('GET', `/nodes/${nodeId}/lifecycle-jobs/${id}`)).json().data;
  const ended = async (id: string): Promise<JobView> => {
    let view: JobView | undefined;
    await until(
      async () => {
        view = await job(id);
        return !['queued', 'sent'].includes(view.state);
      },
      { what: `lifecycle job ${id} to end` },
    ).catch((error: unknown) => {
      const presence = `connected: ${ctl.services.nodes.connected(nodeId)}`;
      throw new Error(`${String(error)} (last seen: ${JSON.stringify(view)}; ${presence})`);
    });
    return view!;
  };
  const connected = (online: boolean) =>
    until(() => ctl.services.nodes.connected(nodeId) === online, {
      what: `the agent to be ${online ? 'connected' : 'disconnected'}`,
    });

  beforeAll(async () => {
    ctl = await testController({ mqttHost: '127.0.0.1', httpHost: '127.0.0.1' });
    await ctl.start();
    await ctl.app.listen({ port: 0, host: '127.0.0.1' });
    owner = await ctl.ownerToken();
    dir = await tempDir('node-lifecycle');
    mqtt = await networkSwitch(ctl.broker.port()!);
    const node = await enrolledNode(ctl, { id: nodeId, site: 'hq', sampleRate: 8000 });
    credential = node.credential;
    settings = await enrolledAgentSettings(
      dir.path,
      node,
      `http://127.0.0.1:${(ctl.app.server.address() as AddressInfo).port}`,
      `mqtt://127.0.0.1:${mqtt.port}`,
    );
    agent = testAgent(settings, {
      syncIntervalMs: 3_600_000,
      createCapture: cards.createCapture,
    });
    await agent.start();
    await connected(true);
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await mqtt?.close();
    await ctl?.stop();
    await dir?.cleanup();
  });

  it('restart-capture: sent at once, answered, and the capture starts again', async () => {
    const before = captures.length;
    const asked = await ask('restart-capture');
    expect(asked).toMatchObject({ action: 'restart-capture', state: 'sent' });
    const done = await ended(asked.id);
    expect(done).toMatchObject({ state: 'succeeded', message: expect.stringMatching(/capture restarted/) });
    expect(captures.length).toBe(before + 1);
  });

  it('reload-config: the agent fetches its config again', async () => {
    // Renamed behind the API's back: no config-changed nudge, only the action brings it.
    await ctl.db.node.update({ where: { id: nodeId }, data: { name: 'renamed quietly' } });
    const done = await ended((await ask('reload-config')).id);
    expect(done).toMatchObject({ state: 'succeeded', message: 'config reloaded' });
    expect(agent.nodeConfig?.name).toBe('renamed quietly');
  });

  it('upload-now: answered with what it started', async () => {
    const done = await ended((await ask('upload-now')).id);
    expect(done).toMatchObject({ state: 'succeeded', message: 'nothing to upload' });
  });

  it('collect-diagnostics: a file with version, config, devices, disk and the last log lines, no secret', async () => {
    const done = await ended((await ask('collect-diagnostics')).id);
    expect(done).toMatchObject({ state: 'succeeded', hasDiagnostics: true });
    const listed: JobView[] = (await call('GET', `/nodes/${nodeId}/lifecycle-jobs`)).json().data;
    expect(listed.find((row) => row.id === done.id)).toMatchObject({ hasDiagnostics: true });
    expect(listed.filter((row) => row.id !== done.id).every((row) => !row.hasDiagnostics)).toBe(true);
    const file = await call('GET', `/nodes/${nodeId}/lifecycle-jobs/${done.id}/diagnostics`);
    expect(file.statusCode, file.body).toBe(200);
    expect(file.headers['content-disposition']).toMatch(/attachment; filename=".*diagnostics\.json"/);
    const diagnostics = file.json();
    expect(diagnostics).toMatchObject({
      agentVersion: expect.any(String),
      config: { nodeId, name: 'renamed quietly' },
      capture: { state: expect.any(String) },
      disk: { freeBytes: expect.any(Number), totalBytes: expect.any(Number) },
      pendingUploads: 0,
    });
    expect(diagnostics.logLines.some((line: string) => line.includes('command received'))).toBe(true);
    const secret = credential.split('.')[1]!;
    expect(file.body).not.toContain(secret);
  });

  it('refuses an action off the allowlist: at the route, and in the agent when forged on its topic', async () => {
    const refused = await call('POST', `/nodes/${nodeId}/lifecycle/format-disk`);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.message).toMatch(/not a lifecycle action: use one of restart-agent, /);
    expect((await call('GET', `/nodes/${nodeId}/lifecycle-jobs`)).json().data).not.toContainEqual(
      expect.objectContaining({ action: 'format-disk' }),
    );

    await ctl.broker.publishToNode(nodeId, 'cmd', {
      id: 'forged-1',
      type: 'lifecycle',
      args: { action: 'format-disk' },
    });
    await until(() => ctl.services.commandResults.of(nodeId).some((r) => r.id === 'forged-1'), {
      what: "the agent's answer to the forged command",
    });
    expect(ctl.services.commandResults.of(nodeId).find((r) => r.id === 'forged-1')).toMatchObject({
      ok: false,
      message: expect.stringMatching(/not on this agent's lifecycle allowlist/),
    });
  });

  it('an agent offline when asked gets the action when it returns; an expired one is never sent', async () => {
    await mqtt.down();
    await connected(false);
    const waiting = await ask('reload-config');
    const expired = await ask('restart-capture');
    expect([waiting.state, expired.state]).toEqual(['queued', 'queued']);
    await ctl.db.nodeLifecycleJob.update({
      where: { id: expired.id },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    await ctl.services.lifecycle.sweep();
    expect(await job(expired.id)).toMatchObject({
      state: 'timed_out',
      message: expect.stringMatching(/^not sent/),
    });

    const capturesBefore = captures.length;
    await mqtt.up();
    expect(await ended(waiting.id)).toMatchObject({ state: 'succeeded', message: 'config reloaded' });
    expect(await job(expired.id)).toMatchObject({ state: 'timed_out', sentAt: null });
    expect(captures.length).toBe(capturesBefore);
  });

  it('times out a sent action the agent does not answer', async () => {
    const sent = await ctl.db.nodeLifecycleJob.create({
      data: {
        id: 'lc-unanswered',
        nodeId,
        action: 'upload-now',
        state: 'sent',
        requestedBy: 'test',
        sentAt: new Date(Date.now() - 10 * 60_000),
        expiresAt: new Date(Date.now() + 60_000),
      },
    });
    await ctl.services.lifecycle.sweep();
    expect(await job(sent.id)).toMatchObject({
      state: 'timed_out',
      message: expect.stringMatching(/did not answer within 120 s/),
    });
  });

  it('sends an unanswered action again when the agent comes back (it may have gone to a closing connection)', async () => {
    await ctl.db.nodeLifecycleJob.create({
      data: {
        id: 'lc-lost-on-the-way',
        nodeId,
        action: 'upload-now',
        state: 'sent',
        requestedBy: 'test',
        sentAt: new Date(),
        expiresAt: new Date(Date.now() + 60_000),
      },
    });
    await mqtt.down();
    await connected(false);
    await mqtt.up();
    expect(await ended('lc-lost-on-the-way')).toMatchObject({ state: 'succeeded' });
  });

  it('sends an action still unanswered after a sweep interval again to the connected agent', async () => {
    await ctl.db.nodeLifecycleJob.create({
      data: {
        id: 'lc-lost-while-connected',
        nodeId,
        action: 'upload-now',
        state: 'sent',
        requestedBy: 'test',
        sentAt: new Date(Date.now() - 8000),
        expiresAt: new Date(Date.now() + 60_000),
      },
    });
    await ctl.services.lifecycle.sweep();
    expect(await ended('lc-lost-while-connected')).toMatchObject({ state: 'succeeded' });
  });

  it('rotate-credential: the agent moves to a new credential and the old one is refused', async () => {
    const done = await ended((await ask('rotate-credential')).id);
    expect(done).toMatchObject({ state: 'succeeded' });
    const stored = JSON.parse(await readFile(settings.statePath, 'utf8')) as { credential: string };
    expect(stored.credential).not.toBe(credential);
    // The agent restarts with it; its first use makes it the node's only credential.
    await until(
      async () => (await call('GET', `/nodes/${nodeId}/config`, undefined, credential)).statusCode === 401,
      { what: 'the old credential to be refused' },
    );
    expect((await call('GET', `/nodes/${nodeId}/config`, undefined, stored.credential)).statusCode).toBe(200);
    // The restart under way (the new credential is in use) has finished: every part runs again.
    await until(() => agent.parts !== undefined, { what: 'the agent to finish restarting' });
    await connected(true);
    const audit = await call('GET', '/audit-events?limit=200');
    const actions = (audit.json().data as { action: string }[]).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['node.credential_issue', 'node.credential_adopt']));
    credential = stored.credential;
  });

  it('restart-agent: answered, then the agent goes away and comes back', async () => {
    let wentAway = false;
    const watch = setInterval(() => {
      if (!ctl.services.nodes.connected(nodeId)) wentAway = true;
    }, 5);
    try {
      const done = await ended((await ask('restart-agent')).id);
      expect(done).toMatchObject({ state: 'succeeded', message: 'agent restarting' });
      await until(() => wentAway, { what: 'the agent to disconnect for its restart' });
      await connected(true);
    } finally {
      clearInterval(watch);
    }
    // Still working after the restart: a new action is answered.
    expect(await ended((await ask('upload-now')).id)).toMatchObject({ state: 'succeeded' });
  });

  it('refuses bad input on the agent routes: no such job, another node, oversized diagnostics', async () => {
    const noJob = await call('POST', `/nodes/${nodeId}/credential`, { jobId: 'lc-nothing' }, credential);
    expect(noJob.statusCode).toBe(409);
    const other = await enrolledNode(ctl, { id: 'managed-2', site: 'hq' });
    const crossNode = await call(
      'POST',
      `/nodes/${nodeId}/credential`,
      { jobId: 'lc-nothing' },
      other.credential,
    );
    expect([403, 404]).toContain(crossNode.statusCode);
    const oversized = await ctl.app.inject({
      method: 'PUT',
      url: `/api/v1/nodes/${nodeId}/lifecycle-jobs/lc-x/diagnostics`,
      headers: { ...bearer(credential), 'content-type': 'application/json' },
      payload: JSON.stringify({ logLines: ['x'.repeat(2 * 1024 * 1024)] }),
    });
    expect(oversized.statusCode).toBe(413);
    const malformed = await call(
      'PUT',
      `/nodes/${nodeId}/lifecycle-jobs/lc-x/diagnostics`,
      { nope: 1 },
      credential,
    );
    expect(malformed.statusCode).toBe(400);
    const unknownJob = await call(
      'PUT',
      `/nodes/${nodeId}/lifecycle-jobs/lc-x/diagnostics`,
      {
        agentVersion: '1',
        collectedAt: new Date().toISOString(),
        config: {},
        logLines: [],
        devices: [],
        capture: { device: 'd', state: 'idle' },
        disk: { freeBytes: 1, totalBytes: 2 },
        pendingUploads: 0,
      },
      credential,
    );
    expect(unknownJob.statusCode).toBe(409);
  });
});
