/**
 * Live listen end to end, as processes: the built agent capturing a 997 Hz tone played into a
 * PulseAudio null sink, the built controller, and the project's listen client. The decoded
 * audio has the tone's frequency and level (within Opus's tolerance) and no sequence gap over
 * 10 s, and the agent streams from its one capture (no second sox).
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../../controller/src/client/listen-client.js';
import { joined, medianOver, rmsDbfs, toneFrequency } from '../support/listen.js';
import { hasPulse } from '../support/pulse.js';
import { type SinkNode, sinkNode } from '../support/sink-node.js';
import { until } from '../support/until.js';

const OWNER = { username: 'listen-owner', password: 'listen owner password 123' };
const NODE_ID = 'listen-node';
const PEAK_DBFS = -20;

/** How many sox processes capture for this agent (its pid's children). */
function soxChildren(pid: number): number {
  const out = execFileSync('ps', ['-o', 'comm=', '--ppid', String(pid)], { encoding: 'utf8' });
  return out.split('\n').filter((c) => c.trim() === 'sox' || c.trim() === 'rec').length;
}

describe('end to end: live listen from a PulseAudio sink', async () => {
  const pulseAvailable = await hasPulse();
  let e2e: SinkNode;

  beforeAll(async () => {
    if (!pulseAvailable) return;
    e2e = await sinkNode({
      name: 'e2e-listen',
      owner: OWNER,
      node: { id: NODE_ID, name: 'Listen node' },
      hz: 997,
      peakDbfs: PEAK_DBFS,
    });
  }, 180_000);

  afterAll(async () => {
    await e2e?.stop();
  });

  it.runIf(pulseAvailable)(
    'a listener hears the 997 Hz tone at its level, with no sequence gap over 10 s',
    async () => {
      const agent = e2e.startAgent();
      await e2e.untilOnline();
      const soxBefore = soxChildren(agent.child.pid!);
      expect(soxBefore).toBe(1);

      const heard: Int16Array[] = [];
      const connection = await listen(
        { baseUrl: e2e.base, token: e2e.token, nodeId: NODE_ID, channels: [1] },
        ({ pcm }) => heard.push(pcm),
      );
      await until(() => connection.stats.frames > 0, { what: 'a first frame', timeoutMs: 10_000 });
      const first = connection.stats.frames;
      await new Promise((resolve) => setTimeout(resolve, 10_000));
      const during = connection.stats.frames - first;
      expect(soxChildren(agent.child.pid!)).toBe(soxBefore); // no second capture
      expect(await connection.close()).toBe(4000);

      expect(connection.stats.lost, e2e.logs()).toBe(0);
      expect(during).toBeGreaterThanOrEqual(480); // 50 frames a second
      // Half-second windows, their median: the test sink's looped tone file has a gap where it restarts.
      const pcm = joined(heard).subarray(48_000); // past the first second
      expect(medianOver(pcm, (w) => toneFrequency(w))).toBeCloseTo(997, 0);
      // A sine's RMS is 3.01 dB under its peak; Opus at 64 kbit/s keeps a pure tone's level within 0.5 dB.
      expect(Math.abs(medianOver(pcm, rmsDbfs) - (PEAK_DBFS - 3.01))).toBeLessThan(0.5);
    },
    120_000,
  );
});
