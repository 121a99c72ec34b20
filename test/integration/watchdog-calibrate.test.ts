/**
 * Watchdog calibration through the real HTTP API, with real meter frames published over MQTT by
 * the node to the real broker: the proposal follows the frames' noise floor and clipping, the
 * policy itself is unchanged, the run is audited once; no frames is a 409; bad input is a 400;
 * a node the caller cannot read is a 404. Windows are the shortest allowed (5 s).
 */
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePayload, type MeterFrame, nodeTopic } from '../../shared/src/mqtt.js';
import { bearer, enrolledNode, type TestController, testController } from '../support/controller.js';

describe('watchdog calibration', () => {
  let ctl: TestController;
  let owner: string;
  let policyId: string;
  let publisher: MqttClient;

  const api = (token: string, method: 'GET' | 'POST', url: string, body?: unknown) =>
    ctl.app.inject({
      method,
      url: `/api/v1${url}`,
      headers: bearer(token),
      ...(body === undefined ? {} : { payload: body as object }),
    });

  beforeAll(async () => {
    ctl = await testController({ mqttHost: '127.0.0.1' });
    await ctl.start();
    owner = await ctl.ownerToken();
    const node = await enrolledNode(ctl, { id: 'cal-1', site: 'studio' });
    await enrolledNode(ctl, { id: 'quiet-1', site: 'studio' });
    publisher = await connectAsync(`mqtt://127.0.0.1:${ctl.broker.port()}`, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      username: node.nodeId,
      password: node.credential,
    });
    const created = await api(owner, 'POST', '/settings/watchdog-policies', { name: 'studio', body: {} });
    expect(created.statusCode, created.body).toBe(201);
    policyId = created.json().data.id;
  });

  afterAll(async () => {
    await publisher?.endAsync(true).catch(() => {});
    await ctl.stop();
  });

  /** 10 frames a second: a -48 dBFS room, speech at -18 dBFS every fourth window, a clipped sample every second. */
  function publishFrames(): () => void {
    let seq = 0;
    const timer = setInterval(() => {
      const loud = seq % 4 === 0;
      const frame: MeterFrame = {
        seq,
        capturedAtMs: Date.now(),
        windowMs: 100,
        sampleRate: 48_000,
        channels: [0, 1].map((c) => ({
          rmsDbfs: loud ? -18 : -48 - c,
          peakDbfs: loud ? -6 : -40,
          clipCount: c === 0 && seq % 10 === 0 ? 1 : 0,
        })),
      };
      seq++;
      publisher.publish(nodeTopic('cal-1', 'meters'), encodePayload('meters', frame), { qos: 0 });
    }, 100);
    return () => clearInterval(timer);
  }

  it('proposes levels from the node’s live frames and changes nothing; no frames is a 409', async () => {
    const before = (await api(owner, 'GET', `/settings/watchdog-policies/${policyId}`)).json().data;
    const stop = publishFrames();
    const [calibrated, silent] = await Promise.all([
      api(owner, 'POST', `/settings/watchdog-policies/${policyId}/calibrate`, {
        nodeId: 'cal-1',
        windowSeconds: 5,
      }),
      api(owner, 'POST', `/settings/watchdog-policies/${policyId}/calibrate`, {
        nodeId: 'quiet-1',
        windowSeconds: 5,
      }),
    ]);
    stop();
    expect(calibrated.statusCode, calibrated.body).toBe(200);
    const result = calibrated.json().data;
    expect(result.statistics.frames).toBeGreaterThanOrEqual(40);
    expect(result.statistics).toMatchObject({ channels: 2, rmsDbfs: { min: -49, p10: -49, max: -18 } });
    expect(result.statistics.clips.total).toBeGreaterThanOrEqual(4);
    // Silence 6 dB under the floor; twice the clipping seen per 60 s clip window, plus one.
    expect(result.proposed).toEqual({
      ...before.body,
      silenceDbfs: -55,
      clipCountPerWindow: expect.any(Number),
    });
    const perWindow = Math.ceil(result.statistics.clips.perSecond * before.body.clipWindowSeconds);
    expect(result.proposed.clipCountPerWindow).toBe(perWindow * 2 + 1);
    expect(result.current).toEqual(before.body);
    expect(result.policy).toEqual({ id: policyId, name: 'studio', revision: before.revision });

    expect(silent.statusCode).toBe(409);
    expect(silent.json().error.message).toMatch(/No meter frames arrived from node quiet-1 in 5 s/);

    const after = (await api(owner, 'GET', `/settings/watchdog-policies/${policyId}`)).json().data;
    expect(after).toEqual(before);
    const events = await ctl.db.auditEvent.findMany({
      where: { action: 'settings.watchdog_policy.calibrate', targetId: policyId },
      orderBy: { seq: 'asc' },
    });
    expect(events.map((e) => e.outcome).sort()).toEqual(['failure', 'success']);
    const success = events.find((e) => e.outcome === 'success')!;
    expect(JSON.parse(success.after!)).toMatchObject({
      nodeId: 'cal-1',
      windowSeconds: 5,
      proposed: { silenceDbfs: -55 },
    });
  });

  it('refuses bad input, an unknown policy, and a node the caller cannot read', async () => {
    const url = `/settings/watchdog-policies/${policyId}/calibrate`;
    for (const body of [
      { nodeId: 'cal-1', windowSeconds: 4 },
      { nodeId: 'cal-1', windowSeconds: 301 },
      {},
      { nodeId: 'x y' },
    ])
      expect((await api(owner, 'POST', url, body)).statusCode, JSON.stringify(body)).toBe(400);
    const unknown = await api(
      owner,
      'POST',
      '/settings/watchdog-policies/00000000-0000-4000-8000-000000000000/calibrate',
      {
        nodeId: 'cal-1',
      },
    );
    expect(unknown.statusCode).toBe(404);
    expect((await api(owner, 'POST', url, { nodeId: 'no-such-node', windowSeconds: 5 })).statusCode).toBe(
      404,
    );

    // settings:manage over the fleet, but no node:read anywhere: the node is hidden (and audited).
    await api(owner, 'POST', '/auth/roles', { name: 'tuner', permissions: ['settings:manage'] });
    await api(owner, 'POST', '/auth/users', {
      username: 'tuner',
      password: 'a perfectly long password',
      grants: [{ role: 'tuner', scope: { type: 'fleet' } }],
    });
    const login = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'tuner', password: 'a perfectly long password' },
    });
    const hidden = await api(login.json().data.token, 'POST', url, { nodeId: 'cal-1', windowSeconds: 5 });
    expect(hidden.statusCode, hidden.body).toBe(404);
    const denied = await ctl.db.auditEvent.findMany({
      where: { requestId: hidden.headers['x-request-id'] as string },
    });
    expect(denied.map((e) => e.outcome)).toEqual(['denied']);
  });
});
