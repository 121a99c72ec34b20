/**
 * Recording profiles applied by a running agent: a profile assigned to a node reaches its agent
 * by the MQTT `config-changed` nudge within 2 s (the agent's own config poll is an hour away),
 * and the next recording has the profile's format (FLAC, sample rate, channel map), decoded with
 * sox to check every sample; a 24-bit profile keeps every bit in WAV and FLAC. Then FLAC against
 * WAV on a real capture (PulseAudio null sink): two recordings of the same capture, one of each,
 * decode to exactly the same samples; and a 24-bit capture through sox.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../agent/src/agent.js';
import { PcmTap } from '../../agent/src/capture/pcm-tap.js';
import { CaptureSupervisor } from '../../agent/src/capture/supervisor.js';
import { WAV_HEADER_BYTES } from '../../agent/src/capture/wav-writer.js';
import { Recording } from '../../agent/src/jobs/recording.js';
import { silentLogger } from '../../agent/src/support/log.js';
import { audioFacts } from '../../controller/src/modules/recordings/audio-facts.js';
import { enrolledAgentSettings, fakeFrameOf, testAgent } from '../support/agent-harness.js';
import { bearer, enrolledNode, type TestController, testController } from '../support/controller.js';
import { ebur128, hasFfmpeg } from '../support/ffmpeg.js';
import { hasPulse, type PulseSink, startPulseSink, useSinkEnv } from '../support/pulse.js';
import { type TempDir, tempDir } from '../support/tmp.js';
import { until } from '../support/until.js';

const run = promisify(execFile);
/** ffmpeg's ebur128, to cross-check the loudness measured while recording. */
const withFfmpeg = await hasFfmpeg();

/** `sox FILE -t raw` as signed 16-bit little-endian samples. */
async function decodedSamples(path: string): Promise<Buffer> {
  const { stdout } = await run('sox', [path, '-t', 'raw', '-e', 'signed-integer', '-b', '16', '-L', '-'], {
    encoding: 'buffer',
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

describe('recording profiles and channel maps on a running agent', () => {
  let ctl: TestController;
  let owner: string;
  let agent: Agent;
  let dir: TempDir;
  const agents: Agent[] = [];
  const nodeId = 'profiled-agent';

  const api = async (method: 'GET' | 'POST' | 'PATCH' | 'PUT', url: string, payload?: object) => {
    const response = await ctl.app.inject({ method, url: `/api/v1${url}`, headers: bearer(owner), payload });
    expect(response.statusCode, response.body).toBeLessThan(300);
    return response.json().data;
  };

  /** Waits for a recording to complete and answers it with its downloaded file. */
  async function completed(recordingId: string) {
    let view: {
      state: string;
      title: string;
      container: string;
      sampleRate: number;
      channels: number;
      bitDepth: number | null;
      durationMs: number;
    };
    await until(
      async () => {
        view = await api('GET', `/recordings/${recordingId}`);
        return view.state === 'completed';
      },
      { timeoutMs: 30_000, what: 'the recording to complete' },
    );
    const file = await ctl.app.inject({
      url: `/api/v1/recordings/${recordingId}/file`,
      headers: bearer(owner),
    });
    expect(file.statusCode).toBe(200);
    const path = join(dir.path, `${recordingId}.${view!.container}`);
    await writeFile(path, file.rawPayload);
    return { view: view!, path, contentType: file.headers['content-type'] };
  }

  /** Records `seconds` ad hoc and answers the completed recording and its file. */
  async function record(seconds: number) {
    const created = await api('POST', '/recordings', { nodeId, durationSeconds: seconds });
    return completed(created.id);
  }

  /** Enrolls a node capturing `sampleRate` × `channels` from the fake card and starts its agent. */
  async function startAgent(
    id: string,
    sampleRate: number,
    channels: number,
    beforeStart?: (credential: string) => Promise<void>,
  ): Promise<Agent> {
    const node = await enrolledNode(ctl, { id, site: 'hq', sampleRate, channels });
    await beforeStart?.(node.credential);
    const controllerUrl = `http://127.0.0.1:${(ctl.app.server.address() as AddressInfo).port}`;
    const settings = await enrolledAgentSettings(
      join(dir.path, id),
      node,
      controllerUrl,
      `mqtt://127.0.0.1:${ctl.broker.port()}`,
    );
    // The agent's own config refresh is an hour away: only the nudge can bring a change in time.
    const started = testAgent(settings, { syncIntervalMs: 3_600_000 });
    agents.push(started);
    await started.start();
    await until(() => ctl.services.nodes.onlineCount() === agents.length, {
      what: 'the agent to connect over MQTT',
    });
    return started;
  }

  beforeAll(async () => {
    ctl = await testController({ mqttHost: '127.0.0.1', httpHost: '127.0.0.1' });
    await ctl.start();
    await ctl.app.listen({ port: 0, host: '127.0.0.1' });
    owner = await ctl.ownerToken();
    dir = await tempDir('recording-profiles');
    agent = await startAgent(nodeId, 16_000, 2);
  }, 60_000);

  afterAll(async () => {
    for (const started of agents) await started.stop();
    await ctl?.stop();
    await dir?.cleanup();
  });

  it('records WAV at the capture format with no profile, with its loudness measured while recording', async () => {
    const { view, path, contentType } = await record(1);
    expect(view).toMatchObject({
      container: 'wav',
      sampleRate: 16_000,
      channels: 2,
      bitDepth: 16,
      durationMs: 1000,
    });
    const loudness = (view as unknown as { loudness: { integratedLufs: number; truePeakDbtp: number } })
      .loudness;
    expect(loudness).toMatchObject({ integratedLufs: expect.any(Number), truePeakDbtp: expect.any(Number) });
    if (withFfmpeg) {
      const reference = await ebur128(path);
      // (The fake card's sawtooth jumps once a period: true peak there says more about each
      // meter's interpolator than about the signal, so only the loudness is compared.)
      expect(Math.abs(loudness.integratedLufs - reference.integratedLufs)).toBeLessThanOrEqual(0.15);
    }
    expect(contentType).toBe('audio/wav');
    expect(audioFacts(await readFile(path), (await readFile(path)).length)).toMatchObject({
      container: 'wav',
    });
  });

  it('applies a profile within 2 s of the change, and the next recording is FLAC at its rate and channel map', async () => {
    const profile = await api('POST', '/settings/recording-profiles', {
      name: 'mono-flac-8k',
      body: { container: 'flac', sampleRate: 8000, channelMap: [2] },
    });
    const changedAt = Date.now();
    await api('PATCH', `/nodes/${nodeId}`, { recordingProfileId: profile.id });
    await until(() => agent.nodeConfig?.recordingProfile?.container === 'flac', {
      timeoutMs: 2000,
      intervalMs: 10,
      what: 'the agent to apply the profile',
    });
    expect(Date.now() - changedAt).toBeLessThan(2000);
    // The agent answers the command once it has applied the config (capture restarted at 8 kHz).
    await until(
      async () =>
        ((await api('GET', `/nodes/${nodeId}/command-results`)) as { ok: boolean }[]).some((r) => r.ok),
      { what: 'the config-changed command result' },
    );

    const { view, path, contentType } = await record(1);
    expect(view).toMatchObject({ container: 'flac', sampleRate: 8000, channels: 1, durationMs: 1000 });
    expect(contentType).toBe('audio/flac');
    expect((await readFile(path)).subarray(0, 4).toString('latin1')).toBe('fLaC');
    // Every sample is capture channel 2 (the fake card's channel 1, 0-based), frame after frame.
    const samples = await decodedSamples(path);
    expect(samples.length).toBe(8000 * 2);
    const first = fakeFrameOf(samples.readInt16LE(0), 1);
    for (let i = 0; i < 8000; i++) {
      expect(fakeFrameOf(samples.readInt16LE(i * 2), 1)).toBe((first + i) % 8000);
    }
  });

  it('splits one 4-channel capture by a channel map into two 2-channel recordings, each channel carrying its input', async () => {
    await startAgent('quad-agent', 8000, 4);
    const template = await api('POST', '/settings/channel-map-templates', {
      name: 'front-rear',
      body: {
        inputChannels: 4,
        groups: [
          { name: 'front', channels: [1, 2] },
          { name: 'rear', channels: [4, 3] },
        ],
      },
    });
    await api('PUT', '/settings/channel-map-assignments/quad-agent', { templateId: template.id });

    const created = await api('POST', '/recordings', {
      nodeId: 'quad-agent',
      durationSeconds: 1,
      title: 'split',
    });
    expect(created.channelGroups).toEqual([
      { name: 'front', channels: [1, 2], recordingId: created.id },
      { name: 'rear', channels: [4, 3], recordingId: expect.any(String) },
    ]);
    // The fake card plays a distinct signal into each input channel (fakeSample): a file's channel
    // k carries input channel group.channels[k], frame by frame.
    for (const group of created.channelGroups as {
      name: string;
      channels: number[];
      recordingId: string;
    }[]) {
      const { view, path } = await completed(group.recordingId);
      expect(view).toMatchObject({
        title: `split (${group.name})`,
        container: 'wav',
        channels: 2,
        sampleRate: 8000,
      });
      const samples = await decodedSamples(path);
      expect(samples.length).toBe(8000 * 2 * 2);
      const first = fakeFrameOf(samples.readInt16LE(0), group.channels[0]! - 1);
      for (let frame = 0; frame < 8000; frame++) {
        for (const [k, input] of group.channels.entries()) {
          const sample = samples.readInt16LE((frame * 2 + k) * 2);
          expect(fakeFrameOf(sample, input - 1)).toBe((first + frame) % 8000);
        }
      }
    }
  });

  it('records only the channels an operator enabled on the capture interface when nothing else selects', async () => {
    await startAgent('enabled-agent', 8000, 2, async (credential) => {
      // The capture interface as an agent reports it (its configured default device).
      const report = await ctl.app.inject({
        method: 'PUT',
        url: '/api/v1/nodes/enabled-agent/interfaces',
        headers: bearer(credential),
        payload: {
          interfaces: [
            { ref: 'default', kind: 'configured', description: 'default', channels: 2, sampleRate: 8000 },
          ],
        },
      });
      expect(report.statusCode, report.body).toBe(200);
      const [iface] = await api('GET', '/nodes/enabled-agent/interfaces');
      await api('PATCH', `/nodes/enabled-agent/interfaces/${iface.id}`, { enabledChannels: [2] });
    });
    const created = await api('POST', '/recordings', { nodeId: 'enabled-agent', durationSeconds: 1 });
    const { view, path } = await completed(created.id);
    expect(view).toMatchObject({ channels: 1, sampleRate: 8000 });
    const samples = await decodedSamples(path);
    const first = fakeFrameOf(samples.readInt16LE(0), 1);
    for (let i = 0; i < 8000; i++)
      expect(fakeFrameOf(samples.readInt16LE(i * 2), 1)).toBe((first + i) % 8000);
  });

  it('a 24-bit profile restarts the capture at 24 bits, and WAV and FLAC recordings keep every bit', async () => {
    const deepId = 'deep-agent';
    const deep = await startAgent(deepId, 8000, 2);
    const profile = await api('POST', '/settings/recording-profiles', {
      name: 'deep-wav',
      body: { container: 'wav', sampleRate: 8000, bitDepth: 24 },
    });
    await api('PATCH', `/nodes/${deepId}`, { recordingProfileId: profile.id });
    await until(
      async () =>
        ((await api('GET', `/nodes/${deepId}/command-results`)) as { ok: boolean }[]).some((r) => r.ok),
      { what: 'the agent to apply the 24-bit profile' },
    );
    /** The 3-byte samples of channel `c`: the fake card's 16-bit count above a low byte of c + 1. */
    const expectDeep = (data: Buffer, frames: number) => {
      expect(data.length).toBe(frames * 2 * 3);
      const first = fakeFrameOf(data.readIntLE(0, 3) >> 8, 0);
      for (let frame = 0; frame < frames; frame++)
        for (const c of [0, 1]) {
          const sample = data.readIntLE((frame * 2 + c) * 3, 3);
          expect(sample & 0xff).toBe(c + 1);
          expect(fakeFrameOf(sample >> 8, c)).toBe((first + frame) % 8000);
        }
    };

    const created = await api('POST', '/recordings', { nodeId: deepId, durationSeconds: 1 });
    const wav = await completed(created.id);
    expect(wav.view).toMatchObject({
      container: 'wav',
      sampleRate: 8000,
      channels: 2,
      bitDepth: 24,
      durationMs: 1000,
    });
    const wavBytes = await readFile(wav.path);
    expect(wavBytes.readUInt16LE(34)).toBe(24); // bits per sample
    expect(wavBytes.readUInt16LE(32)).toBe(6); // block align: 2 channels × 3 bytes
    expectDeep(wavBytes.subarray(WAV_HEADER_BYTES), 8000);

    await api('PATCH', `/settings/recording-profiles/${profile.id}`, { body: { container: 'flac' } });
    await until(() => deep.nodeConfig?.recordingProfile?.container === 'flac', {
      what: 'the agent to apply FLAC',
    });
    const flacJob = await api('POST', '/recordings', { nodeId: deepId, durationSeconds: 1 });
    const flac = await completed(flacJob.id);
    expect(flac.view).toMatchObject({
      container: 'flac',
      sampleRate: 8000,
      channels: 2,
      bitDepth: 24,
      durationMs: 1000,
    });
    const { stdout: bits } = await run('soxi', ['-b', flac.path]);
    expect(bits.trim()).toBe('24');
    const { stdout: decoded } = await run(
      'sox',
      [flac.path, '-t', 'raw', '-e', 'signed-integer', '-b', '24', '-L', '-'],
      { encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 },
    );
    expectDeep(decoded, 8000);
  });

  it("an ad-hoc recording takes the profile's pre-roll from the audio the agent keeps", async () => {
    const preroll = await startAgent('preroll-agent', 8000, 2);
    const profile = await api('POST', '/settings/recording-profiles', {
      name: 'two-second-preroll',
      body: { sampleRate: 8000, preRollSeconds: 2 },
    });
    await api('PATCH', '/nodes/preroll-agent', { recordingProfileId: profile.id });
    await until(() => preroll.nodeConfig?.recordingProfile?.preRollSeconds === 2, {
      what: 'the profile applied',
    });
    // More than the pre-roll has been captured since the agent started.
    let firstAt = 0;
    await until(
      async () => {
        const { frame } = await api('GET', '/nodes/preroll-agent/meters');
        if (!frame) return false;
        firstAt ||= frame.capturedAtMs;
        return frame.capturedAtMs - firstAt >= 2500;
      },
      { what: 'two and a half seconds of capture' },
    );
    const created = await api('POST', '/recordings', { nodeId: 'preroll-agent', durationSeconds: 1 });
    const { view, path } = await completed(created.id);
    // 2 s from before the request, then the 1 s asked for: one unbroken run of frames.
    expect(view).toMatchObject({ durationMs: 3000, channels: 2 });
    const samples = await decodedSamples(path);
    expect(samples.length).toBe(3 * 8000 * 2 * 2);
    const first = fakeFrameOf(samples.readInt16LE(0), 0);
    for (let frame = 0; frame < 3 * 8000; frame++)
      expect(fakeFrameOf(samples.readInt16LE(frame * 4), 0)).toBe((first + frame) % 8000);
  });
});

describe.skipIf(!(await hasPulse()))('FLAC against WAV on a real capture', () => {
  let sink: PulseSink;
  let dir: TempDir;
  let restoreEnv = () => {};

  beforeAll(async () => {
    dir = await tempDir('flac-wav');
    sink = await startPulseSink({ peakDbfs: -6, hz: 997, sampleRate: 48_000, channels: 2 });
    restoreEnv = useSinkEnv(sink);
  }, 60_000);

  afterAll(async () => {
    restoreEnv();
    await sink?.stop();
    await dir?.cleanup();
  });

  it('a FLAC recording decodes to exactly the samples of a WAV recording of the same capture', async () => {
    const capture = new CaptureSupervisor({
      capture: { device: sink.monitor, sampleRate: 48_000, channels: 2 },
      log: silentLogger(),
    });
    const tap = new PcmTap(capture);
    const request = { sampleRate: 48_000, channels: 2, durationMs: 1500 };
    const wav = new Recording(tap, { ...request, path: join(dir.path, 'take.wav') });
    const flac = new Recording(tap, { ...request, path: join(dir.path, 'take-flac.wav'), container: 'flac' });
    await wav.start();
    await flac.start();
    tap.start();
    capture.start();
    try {
      const [wavOut, flacOut] = await Promise.all([wav.done, flac.done]);
      expect(flacOut.encodingError).toBeUndefined();
      expect(flacOut.result.path).toBe(join(dir.path, 'take-flac.flac'));
      expect(flacOut.result.sizeBytes).toBeLessThan(wavOut.result.sizeBytes);
      const wavData = (await readFile(wavOut.result.path)).subarray(WAV_HEADER_BYTES);
      expect(wavData.length).toBe(48_000 * 1.5 * 2 * 2);
      expect(Buffer.compare(await decodedSamples(flacOut.result.path), wavData)).toBe(0);
      // Not silence: the tone is in both.
      expect(wavData.readInt16LE(0) !== 0 || wavData.readInt16LE(200) !== 0).toBe(true);
      const flacBytes = await readFile(flacOut.result.path);
      expect(audioFacts(flacBytes, flacBytes.length)).toEqual({
        container: 'flac',
        sampleRate: 48_000,
        channels: 2,
        bitDepth: 16,
        durationMs: 1500,
      });
    } finally {
      tap.stop();
      await capture.stop();
    }
  });
  it('captures 24-bit PCM from the device through sox when the capture asks for it', async () => {
    const capture = new CaptureSupervisor({
      capture: { device: sink.monitor, sampleRate: 48_000, channels: 2, bitDepth: 24 },
      log: silentLogger(),
    });
    const tap = new PcmTap(capture);
    const wav = new Recording(tap, {
      path: join(dir.path, 'deep.wav'),
      sampleRate: 48_000,
      channels: 2,
      bitDepth: 24,
      durationMs: 1000,
    });
    await wav.start();
    tap.start();
    capture.start();
    try {
      const { result } = await wav.done;
      expect(result).toMatchObject({ bitDepth: 24, durationMs: 1000 });
      const { stdout } = await run('soxi', [result.path]);
      expect(stdout).toMatch(/Precision\s*:\s*24-bit/);
      expect(stdout).toMatch(/Sample Encoding\s*:\s*24-bit Signed Integer PCM/);
      const data = (await readFile(result.path)).subarray(WAV_HEADER_BYTES);
      expect(data.length).toBe(48_000 * 2 * 3);
      // The -6 dBFS tone, read as 24-bit samples: peaks near half of full scale (2^23).
      let peak = 0;
      for (let o = 0; o < data.length; o += 3) peak = Math.max(peak, Math.abs(data.readIntLE(o, 3)));
      expect(peak / 2 ** 23).toBeGreaterThan(0.4);
      expect(peak / 2 ** 23).toBeLessThan(0.6);
    } finally {
      tap.stop();
      await capture.stop();
    }
  });
  it.skipIf(!withFfmpeg)(
    "a recording's loudness, measured while recording, agrees with ffmpeg's ebur128 on the file",
    async () => {
      const capture = new CaptureSupervisor({
        capture: { device: sink.monitor, sampleRate: 48_000, channels: 2 },
        log: silentLogger(),
      });
      const tap = new PcmTap(capture);
      const recording = new Recording(tap, {
        path: join(dir.path, 'loud.wav'),
        sampleRate: 48_000,
        channels: 2,
        durationMs: 5000,
      });
      await recording.start();
      tap.start();
      capture.start();
      try {
        const { result, loudness } = await recording.done;
        const reference = await ebur128(result.path);
        // The same file through both meters (a busy machine may leave gaps of silence in what the
        // sink plays: both see them). ffmpeg prints to 0.1.
        const detail = JSON.stringify({ ours: loudness, ffmpeg: reference });
        expect(Math.abs(loudness.integratedLufs! - reference.integratedLufs), detail).toBeLessThanOrEqual(
          0.15,
        );
        expect(Math.abs(loudness.truePeakDbtp - reference.truePeakDbtp), detail).toBeLessThanOrEqual(0.2);
        expect(Math.abs(loudness.loudnessRangeLu! - reference.loudnessRangeLu), detail).toBeLessThanOrEqual(
          1,
        );
      } finally {
        tap.stop();
        await capture.stop();
      }
    },
  );
});
