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
import { controllerSetup, fetchData, runController, setUpOwner } from '../support/controller-process.js';
import {
  AGENT_CLI,
  type RunningProcess,
  requireBuild,
  runToEnd,
  startProcess,
  waitFor,
} from '../support/processes.js';
import { hasPulse, type PulseSink, startPulseSink } from '../support/pulse.js';
import { readSse } from '../support/sse.js';
import { type TempDir, tempDir } from '../support/tmp.js';

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
  let dir: TempDir;
  let sink: PulseSink;
  let controller: RunningProcess;
  let agent: RunningProcess;
  let base: string;
  let token: string;
  const nodeId = 'e2e-node';
  let json: (path: string, init?: RequestInit) => Promise<Record<string, unknown>>;
  let startController: () => Promise<void>;
  /** Every secret this test handled: none may appear in any process's output. */
  const secrets: string[] = [];
  const logs = () =>
    `controller:\n${controller?.output().slice(-3000)}\nagent:\n${agent?.output().slice(-3000)}`;

  beforeAll(async () => {
    if (!pulseAvailable) return;
    requireBuild();
    dir = await tempDir('e2e');
    sink = await startPulseSink({ peakDbfs: PLAYED_PEAK_DBFS, hz: 1000, sampleRate: 48_000, channels: 2 });
    const setup = await controllerSetup(join(dir.path, 'controller'));
    base = setup.base;
    startController = async () => {
      await runController(setup, { context: logs, onSpawn: (started) => (controller = started) });
    };
    await startController();

    json = (path: string, init: RequestInit = {}) => fetchData(base, path, token, init);
    token = await setUpOwner(base, OWNER);
    const enrolled = await json('/api/v1/nodes/enroll', {
      method: 'POST',
      body: JSON.stringify({
        name: 'E2E node',
        site: 'lab',
        id: nodeId,
        captureDevice: sink.monitor,
        sampleRate: 48_000,
        channels: 2,
      }),
    });
    const agentEnv = {
      ...sink.env,
      EARSHOT_AGENT_CONFIG: join(dir.path, 'agent', 'agent.json'),
      EARSHOT_AGENT_CACHE_DIR: join(dir.path, 'agent', 'cache'),
    };
    const enroll = await runToEnd(
      [AGENT_CLI, 'enroll', '--controller', base, '--token', String(enrolled.enrollmentToken)],
      agentEnv,
    );
    expect(enroll.code, enroll.output).toBe(0);
    expect(enroll.output).not.toContain(String(enrolled.enrollmentToken));
    secrets.push(String(enrolled.enrollmentToken), token, OWNER.password);
    const state = JSON.parse(await readFile(agentEnv.EARSHOT_AGENT_CONFIG, 'utf8')) as Record<
      string,
      unknown
    >;
    secrets.push(
      ...Object.values(state).filter(
        (v): v is string => typeof v === 'string' && v.includes('.') && v.length > 30,
      ),
    );
    agent = startProcess('agent', [AGENT_CLI, 'run'], agentEnv);
  }, 180_000);

  afterAll(async () => {
    await agent?.stop();
    await controller?.stop();
    await sink?.stop();
    await dir?.cleanup();
  });

  it.runIf(pulseAvailable)('streams live meters over SSE at the played level', async () => {
    const peaks: number[] = [];
    await readSse(
      `${base}/api/v1/meter-events?nodeId=${nodeId}`,
      { authorization: `Bearer ${token}` },
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
      const response = await fetch(`${base}/api/v1/recordings/${recordingId}/file`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(200);
      const bytes = Buffer.from(await response.arrayBuffer());
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(done.sha256);
      expect(bytes.length).toBe(Number(done.sizeBytes));
      // 5 s of 48 kHz stereo s16le plus the 44-byte header.
      expect(bytes.length).toBe(44 + 5 * 48_000 * 2 * 2);
      const file = join(dir.path, 'download.wav');
      await writeFile(file, bytes);
      expect(Math.abs((await soxPeakDb(file)) - PLAYED_PEAK_DBFS)).toBeLessThanOrEqual(0.1);
    },
  );

  async function downloadAndCheck(recordingId: string, sha256: unknown, seconds: number): Promise<void> {
    const response = await fetch(`${base}/api/v1/recordings/${recordingId}/file`, {
      headers: { authorization: `Bearer ${token}` },
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
      await controller.stop();
      // The controller is gone for a while; the agent keeps recording and retries.
      await new Promise((r) => setTimeout(r, 4000));
      await startController();
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
      expect(controller.output()).not.toContain(secret);
      expect(agent.output()).not.toContain(secret);
      expect(controller.output()).not.toContain(secret.split('.').pop());
    }
  });

  it.runIf(!pulseAvailable)(
    'needs PulseAudio and sox (apt-get install pulseaudio pulseaudio-utils sox libsox-fmt-all)',
    () => {
      expect(process.env.CI, 'CI must have PulseAudio: scripts/system-deps.sh installs it').toBeFalsy();
    },
  );
});
