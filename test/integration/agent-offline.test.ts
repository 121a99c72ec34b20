// The agent daemon (in-process, a real-time fake sound card) against a real controller, with
// a network switch in front of it: starting from the cache while the controller is down,
// recording a cached occurrence on time, continuing a window after a restart, back-to-back
// occurrences without a gap, channel selection, and the clock warning in `status`.
import { cp } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../agent/src/agent.js';
import { WAV_HEADER_BYTES } from '../../agent/src/capture/wav-writer.js';
import { JobJournal, type JournalEntry, journalPath } from '../../agent/src/state/journal.js';
import { OfflineCache } from '../../agent/src/state/offline-cache.js';
import { resolveSettings } from '../../agent/src/state/settings.js';
import { agentStatus } from '../../agent/src/status.js';
import {
  enrolledAgentSettings,
  fakeCards,
  fakeFrameOf,
  type NetworkSwitch,
  networkSwitch,
  testAgent,
} from '../support/agent-harness.js';
import { bearer, enrolledNode, type TestController, testController } from '../support/controller.js';
import { sha256 } from '../support/recordings.js';
import { type TempDir, tempDir } from '../support/tmp.js';
import { until } from '../support/until.js';

const RATE = 16_000;

interface RecordingView {
  id: string;
  state: string;
  sha256: string | null;
  sizeBytes: number | null;
  durationMs: number | null;
  channels: number;
  plannedStartAt: string | null;
  firstSampleAt: string | null;
  clockOffsetMs: number | null;
  partial: boolean;
  partialReason: string | null;
  job: { id: string; state: string; scheduleId: string | null; part: number; parentJobId: string | null };
}

async function readJournal(cacheDir: string): Promise<JournalEntry[]> {
  const journal = new JobJournal(journalPath(cacheDir));
  await journal.load();
  return journal.list();
}

interface Schedule {
  id: string;
}

describe('the agent, offline first', () => {
  let ctl: TestController;
  let owner: string;
  let http: NetworkSwitch;
  let mqtt: NetworkSwitch;
  let dir: TempDir;
  const agents: Agent[] = [];
  let nodes = 0;

  beforeAll(async () => {
    ctl = await testController({ mqttHost: '127.0.0.1', httpHost: '127.0.0.1' });
    await ctl.start();
    await ctl.app.listen({ port: 0, host: '127.0.0.1' });
    owner = await ctl.ownerToken();
    http = await networkSwitch((ctl.app.server.address() as AddressInfo).port);
    mqtt = await networkSwitch(ctl.broker.port()!);
    dir = await tempDir('agent-offline');
  });

  afterAll(async () => {
    for (const agent of agents) await agent.stop();
    await http?.close();
    await mqtt?.close();
    await ctl?.stop();
    await dir?.cleanup();
  });

  /** A fresh node (capturing 16 kHz stereo) and its agent's settings. */
  async function newNode() {
    const id = `offline-${++nodes}`;
    const token = await ctl.ownerToken();
    const enroll = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/nodes/enroll',
      headers: bearer(token),
      payload: { name: id, site: 'hq', id, sampleRate: RATE, channels: 2 },
    });
    expect(enroll.statusCode, enroll.body).toBe(201);
    const exchange = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/agent/enroll',
      payload: { token: enroll.json().data.enrollmentToken },
    });
    const node = exchange.json().data as { nodeId: string; credential: string; siteId: string };
    const settings = await enrolledAgentSettings(
      `${dir.path}/${id}`,
      node,
      `http://127.0.0.1:${http.port}`,
      `mqtt://127.0.0.1:${mqtt.port}`,
    );
    return { node, settings };
  }

  function start(settings: Parameters<typeof testAgent>[0]) {
    const agent = testAgent(settings, { syncIntervalMs: 500 });
    agents.push(agent);
    return agent;
  }

  /** A one-off schedule starting `inMs` from now (on a whole second, UTC) for `seconds`. */
  async function schedule(
    nodeId: string,
    inMs: number,
    seconds: number,
    channels?: number[],
    startMs = Math.ceil((Date.now() + inMs) / 1000) * 1000,
  ): Promise<{ schedule: Schedule; startMs: number }> {
    const res = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/schedules',
      headers: bearer(owner),
      payload: {
        name: `test ${nodeId} ${startMs}`,
        timeZone: 'UTC',
        start: new Date(startMs).toISOString().slice(0, 19),
        durationSeconds: seconds,
        targets: [{ nodeId, ...(channels ? { channels } : {}) }],
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    return { schedule: res.json().data as Schedule, startMs };
  }

  async function recordingsOf(nodeId: string): Promise<RecordingView[]> {
    const res = await ctl.app.inject({
      method: 'GET',
      url: `/api/v1/recordings?nodeId=${nodeId}&limit=50`,
      headers: bearer(owner),
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json().data as RecordingView[];
  }

  async function download(id: string): Promise<Buffer> {
    const res = await ctl.app.inject({
      method: 'GET',
      url: `/api/v1/recordings/${id}/file`,
      headers: bearer(owner),
    });
    expect(res.statusCode).toBe(200);
    return res.rawPayload;
  }

  async function completed(nodeId: string, count: number): Promise<RecordingView[]> {
    let done: RecordingView[] = [];
    await until(
      async () => {
        done = (await recordingsOf(nodeId)).filter((r) => r.state === 'completed');
        return done.length >= count;
      },
      { timeoutMs: 40_000, what: `${count} completed recording(s) of ${nodeId}` },
    );
    return done.sort((a, b) => Date.parse(a.firstSampleAt!) - Date.parse(b.firstSampleAt!));
  }

  it('starts from its cache with the controller down, records the cached occurrence on time, uploads when it is back', async () => {
    const { node, settings } = await newNode();
    const first = start(settings);
    await first.start(); // first boot ever: waits for the controller, then caches
    const { startMs } = await schedule(node.nodeId, 6000, 3);
    const cache = new OfflineCache(settings.cacheDir);
    await until(async () => ((await cache.readOccurrences())?.occurrences.length ?? 0) === 1, {
      what: 'the occurrence in the cache',
    });
    await first.stop();

    await http.down();
    await mqtt.down();
    const agent = start(settings);
    await agent.start(); // does not wait for the controller
    expect(agent.nodeConfig?.nodeId).toBe(node.nodeId);
    expect(agent.parts?.schedule.scheduled).toHaveLength(1);
    const [occurrence] = agent.parts!.schedule.scheduled;
    await until(() => agent.parts!.journal.get(occurrence!.jobId)?.state === 'recorded', {
      timeoutMs: 20_000,
      what: 'the occurrence recorded offline',
    });
    const offline = agent.parts!.journal.get(occurrence!.jobId)!;
    expect(offline.capture?.plannedStartMs).toBe(startMs);

    await http.up();
    await mqtt.up();
    const [recording] = await completed(node.nodeId, 1);
    const file = await download(recording!.id);
    expect(sha256(file)).toBe(recording!.sha256);
    expect(sha256(file)).toBe(offline.sha256);
    expect(recording!.plannedStartAt).toBe(new Date(startMs).toISOString());
    // The first sample is the first frame captured at or after the planned start.
    const lateMs = Date.parse(recording!.firstSampleAt!) - startMs;
    expect(lateMs).toBeGreaterThanOrEqual(0);
    expect(lateMs).toBeLessThan(500);
    expect(recording!.partial).toBe(false);
    // It ends at the planned end (on the capture's own clock, the one its first sample is timed
    // by): a first sample a little late on a busy machine makes it that much shorter, no more.
    expect(
      Math.abs(Date.parse(recording!.firstSampleAt!) + recording!.durationMs! - (startMs + 3000)),
    ).toBeLessThanOrEqual(50);
    expect(recording!.job.scheduleId).not.toBeNull();
  }, 60_000);

  it('restarted inside the window, records the rest at once; both parts upload, linked to the occurrence', async () => {
    const { node, settings } = await newNode();
    const first = start(settings);
    await first.start();
    const { startMs } = await schedule(node.nodeId, 3000, 6);
    await until(() => first.parts!.recorder.activeJobIds.length === 1 && Date.now() > startMs + 1500, {
      what: 'the occurrence recording',
    });
    await first.stop();

    const agent = start(settings);
    await agent.start();
    // Resumed before start() returned: the continuation part is recording.
    expect(agent.parts!.recorder.activeJobIds).toHaveLength(1);
    const parts = await completed(node.nodeId, 2);
    const [one, two] = parts;
    expect(one!.job.part).toBe(1);
    expect(one!.partial).toBe(true);
    expect(one!.partialReason).toBe('agent stopped during the recording');
    expect(two!.job.part).toBe(2);
    expect(two!.job.parentJobId).toBe(one!.job.id);
    expect(two!.job.scheduleId).toBe(one!.job.scheduleId);
    expect(two!.partial).toBe(true);
    expect(two!.partialReason).toMatch(/continues the recording after an agent restart/);
    for (const part of parts) expect(sha256(await download(part.id))).toBe(part.sha256);
    // Together they cover the window but for the restart.
    expect(one!.durationMs! + two!.durationMs!).toBeGreaterThan(6000 - 2000);
    expect(one!.durationMs! + two!.durationMs!).toBeLessThanOrEqual(6000 + 50);
  }, 60_000);

  it('after a power cut mid-window (the disk as it was), recovers the first part and records the rest at once', async () => {
    const { node, settings } = await newNode();
    const first = start(settings);
    await first.start();
    const { startMs } = await schedule(node.nodeId, 3000, 6);
    await until(() => first.parts!.recorder.activeJobIds.length === 1 && Date.now() > startMs + 1500, {
      what: 'the occurrence recording',
    });
    // The disk as a power cut leaves it: journal 'recording', a .part with a provisional header.
    const cutDir = `${dir.path}/${node.nodeId}-cut`;
    // Atomic writes' temp files come and go while the agent runs (a rename can land between the
    // copy's listing and its read); recovery ignores them, so the copy leaves them out.
    await cp(dirname(settings.statePath), cutDir, {
      recursive: true,
      filter: (source) => !/\/\.[^/]+\.tmp$/.test(source),
    });
    await first.stop(); // this copy of the agent is gone for good
    const cut = resolveSettings({
      EARSHOT_AGENT_CONFIG: `${cutDir}/agent.json`,
      EARSHOT_AGENT_MQTT_URL: `mqtt://127.0.0.1:${mqtt.port}`,
    });
    const [interrupted] = (await readJournal(cut.cacheDir)).filter((e) => e.state === 'recording');
    expect(interrupted).toBeDefined();

    const agent = start(cut);
    await agent.start();
    expect(agent.parts!.recorder.activeJobIds).toHaveLength(1); // the rest, at once
    const [one, two] = await completed(node.nodeId, 2);
    expect(one!.id).toBe(interrupted!.recordingId);
    expect(one!.partial).toBe(true);
    expect(one!.partialReason).toBe('agent restarted during the recording');
    expect(one!.durationMs!).toBeGreaterThan(1000);
    expect(two!.job.parentJobId).toBe(one!.job.id);
    expect(two!.job.scheduleId).toBe(one!.job.scheduleId);
    for (const part of [one!, two!]) expect(sha256(await download(part.id))).toBe(part.sha256);
  }, 60_000);

  it('stopped in the moments before a start it had prepared, records the occurrence whole after the restart', async () => {
    const { node, settings } = await newNode();
    const first = start(settings);
    await first.start();
    const { startMs } = await schedule(node.nodeId, 4000, 2);
    await until(() => first.parts!.recorder.activeJobIds.length === 1, { what: 'the occurrence prepared' });
    await first.stop(); // before its first audio: nothing to keep
    const agent = start(settings);
    await agent.start();
    const [recording] = await completed(node.nodeId, 1);
    expect(recording!.partial).toBe(false);
    expect(Date.parse(recording!.firstSampleAt!)).toBeGreaterThanOrEqual(startMs);
    // Whole: from its first sample to the planned end (see the first test).
    expect(
      Math.abs(Date.parse(recording!.firstSampleAt!) + recording!.durationMs! - (startMs + 2000)),
    ).toBeLessThanOrEqual(50);
  }, 60_000);

  it('a capture failure inside the window keeps what was captured and continues in a new part', async () => {
    const { node, settings } = await newNode();
    const { captures, createCapture } = fakeCards();
    const agent = testAgent(settings, { syncIntervalMs: 500, createCapture });
    agents.push(agent);
    await agent.start();
    const { startMs } = await schedule(node.nodeId, 3000, 6);
    await until(() => Date.now() > startMs + 1500, { what: 'the window to run', timeoutMs: 10_000 });
    captures.at(-1)!.fail();
    const [one, two] = await completed(node.nodeId, 2);
    expect(captures.length).toBeGreaterThan(1); // the supervisor restarted it
    expect(one!.partial).toBe(true);
    expect(one!.partialReason).toMatch(/the capture failed during the recording/);
    expect(two!.job.parentJobId).toBe(one!.job.id);
    expect(two!.partialReason).toBe('continues the recording after the capture restarted');
    expect(Date.parse(two!.firstSampleAt!)).toBeGreaterThan(startMs + 1500);
    for (const part of [one!, two!]) expect(sha256(await download(part.id))).toBe(part.sha256);
  }, 60_000);

  it('booting inside a cached window it never started, records the rest at once, marked late', async () => {
    const { node, settings } = await newNode();
    const first = start(settings);
    await first.start();
    const { startMs } = await schedule(node.nodeId, 3000, 5);
    const cache = new OfflineCache(settings.cacheDir);
    await until(async () => ((await cache.readOccurrences())?.occurrences.length ?? 0) === 1, {
      what: 'the occurrence in the cache',
    });
    await first.stop();
    await until(() => Date.now() > startMs + 1500, { what: 'the window to be open', timeoutMs: 10_000 });
    const agent = start(settings);
    await agent.start();
    const [recording] = await completed(node.nodeId, 1);
    expect(recording!.partial).toBe(true);
    expect(recording!.partialReason).toBe('started late: agent started inside the window');
    expect(Date.parse(recording!.firstSampleAt!)).toBeGreaterThan(startMs + 1500);
    expect(recording!.durationMs!).toBeLessThan(3500);
  }, 60_000);

  it('an ad-hoc recording with a planned length continues after a restart; both parts upload, linked', async () => {
    const { node, settings } = await newNode();
    const first = start(settings);
    await first.start();
    const created = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/recordings',
      headers: bearer(owner),
      payload: { nodeId: node.nodeId, durationSeconds: 5, title: 'ad-hoc' },
    });
    expect(created.statusCode, created.body).toBe(201);
    await until(() => first.parts!.recorder.activeJobIds.length === 1, { what: 'the job recording' });
    await until(
      () => (first.parts!.journal.list()[0]?.capture?.firstSampleAtMs ?? Infinity) < Date.now() - 1000,
      {
        what: 'a second of audio',
      },
    );
    await first.stop();
    const agent = start(settings);
    await agent.start();
    expect(agent.parts!.recorder.activeJobIds).toHaveLength(1);
    const [one, two] = await completed(node.nodeId, 2);
    expect(one!.id).toBe(created.json().data.id);
    expect(one!.partial).toBe(true);
    expect(two!.job.parentJobId).toBe(one!.job.id);
    expect(two!.job.part).toBe(2);
    for (const part of [one!, two!]) expect(sha256(await download(part.id))).toBe(part.sha256);
  }, 60_000);

  it('back-to-back occurrences give two files that split the audio with no gap; channel selection holds', async () => {
    const { node, settings } = await newNode();
    const agent = start(settings);
    await agent.start();
    const { startMs } = await schedule(node.nodeId, 4000, 2, [2]);
    await schedule(node.nodeId, 0, 2, undefined, startMs + 2000);
    const [a, b] = await completed(node.nodeId, 2);
    expect(a!.channels).toBe(1);
    expect(b!.channels).toBe(2);
    const wavA = await download(a!.id);
    const wavB = await download(b!.id);
    expect(wavA.readUInt16LE(22)).toBe(1);
    // File a holds capture channel 2 only; its last frame is followed by file b's first.
    const lastOfA = wavA.readInt16LE(wavA.length - 2);
    const firstOfB = wavB.readInt16LE(WAV_HEADER_BYTES);
    expect(fakeFrameOf(lastOfA, 1)).toBeGreaterThanOrEqual(0);
    expect(fakeFrameOf(lastOfA, 1)).toBeLessThan(8000);
    expect(fakeFrameOf(firstOfB, 0)).toBe((fakeFrameOf(lastOfA, 1) + 1) % 8000);
    expect(Date.parse(b!.firstSampleAt!) - Date.parse(a!.firstSampleAt!)).toBeGreaterThan(1900);
  }, 60_000);

  it('with a cached config, a credential the controller rejects stops the agent, clearly', async () => {
    const { node, settings } = await newNode();
    const first = start(settings);
    await first.start();
    await first.stop();
    // Same node, another secret: as after the credential was rotated on the controller.
    const wrong = { ...node, credential: `${node.nodeId}.${'x'.repeat(24)}` };
    await enrolledAgentSettings(
      `${dir.path}/${node.nodeId}`,
      wrong,
      `http://127.0.0.1:${http.port}`,
      'mqtt://x',
    );
    let fatal: Error | undefined;
    const agent = testAgent(settings, {
      onFatal: (error) => {
        fatal = error;
      },
    });
    agents.push(agent);
    await agent.start(); // from the cache
    await until(() => fatal !== undefined, { what: 'the credential rejection' });
    expect(fatal!.message).toMatch(/rejected this node's credential \(401 .*re-enroll/);
    expect(agent.parts?.recorder.activeJobIds).toEqual([]);
  }, 60_000);

  it('status warns when the clock is off the controller by more than the threshold', async () => {
    const skewed = await testController(
      { mqttHost: '127.0.0.1', httpHost: '127.0.0.1' },
      () => new Date(Date.now() - 5000),
    );
    try {
      await skewed.start();
      await skewed.app.listen({ port: 0, host: '127.0.0.1' });
      const node = await enrolledNode(skewed, { id: 'skewed-1', site: 'hq' });
      const base = `http://127.0.0.1:${(skewed.app.server.address() as AddressInfo).port}`;
      const settings = await enrolledAgentSettings(
        `${dir.path}/skewed`,
        node,
        base,
        `mqtt://127.0.0.1:${skewed.broker.port()!}`,
      );
      const agent = testAgent(settings);
      await agent.start();
      const cache = new OfflineCache(settings.cacheDir);
      await until(async () => ((await cache.readClock())?.offsetMs ?? 0) > 4000, {
        what: 'the clock offset measured',
      });
      await agent.stop();
      const report = await agentStatus(settings);
      expect(report.ok).toBe(false);
      expect(report.lines.join('\n')).toMatch(/clock:\s+WARNING: [45]\.\d{3} s ahead of the controller/);
      const nodeView = await skewed.app.inject({
        method: 'GET',
        url: `/api/v1/nodes/${node.nodeId}`,
        headers: bearer(await skewed.ownerToken()),
      });
      // Every heartbeat after the first carries the offset.
      expect(nodeView.json().data.clockOffsetMs ?? 5000).toBeGreaterThan(4000);
    } finally {
      await skewed.stop();
    }
  }, 60_000);
});
