/**
 * The whole product as processes: the built controller and agent, the agent capturing
 * a 1 kHz sine at -20 dBFS from a PulseAudio null sink. A 5 s ad-hoc recording must
 * arrive checksum-verified with the played level, and live meters must show it.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/processes.js';
import { hasPulse } from '../support/pulse.js';
import { type SinkNode, sinkNode } from '../support/sink-node.js';
import { readSse } from '../support/sse.js';

const run = promisify(execFile);
const PLAYED_PEAK_DBFS = -20;
const OWNER = { username: 'e2e-owner', password: 'e2e owner password 123' };

async function soxPeakDb(path: string): Promise<number> {
  const { stderr } = await run('sox', [path, '-n', 'stats']);
  const match = /Pk lev dB\s+(-?[\d.]+)/.exec(stderr);
  if (!match) throw new Error(`no peak in sox stats: ${stderr}`);
  return Number(match[1]);
}

describe('end to end: controller + agent + virtual sound card', async () => {
  const pulseAvailable = await hasPulse();
  let e2e: SinkNode;
  const nodeId = 'e2e-node';
  const json = (path: string, init: RequestInit = {}) => e2e.api(path, init);
  const logs = () => e2e.logs();
  /** Every secret this test handled: none may appear in any process's output. */
  const secrets: string[] = [];

  beforeAll(async () => {
    if (!pulseAvailable) return;
    e2e = await sinkNode({
      name: 'e2e',
      owner: OWNER,
      node: { id: nodeId, name: 'E2E node' },
      peakDbfs: PLAYED_PEAK_DBFS,
    });
    secrets.push(e2e.enrollmentToken, e2e.token, OWNER.password);
    const state = JSON.parse(await readFile(e2e.agentConfig, 'utf8')) as Record<string, unknown>;
    secrets.push(
      ...Object.values(state).filter(
        (v): v is string => typeof v === 'string' && v.includes('.') && v.length > 30,
      ),
    );
    e2e.startAgent();
  }, 180_000);

  afterAll(async () => {
    await e2e?.stop();
  });

  it.runIf(pulseAvailable)('streams live meters over SSE at the played level', async () => {
    const peaks: number[] = [];
    await readSse(
      `${e2e.base}/api/v1/meter-events?nodeId=${nodeId}`,
      { authorization: `Bearer ${e2e.token}` },
      (event) => {
        if (event.event !== 'meter') return undefined;
        const { nodeId: from, frame } = JSON.parse(event.data) as {
          nodeId: string;
          frame: { channels: { peakDbfs: number }[] };
        };
        if (from !== nodeId) return undefined;
        peaks.push(...frame.channels.map((c) => c.peakDbfs));
        return peaks.length >= 40 ? true : undefined;
      },
      90_000,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${logs()}`);
    });
    // The last frames (the first may precede the tone). A loaded machine can under-run
    // PulseAudio and slip silence into a window, so judge the median and most windows.
    const recent = peaks.slice(-20).sort((a, b) => a - b);
    expect(Math.abs(recent[10]! - PLAYED_PEAK_DBFS), `median of ${recent}`).toBeLessThanOrEqual(0.5);
    expect(
      recent.filter((p) => Math.abs(p - PLAYED_PEAK_DBFS) <= 0.5).length,
      `${recent}`,
    ).toBeGreaterThanOrEqual(16);
  });

  it.runIf(pulseAvailable)(
    'records 5 s into the library, checksum-verified, at the played level',
    async () => {
      const created = await json('/api/v1/recordings', {
        method: 'POST',
        body: JSON.stringify({ nodeId, durationSeconds: 5, title: 'e2e' }),
      });
      const recordingId = String(created.id);
      const done = await waitFor(
        'recording completed',
        async () => {
          const r = await json(`/api/v1/recordings/${recordingId}`);
          if (r.state === 'failed') throw new Error(`recording failed: ${JSON.stringify(r)}`);
          return r.state === 'completed' ? r : undefined;
        },
        120_000,
        logs,
      );
      const response = await fetch(`${e2e.base}/api/v1/recordings/${recordingId}/file`, {
        headers: { authorization: `Bearer ${e2e.token}` },
      });
      expect(response.status).toBe(200);
      const bytes = Buffer.from(await response.arrayBuffer());
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(done.sha256);
      expect(bytes.length).toBe(Number(done.sizeBytes));
      // 5 s of 48 kHz stereo s16le plus the 44-byte header.
      expect(bytes.length).toBe(44 + 5 * 48_000 * 2 * 2);
      const file = join(e2e.dir.path, 'download.wav');
      await writeFile(file, bytes);
      expect(Math.abs((await soxPeakDb(file)) - PLAYED_PEAK_DBFS)).toBeLessThanOrEqual(0.1);
    },
  );

  async function downloadAndCheck(recordingId: string, sha256: unknown, seconds: number): Promise<void> {
    const response = await fetch(`${e2e.base}/api/v1/recordings/${recordingId}/file`, {
      headers: { authorization: `Bearer ${e2e.token}` },
    });
    expect(response.status).toBe(200);
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(sha256);
    expect(bytes.length).toBe(44 + seconds * 48_000 * 2 * 2);
  }

  it.runIf(pulseAvailable)(
    'keeps recording through a controller restart and finishes the job afterwards',
    async () => {
      const created = await json('/api/v1/recordings', {
        method: 'POST',
        body: JSON.stringify({ nodeId, durationSeconds: 8, title: 'restart' }),
      });
      const recordingId = String(created.id);
      await waitFor(
        'recording started',
        async () => {
          const r = await json(`/api/v1/recordings/${recordingId}`);
          const job = r.job as { state: string } | undefined;
          return job && ['recording', 'claimed'].includes(job.state) ? true : undefined;
        },
        60_000,
        logs,
      );
      await e2e.controller!.stop();
      // The controller is gone for a while; the agent keeps recording and retries.
      await new Promise((r) => setTimeout(r, 4000));
      await e2e.startController();
      const done = await waitFor(
        'recording completed after the restart',
        async () => {
          const r = await json(`/api/v1/recordings/${recordingId}`);
          if (r.state === 'failed') throw new Error(`recording failed: ${JSON.stringify(r)}`);
          return r.state === 'completed' ? r : undefined;
        },
        180_000,
        logs,
      );
      await downloadAndCheck(recordingId, done.sha256, 8);
    },
  );

  it.runIf(pulseAvailable)('never writes a secret to a log line', () => {
    expect(secrets.length).toBeGreaterThanOrEqual(4);
    for (const secret of secrets) {
      expect(e2e.controller!.output()).not.toContain(secret);
      expect(e2e.agent!.output()).not.toContain(secret);
      expect(e2e.controller!.output()).not.toContain(secret.split('.').pop());
    }
  });

  it.runIf(!pulseAvailable)(
    'needs PulseAudio and sox (apt-get install pulseaudio pulseaudio-utils sox libsox-fmt-all)',
    () => {
      expect(process.env.CI, 'CI must have PulseAudio: scripts/system-deps.sh installs it').toBeFalsy();
    },
  );
});
