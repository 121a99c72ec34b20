// The state of a recording changes when capture starts, not at the agent's first periodic
// job heartbeat: the real claim loop, recorder and uploader capture from a PulseAudio null
// sink and talk to a real controller over HTTP. The periodic heartbeats are an hour apart
// here, so only the agent's report of the start can move the job and the recording.
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureSupervisor } from '../../agent/src/capture/supervisor.js';
import { AgentHttpClient } from '../../agent/src/link/http-client.js';
import { JobJournal, journalPath } from '../../agent/src/state/journal.js';
import { silentLogger } from '../../agent/src/support/log.js';
import { agentParts } from '../support/agent-parts.js';
import { bearer, enrolledNode, type TestController, testController } from '../support/controller.js';
import { hasPulse, type PulseSink, startPulseSink, useSinkEnv } from '../support/pulse.js';
import { createRecording } from '../support/recordings.js';
import { type TempDir, tempDir } from '../support/tmp.js';

const RATE = 48_000;
const CHANNELS = 2;
const HOUR_MS = 3_600_000;

async function until<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 1500; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`gave up waiting for ${what}`);
}

interface RecordingView {
  state: string;
  sha256: string | null;
  job: { id: string; state: string; startedAt: string | null };
}

describe.skipIf(!(await hasPulse()))('the start of a recording', () => {
  let ctl: TestController;
  let owner: string;
  let node: { nodeId: string; credential: string };
  let baseUrl: string;
  let sink: PulseSink;
  let dir: TempDir;
  let restoreEnv = () => {};
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    // A lease of an hour: the agent's periodic job heartbeats would come every 20 minutes.
    ctl = await testController({ leaseSeconds: 3600 });
    owner = await ctl.ownerToken();
    node = await enrolledNode(ctl, { id: 'start-1', site: 'hq' });
    await ctl.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(ctl.app.server.address() as AddressInfo).port}`;
    dir = await tempDir('recording-start');
    sink = await startPulseSink({ peakDbfs: -20, hz: 1000, sampleRate: RATE, channels: CHANNELS });
    restoreEnv = useSinkEnv(sink);
  }, 60_000);

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    restoreEnv();
    await sink?.stop();
    await ctl?.stop();
    await dir?.cleanup();
  });

  const recordingView = async (id: string) =>
    (await ctl.app.inject({ method: 'GET', url: `/api/v1/recordings/${id}`, headers: bearer(owner) })).json()
      .data as RecordingView;

  it('is `recording` (job and recording) as soon as capture starts, long before a periodic heartbeat', async () => {
    const created = await createRecording(ctl, owner, node.nodeId, { title: 'open-ended' });
    expect(created.job.state).toBe('queued');

    const log = silentLogger();
    const api = new AgentHttpClient({ baseUrl, credential: node.credential });
    const journal = new JobJournal(journalPath(dir.path));
    await journal.load();
    const capture = new CaptureSupervisor({
      capture: { device: sink.monitor, sampleRate: RATE, channels: CHANNELS },
      log,
    });
    // One claim at start; periodic job heartbeats an hour apart.
    const { tap, recorder, uploader, claimLoop } = agentParts({
      api,
      journal,
      source: capture,
      cacheDir: dir.path,
      log,
      jobHeartbeatIntervalMs: HOUR_MS,
      jobPollIntervalMs: HOUR_MS,
    });
    tap.start();
    stops.push(async () => tap.stop());
    capture.start();
    stops.push(() => capture.stop());
    await recorder.start();
    stops.push(() => recorder.stop());
    uploader.start();
    stops.push(() => uploader.stop());
    claimLoop.start();
    stops.push(() => claimLoop.stop());

    // Claimed at once; the recording leaves `pending` only when the agent says capture started.
    const started = await until(async () => {
      const view = await recordingView(created.id);
      return view.state === 'pending' ? undefined : view;
    }, 'the recording to leave pending');
    expect(started.state).toBe('recording');
    expect(started.job.state).toBe('recording');
    expect(started.job.startedAt).not.toBeNull();
    expect(claimLoop.currentJobId).toBe(created.job.id);
    const audited = await ctl.db.auditEvent.findMany({
      where: { action: 'recording_job.recording_start', targetId: created.job.id },
    });
    expect(audited).toEqual([expect.objectContaining({ outcome: 'success', actorType: 'node' })]);

    // And the rest of the way: stopped (the job-stop command), uploaded, completed.
    expect(recorder.stopRecording(created.job.id)).toBe(true);
    const done = await until(async () => {
      const view = await recordingView(created.id);
      return view.state === 'completed' ? view : undefined;
    }, 'the recording to complete');
    expect(done.job.state).toBe('completed');
    await uploader.idle();
    expect(journal.list()).toEqual([]);
  }, 60_000);
});
