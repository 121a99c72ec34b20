/**
 * The watchdog on a real capture: a real agent capturing (sox) from a PulseAudio null sink, a
 * real controller and broker. The tone stops → a silence event per channel within the policy's
 * time; it plays again → resolved. A tone past full scale → a clipping event. The PulseAudio
 * daemon stopped → device_lost; started again → the capture recovers and the event resolves
 * (this file's own daemon, runtime dir and socket: other files' sinks are not touched).
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../agent/src/agent.js';
import { agentDoctor } from '../../agent/src/doctor.js';
import type { AgentSettings } from '../../agent/src/state/settings.js';
import { enrolledAgentSettings, testAgent } from '../support/agent-harness.js';
import { bearer, enrolledNode, type TestController, testController } from '../support/controller.js';
import { hasPulse, type PulseSink, startPulseSink, useSinkEnv } from '../support/pulse.js';
import { type TempDir, tempDir } from '../support/tmp.js';
import { until } from '../support/until.js';

interface EventView {
  id: string;
  type: string;
  status: string;
  channel: number | null;
  firstSeenAt: string;
}

describe.skipIf(!(await hasPulse()))('agent watchdog on a PulseAudio sink', () => {
  let ctl: TestController;
  let owner: string;
  let dir: TempDir;
  let sink: PulseSink;
  let agent: Agent;
  let settings: AgentSettings;
  let restoreEnv = () => {};
  const nodeId = 'pulse-watched';

  const api = async (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) => {
    const response = await ctl.app.inject({ method, url: `/api/v1${url}`, headers: bearer(owner), payload });
    expect(response.statusCode, response.body).toBeLessThan(300);
    return response.json().data;
  };
  const events = async (type: string): Promise<EventView[]> =>
    api('GET', `/health-events?nodeId=${nodeId}&type=${type}`);

  beforeAll(async () => {
    dir = await tempDir('watchdog-pulse');
    sink = await startPulseSink({ peakDbfs: -20, hz: 997, sampleRate: 48_000, channels: 2 });
    restoreEnv = useSinkEnv(sink);
    ctl = await testController({ mqttHost: '127.0.0.1', httpHost: '127.0.0.1' });
    await ctl.start();
    await ctl.app.listen({ port: 0, host: '127.0.0.1' });
    owner = await ctl.ownerToken();
    const node = await enrolledNode(ctl, { id: nodeId, site: 'hq' });
    const policy = await api('POST', '/settings/watchdog-policies', {
      name: 'tight',
      body: { silenceDbfs: -50, silenceSeconds: 2, clipCountPerWindow: 5, clipWindowSeconds: 5 },
    });
    await api('PATCH', `/nodes/${nodeId}`, { watchdogPolicyId: policy.id });
    settings = await enrolledAgentSettings(
      dir.path,
      node,
      `http://127.0.0.1:${(ctl.app.server.address() as AddressInfo).port}`,
      `mqtt://127.0.0.1:${ctl.broker.port()}`,
      { EARSHOT_AGENT_DEVICE: sink.monitor },
    );
    agent = testAgent(settings, { createCapture: undefined }); // the real sox capture
    await agent.start();
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await ctl?.stop();
    restoreEnv();
    await sink?.stop();
    await dir?.cleanup();
  });

  it('raises silence per channel when the tone stops, within the policy time, and resolves it when it plays again', async () => {
    // The tone plays (its frames reach the controller, 3 s of them): nothing to report.
    let firstFrameAt = 0;
    await until(
      async () => {
        const { frame } = await api('GET', `/nodes/${nodeId}/meters`);
        if (!frame || frame.channels[0].rmsDbfs < -30) return false;
        firstFrameAt ||= frame.capturedAtMs;
        return frame.capturedAtMs - firstFrameAt >= 3000; // longer than the policy's 2 s
      },
      { what: 'three seconds of the tone in the meters' },
    );
    expect(await events('silence')).toEqual([]);

    const stoppedAt = Date.now();
    await sink.play(null);
    await until(async () => (await events('silence')).length === 2, {
      timeoutMs: 15_000,
      what: 'a silence event per channel',
    });
    const opened = await events('silence');
    expect(opened.map((e) => [e.channel, e.status]).sort()).toEqual([
      [1, 'open'],
      [2, 'open'],
    ]);
    // Silent from about when the tone stopped, reported once it had lasted the policy's 2 s.
    for (const e of opened) expect(Date.parse(e.firstSeenAt)).toBeGreaterThanOrEqual(stoppedAt - 1000);

    await sink.play({ peakDbfs: -20 });
    await until(async () => (await events('silence')).every((e) => e.status === 'resolved'), {
      timeoutMs: 15_000,
      what: 'the silence events to resolve',
    });
  });

  it('raises clipping when the signal passes full scale', async () => {
    await sink.play({ peakDbfs: 3 });
    await until(async () => (await events('clipping')).length > 0, {
      timeoutMs: 15_000,
      what: 'a clipping event',
    });
    expect((await events('clipping'))[0]).toMatchObject({ status: 'open' });
    await sink.play({ peakDbfs: -20 });
  });

  it('doctor: all good while the device records the tone; not when it records only silence or not at all', async () => {
    const good = await agentDoctor(settings);
    expect(good.ok, good.lines.join('\n')).toBe(true);
    expect(good.lines.join('\n')).toMatch(/mqtt: +broker answers/);
    expect(good.lines.join('\n')).toMatch(
      /capture: +\S+ records \(48000 Hz × 2 ch × 16 bit\): ch1 -2\d\.\d dBFS RMS/,
    );
    expect(good.lines.join('\n')).toMatch(/headroom: +\d/);

    await sink.play(null);
    const silent = await agentDoctor(settings);
    expect(silent.ok).toBe(false);
    expect(silent.lines.join('\n')).toContain('but only silence');
    await sink.play({ peakDbfs: -20 });

    const missing = await agentDoctor({ ...settings, deviceOverride: 'no_such_source' });
    expect(missing.ok).toBe(false);
    expect(missing.lines.join('\n')).toContain('no_such_source does NOT record');
  });

  it('raises device_lost when PulseAudio stops, and resolves it once the capture recovers on its return', async () => {
    const deliversTone = async () => {
      const { frame } = await api('GET', `/nodes/${nodeId}/meters`);
      return Boolean(frame) && Date.now() - frame.capturedAtMs < 1000 && frame.channels[0].rmsDbfs > -30;
    };
    await until(deliversTone, { timeoutMs: 15_000, what: 'the tone in the meters' });
    expect(await events('device_lost')).toEqual([]);

    await sink.stopDaemon();
    await until(async () => (await events('device_lost')).some((e) => e.status === 'open'), {
      timeoutMs: 15_000,
      what: 'a device_lost event',
    });
    const [lost, ...more] = await events('device_lost');
    expect(more).toEqual([]);
    expect(lost).toMatchObject({ status: 'open', channel: null });

    await sink.startDaemon();
    await until(deliversTone, { timeoutMs: 30_000, what: 'the capture to deliver the tone again' });
    await until(async () => (await events('device_lost')).every((e) => e.status === 'resolved'), {
      timeoutMs: 15_000,
      what: 'the device_lost event to resolve',
    });
    expect((await events('device_lost')).map((e) => e.id)).toEqual([lost!.id]);
  });
});
