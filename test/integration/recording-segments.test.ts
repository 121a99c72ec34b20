/**
 * Segments: a node whose recording profile sets a segment length records a longer recording as
 * consecutive files of exactly that much audio each, every one uploaded as its own recording of
 * the same job family (parts 2, 3… continuing the job, not partial). A real agent (fake sound
 * card whose samples count frames) against a real controller; the agent's segment length is
 * shortened to 0.8 s by its test option, the profile keeps the API's 60 s minimum.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../agent/src/agent.js';
import { WAV_HEADER_BYTES } from '../../agent/src/capture/wav-writer.js';
import { enrolledAgentSettings, fakeFrameOf, testAgent } from '../support/agent-harness.js';
import { bearer, type TestController, testController } from '../support/controller.js';
import { type TempDir, tempDir } from '../support/tmp.js';
import { until } from '../support/until.js';

const RATE = 8000;
const SEGMENT_SECONDS = 0.8;
const SEGMENT_FRAMES = RATE * SEGMENT_SECONDS;

interface RecordingView {
  id: string;
  state: string;
  title: string;
  partial: boolean;
  partialReason: string | null;
  durationMs: number | null;
  job: { id: string; part: number; parentJobId: string | null; state: string } | null;
}

describe('recordings split into segments by the recording profile', () => {
  let ctl: TestController;
  let owner: string;
  let dir: TempDir;
  let agent: Agent;
  const nodeId = 'segmented-agent';

  const api = async (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) => {
    const response = await ctl.app.inject({ method, url: `/api/v1${url}`, headers: bearer(owner), payload });
    expect(response.statusCode, response.body).toBeLessThan(300);
    return response.json().data;
  };

  /** The job's recordings (the job's own, then its segments), by part. */
  async function family(rootJobId: string): Promise<RecordingView[]> {
    const all = (await api('GET', `/recordings?nodeId=${nodeId}&limit=100`)) as RecordingView[];
    return all
      .filter((r) => r.job && (r.job.id === rootJobId || r.job.parentJobId === rootJobId))
      .sort((a, b) => a.job!.part - b.job!.part);
  }

  /** The capture frames (mod 8000) of a completed mono WAV recording, from its downloaded file. */
  async function framesOf(recordingId: string): Promise<number[]> {
    const file = await ctl.app.inject({
      url: `/api/v1/recordings/${recordingId}/file`,
      headers: bearer(owner),
    });
    expect(file.statusCode).toBe(200);
    const data = file.rawPayload.subarray(WAV_HEADER_BYTES);
    return Array.from({ length: data.length / 2 }, (_, i) => fakeFrameOf(data.readInt16LE(i * 2), 0));
  }

  /** Every frame follows the one before it, across files: no gap, no overlap. */
  function expectConsecutive(files: number[][]): void {
    const frames = files.flat();
    for (let i = 1; i < frames.length; i++) {
      if (frames[i] !== (frames[i - 1]! + 1) % 8000)
        throw new Error(`frame ${i} is ${frames[i]} after ${frames[i - 1]}: a gap or an overlap`);
    }
  }

  beforeAll(async () => {
    ctl = await testController({ mqttHost: '127.0.0.1', httpHost: '127.0.0.1' });
    await ctl.start();
    await ctl.app.listen({ port: 0, host: '127.0.0.1' });
    owner = await ctl.ownerToken();
    dir = await tempDir('recording-segments');
    const enrolled = await api('POST', '/nodes/enroll', {
      name: nodeId,
      site: 'hq',
      id: nodeId,
      sampleRate: RATE,
      channels: 1,
    });
    const exchange = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/agent/enroll',
      payload: { token: enrolled.enrollmentToken },
    });
    const node = exchange.json().data as { nodeId: string; credential: string; siteId: string };
    const settings = await enrolledAgentSettings(
      dir.path,
      node,
      `http://127.0.0.1:${(ctl.app.server.address() as AddressInfo).port}`,
      `mqtt://127.0.0.1:${ctl.broker.port()}`,
    );
    const profile = await api('POST', '/settings/recording-profiles', {
      name: 'segmented',
      body: { sampleRate: RATE, segmentSeconds: 60 },
    });
    await api('PATCH', `/nodes/${nodeId}`, { recordingProfileId: profile.id });
    agent = testAgent(settings, { syncIntervalMs: 3_600_000, segmentSecondsOverride: SEGMENT_SECONDS });
    await agent.start();
    expect(agent.nodeConfig?.recordingProfile?.segmentSeconds).toBe(60);
    await until(() => ctl.services.nodes.onlineCount() === 1, { what: 'the agent to connect over MQTT' });
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await ctl?.stop();
    await dir?.cleanup();
  });

  it('splits a 3 s recording into 0.8 s segments and the rest, frame-exact, each a complete recording of the job', async () => {
    const created = await api('POST', '/recordings', { nodeId, durationSeconds: 3, title: 'long' });
    const rootJobId = (created.job as { id: string }).id;
    let files: RecordingView[] = [];
    await until(
      async () => {
        files = await family(rootJobId);
        return files.length === 4 && files.every((f) => f.state === 'completed');
      },
      { timeoutMs: 30_000, what: 'four completed segments' },
    );
    expect(files.map((f) => [f.job!.part, f.title, f.partial, f.partialReason, f.durationMs])).toEqual([
      [1, 'long', false, null, 800],
      [2, 'long (segment 2)', false, null, 800],
      [3, 'long (segment 3)', false, null, 800],
      [4, 'long (segment 4)', false, null, 600],
    ]);
    expect(files.slice(1).every((f) => f.job!.parentJobId === rootJobId)).toBe(true);
    const frames = await Promise.all(files.map((f) => framesOf(f.id)));
    expect(frames.map((f) => f.length)).toEqual([
      SEGMENT_FRAMES,
      SEGMENT_FRAMES,
      SEGMENT_FRAMES,
      3 * RATE - 3 * SEGMENT_FRAMES,
    ]);
    expectConsecutive(frames);
    // No fifth segment: the job's audio is used up.
    expect(await family(rootJobId)).toHaveLength(4);
  });

  it('splits a scheduled window the same way: segments to the window end, frame-exact', async () => {
    const startMs = Math.ceil((Date.now() + 2500) / 1000) * 1000;
    const created = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/schedules',
      headers: bearer(owner),
      payload: {
        name: 'segmented window',
        timeZone: 'UTC',
        start: new Date(startMs).toISOString().slice(0, 19),
        durationSeconds: 2,
        targets: [{ nodeId }],
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const scheduleId = (created.json().data as { id: string }).id;
    const all = () => api('GET', `/recordings?nodeId=${nodeId}&limit=100`) as Promise<RecordingView[]>;
    let root: RecordingView | undefined;
    await until(
      async () => {
        root = (await all()).find(
          (r) => (r.job as { scheduleId?: string } | null)?.scheduleId === scheduleId && r.job!.part === 1,
        );
        return root !== undefined;
      },
      { what: 'the occurrence' },
    );
    let files: RecordingView[] = [];
    await until(
      async () => {
        files = await family(root!.job!.id);
        return files.length === 3 && files.every((f) => f.state === 'completed');
      },
      { timeoutMs: 30_000, what: 'three completed segments of the window' },
    );
    expect(files.map((f) => [f.job!.part, f.partial])).toEqual([
      [1, false],
      [2, false],
      [3, false],
    ]);
    const frames = await Promise.all(files.map((f) => framesOf(f.id)));
    expect(frames.slice(0, 2).map((f) => f.length)).toEqual([SEGMENT_FRAMES, SEGMENT_FRAMES]);
    // The last segment ends at the window's end (wall clock): the rest of the 2 s, within a frame.
    expect(Math.abs(frames.flat().length - 2 * RATE)).toBeLessThanOrEqual(1);
    expectConsecutive(frames);
  });

  it('a stop ends the current segment and no further one starts', async () => {
    const created = await api('POST', '/recordings', { nodeId, title: 'open' });
    const rootJobId = (created.job as { id: string }).id;
    let files: RecordingView[] = [];
    await until(
      async () => {
        files = await family(rootJobId);
        return files.length === 2 && files[1]!.state === 'recording';
      },
      { timeoutMs: 20_000, what: 'the second segment to record' },
    );
    await api('POST', `/recordings/${files[1]!.id}/stop`);
    await until(
      async () => {
        files = await family(rootJobId);
        return files.every((f) => f.state === 'completed');
      },
      { timeoutMs: 20_000, what: 'both segments to complete' },
    );
    expect(files).toHaveLength(2);
    expect(files.map((f) => f.partial)).toEqual([false, false]);
    expect(files[0]!.durationMs).toBe(800);
    expect(files[1]!.durationMs).toBeLessThan(800);
    expectConsecutive(await Promise.all(files.map((f) => framesOf(f.id))));
    // Nothing more comes after the stop.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(await family(rootJobId)).toHaveLength(2);
  });

  it("a stop of an ad-hoc recording keeps the profile's post-roll of audio", async () => {
    const profileId = agent.nodeConfig!.recordingProfile!.id;
    await api('PATCH', `/settings/recording-profiles/${profileId}`, {
      body: { segmentSeconds: null, postRollSeconds: 1 },
    });
    await until(() => agent.nodeConfig?.recordingProfile?.postRollSeconds === 1, {
      what: 'the agent to apply the post-roll',
    });
    const created = await api('POST', '/recordings', { nodeId, title: 'post-roll' });
    await until(async () => (await api('GET', `/recordings/${created.id}`)).firstSampleAt !== null, {
      what: 'the first audio',
    });
    const stoppedAt = Date.now();
    await api('POST', `/recordings/${created.id}/stop`);
    let view: RecordingView & { firstSampleAt: string } = created;
    await until(
      async () => {
        view = await api('GET', `/recordings/${created.id}`);
        return view.state === 'completed';
      },
      { what: 'the recording to complete' },
    );
    // Whatever was recorded before the stop, plus exactly 1 s: the file runs past the stop by 1 s.
    const stopOffsetMs = stoppedAt - Date.parse(view.firstSampleAt);
    expect(view.durationMs).toBeGreaterThanOrEqual(1000 + Math.max(0, stopOffsetMs - 100));
    expect(view.durationMs).toBeLessThan(1000 + stopOffsetMs + 1000);
    expect(view.partial).toBe(false);
    const frames = await framesOf(created.id);
    expect(Math.round((frames.length * 1000) / RATE)).toBe(view.durationMs);
    expectConsecutive([frames]);
  });
});
