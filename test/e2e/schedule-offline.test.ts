/**
 * Scheduled recording with the built processes: the controller and the agent capturing a
 * tone from a PulseAudio null sink. (1) A schedule starting in ~20 s, the controller stopped
 * before the start: the agent records on time from its cache, and when the controller is
 * back the upload completes with the checksum the agent computed. (2) The agent SIGKILLed
 * mid-window and started again: it records again within 5 s, and both parts are uploaded,
 * linked to the occurrence.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/processes.js';
import { hasPulse } from '../support/pulse.js';
import { sha256 } from '../support/recordings.js';
import { type SinkNode, sinkNode } from '../support/sink-node.js';

const OWNER = { username: 'sched-owner', password: 'schedule owner password 123' };
const NODE_ID = 'sched-node';

interface RecordingView {
  id: string;
  state: string;
  sha256: string | null;
  durationMs: number | null;
  plannedStartAt: string | null;
  firstSampleAt: string | null;
  partial: boolean;
  partialReason: string | null;
  job: { id: string; scheduleId: string | null; part: number; parentJobId: string | null };
}

interface JournalFile {
  entries: { jobId: string; state: string; sha256?: string; capture?: { firstSampleAtMs?: number } }[];
}

describe('end to end: scheduled recording without the controller', async () => {
  const pulseAvailable = await hasPulse();
  let e2e: SinkNode;
  const logs = () => e2e.logs();
  const api = <T = Record<string, unknown>>(path: string, init: RequestInit = {}) => e2e.api<T>(path, init);
  const journal = async (): Promise<JournalFile> =>
    JSON.parse(await readFile(join(e2e.agentCacheDir, 'journal.json'), 'utf8').catch(() => '{"entries":[]}'));

  beforeAll(async () => {
    if (!pulseAvailable) return;
    e2e = await sinkNode({
      name: 'e2e-schedule',
      owner: OWNER,
      node: { id: NODE_ID, name: 'Schedule node' },
      agentLogChars: 6000,
    });
    e2e.startAgent();
  }, 180_000);

  afterAll(async () => {
    await e2e?.stop();
  });

  /** A one-off schedule for the node starting `inMs` from now (whole second, UTC). */
  async function schedule(inMs: number, seconds: number): Promise<{ id: string; startMs: number }> {
    const startMs = Math.ceil((Date.now() + inMs) / 1000) * 1000;
    const created = await api<{ id: string }>('/api/v1/schedules', {
      method: 'POST',
      body: JSON.stringify({
        name: `e2e ${startMs}`,
        timeZone: 'UTC',
        start: new Date(startMs).toISOString().slice(0, 19),
        durationSeconds: seconds,
        targets: [{ nodeId: NODE_ID }],
      }),
    });
    return { id: created.id, startMs };
  }

  async function recordingsOf(scheduleId: string): Promise<RecordingView[]> {
    const all = await api<RecordingView[]>(`/api/v1/recordings?nodeId=${NODE_ID}&limit=100`);
    return all.filter((r) => r.job?.scheduleId === scheduleId);
  }

  async function completedOf(scheduleId: string, count: number): Promise<RecordingView[]> {
    return waitFor(
      `${count} completed recording(s) of schedule ${scheduleId}`,
      async () => {
        const done = (await recordingsOf(scheduleId)).filter((r) => r.state === 'completed');
        return done.length >= count ? done.sort((a, b) => a.job.part - b.job.part) : undefined;
      },
      120_000,
      logs,
    );
  }

  async function checksumOf(id: string): Promise<string> {
    const response = await fetch(`${e2e.base}/api/v1/recordings/${id}/file`, {
      headers: { authorization: `Bearer ${e2e.token}` },
    });
    expect(response.status).toBe(200);
    return sha256(Buffer.from(await response.arrayBuffer()));
  }

  it.runIf(pulseAvailable)(
    'records on time with the controller stopped before the start, and uploads when it is back',
    async () => {
      const { id, startMs } = await schedule(20_000, 5);
      // The agent caches the occurrence (the controller nudges it with schedule-changed).
      await waitFor(
        'the occurrence in the agent cache',
        async () => {
          const text = await readFile(join(e2e.agentCacheDir, 'occurrences.json'), 'utf8').catch(() => '');
          return text.includes(new Date(startMs).toISOString()) ? true : undefined;
        },
        15_000,
        logs,
      );
      await e2e.controller!.stop();
      expect(Date.now()).toBeLessThan(startMs);
      // Recorded and hashed while the controller is down.
      const offline = await waitFor(
        'the occurrence recorded offline',
        async () => {
          const entry = (await journal()).entries.find((e) => e.state === 'recorded');
          return entry?.sha256 ? entry : undefined;
        },
        60_000,
        logs,
      );
      await e2e.startController();
      const [recording] = await completedOf(id, 1);
      expect(recording!.sha256).toBe(offline.sha256);
      expect(await checksumOf(recording!.id)).toBe(offline.sha256);
      expect(recording!.plannedStartAt).toBe(new Date(startMs).toISOString());
      const lateMs = Date.parse(recording!.firstSampleAt!) - startMs;
      expect(lateMs, logs()).toBeGreaterThanOrEqual(0);
      expect(lateMs, logs()).toBeLessThan(500);
      expect(recording!.partial).toBe(false);
    },
  );

  it.runIf(pulseAvailable)(
    'SIGKILLed mid-window, records again within 5 s; both parts upload, linked to the occurrence',
    async () => {
      // Back after the restart of the first test (the nudge of a new schedule goes over MQTT).
      await e2e.untilOnline(); // the agent connected again
      const { id, startMs } = await schedule(8000, 12);
      await waitFor(
        'the occurrence recording for 2 s',
        async () => {
          const recording = (await journal()).entries.find(
            (e) => e.state === 'recording' && e.capture?.firstSampleAtMs,
          );
          return recording && Date.now() > startMs + 2000 ? recording : undefined;
        },
        30_000,
        logs,
      );
      await e2e.agent!.stop('SIGKILL');
      const killedAt = Date.now();
      e2e.startAgent();
      const [one, two] = await completedOf(id, 2);
      expect(one!.job.part).toBe(1);
      expect(one!.partial).toBe(true);
      expect(one!.partialReason).toBe('agent restarted during the recording');
      expect(two!.job.part).toBe(2);
      expect(two!.job.parentJobId).toBe(one!.job.id);
      expect(two!.partial).toBe(true);
      expect(Date.parse(two!.firstSampleAt!) - killedAt, logs()).toBeLessThan(5000);
      expect(await checksumOf(one!.id)).toBe(one!.sha256);
      expect(await checksumOf(two!.id)).toBe(two!.sha256);
    },
  );

  it.runIf(!pulseAvailable)(
    'needs PulseAudio and sox (apt-get install pulseaudio pulseaudio-utils sox libsox-fmt-all)',
    () => {
      expect(process.env.CI, 'CI must have PulseAudio: scripts/system-deps.sh installs it').toBeFalsy();
    },
  );
});
