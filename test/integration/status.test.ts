/**
 * `GET /api/v1/status`: nodes online (a real MQTT client as the agent), offline and recording,
 * recordings in flight and unresolved health events by severity, scoped to the caller's sites.
 */
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeTopic } from '../../shared/src/mqtt.js';
import {
  bearer,
  enrolledNode,
  type TestController,
  testController,
  userWithRole,
} from '../support/controller.js';
import { claimNext, createRecording } from '../support/recordings.js';
import { until } from '../support/until.js';

describe('status', () => {
  let ctl: TestController;
  let owner: string;
  let eastViewer: string;
  let agent: MqttClient;

  const status = async (token: string) => {
    const response = await ctl.app.inject({ url: '/api/v1/status', headers: bearer(token) });
    expect(response.statusCode, response.body).toBe(200);
    return response.json().data;
  };

  beforeAll(async () => {
    ctl = await testController({ mqttHost: '127.0.0.1' });
    await ctl.start();
    owner = await ctl.ownerToken();
    const east1 = await enrolledNode(ctl, { id: 'east-1', site: 'east' });
    await enrolledNode(ctl, { id: 'east-2', site: 'east' });
    await enrolledNode(ctl, { id: 'west-1', site: 'west' });
    eastViewer = await userWithRole(ctl, 'east-viewer', 'viewer', { type: 'site', id: east1.siteId });
    agent = await connectAsync(`mqtt://127.0.0.1:${ctl.broker.port()}`, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      username: 'east-1',
      password: east1.credential,
    });
    await agent.publishAsync(nodeTopic('east-1', 'status'), '{"state":"online"}', { qos: 1, retain: true });
    await until(() => ctl.services.nodes.onlineCount() === 1, { what: 'east-1 online' });
    await createRecording(ctl, owner, 'east-1');
    await claimNext(ctl, 'east-1', east1.credential);
    await createRecording(ctl, owner, 'west-1'); // queued: not in flight
    for (const [nodeId, severity] of [
      ['east-1', 'critical'],
      ['east-2', 'warning'],
      ['west-1', 'warning'],
    ] as const) {
      const created = await ctl.app.inject({
        method: 'POST',
        url: '/api/v1/health-events',
        headers: bearer(owner),
        payload: { nodeId, severity, message: `${severity} on ${nodeId}` },
      });
      expect(created.statusCode, created.body).toBe(201);
    }
  });

  afterAll(async () => {
    await agent?.endAsync(true);
    await ctl?.stop();
  });

  it('aggregates the whole fleet for the owner', async () => {
    expect(await status(owner)).toMatchObject({
      nodes: { total: 3, online: 1, offline: 2, recording: 1 },
      healthEvents: { info: 0, warning: 2, critical: 1 },
      recordings: { inFlight: 1 },
      version: expect.any(String),
      uptimeSeconds: expect.any(Number),
    });
  });

  it("counts only the caller's sites", async () => {
    expect(await status(eastViewer)).toMatchObject({
      nodes: { total: 2, online: 1, offline: 1, recording: 1 },
      healthEvents: { info: 0, warning: 1, critical: 1 },
      recordings: { inFlight: 1 },
    });
  });

  it('refuses anonymous callers', async () => {
    expect((await ctl.app.inject({ url: '/api/v1/status' })).statusCode).toBe(401);
  });
});
