/**
 * An agent killed with SIGKILL, as processes: the built controller and the built agent
 * capturing from a PulseAudio null sink. The agent gets no chance to say goodbye; the
 * controller must mark its node offline within 45 s and raise one `node_offline` event; the
 * agent started again brings the node back online and the event resolves.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPulse } from '../support/pulse.js';
import { type SinkNode, sinkNode } from '../support/sink-node.js';
import { until } from '../support/until.js';

const OWNER = { username: 'kill-owner', password: 'kill owner password 123' };
const NODE_ID = 'killed-node';
/** The promise: offline (and the event raised) within 45 s of the agent's death. */
const OFFLINE_WITHIN_MS = 45_000;

interface EventView {
  id: string;
  status: string;
  severity: string;
  source: string;
}

describe('end to end: an agent killed with SIGKILL', async () => {
  const pulseAvailable = await hasPulse();
  let e2e: SinkNode;
  const api = <T = Record<string, unknown>>(path: string) => e2e.api<T>(path);
  const online = () => e2e.online();
  const offlineEvents = () => api<EventView[]>(`/api/v1/health-events?nodeId=${NODE_ID}&type=node_offline`);
  /** Polls with the output of both processes in the failure. */
  const poll = async (what: string, condition: () => Promise<boolean>, timeoutMs: number) =>
    until(condition, { what, timeoutMs, intervalMs: 200 }).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${e2e.logs()}`);
    });

  beforeAll(async () => {
    if (!pulseAvailable) return;
    e2e = await sinkNode({ name: 'e2e-kill', owner: OWNER, node: { id: NODE_ID, name: 'Kill node' } });
    expect(JSON.parse(await readFile(e2e.agentConfig, 'utf8'))).toMatchObject({ nodeId: NODE_ID });
  }, 180_000);

  afterAll(async () => {
    await e2e?.stop();
  });

  it.runIf(pulseAvailable)(
    'marks the node offline within 45 s and raises node_offline; the agent back → online, event resolved',
    async () => {
      const agent = e2e.startAgent();
      await poll('the node online', online, 60_000);
      expect(await offlineEvents()).toEqual([]);

      agent.child.kill('SIGKILL');
      const killedAt = Date.now();
      expect(await agent.exited).toBeNull(); // killed by the signal: no exit code
      await poll(
        'the node offline with an open node_offline event',
        async () => !(await online()) && (await offlineEvents()).some((e) => e.status === 'open'),
        OFFLINE_WITHIN_MS,
      );
      expect(Date.now() - killedAt).toBeLessThan(OFFLINE_WITHIN_MS);
      const [raised, ...more] = await offlineEvents();
      expect(more).toEqual([]); // one event per outage
      expect(raised).toMatchObject({ status: 'open', severity: 'critical', source: 'controller' });

      e2e.startAgent();
      await poll(
        'the node back online with its node_offline event resolved',
        async () => (await online()) && (await offlineEvents()).every((e) => e.status === 'resolved'),
        60_000,
      );
      const [resolved, ...others] = await offlineEvents();
      expect(others).toEqual([]);
      expect(resolved).toMatchObject({ id: raised!.id, status: 'resolved' });
    },
  );

  it.runIf(!pulseAvailable)(
    'needs PulseAudio and sox (apt-get install pulseaudio pulseaudio-utils sox libsox-fmt-all)',
    () => {
      expect(process.env.CI, 'CI must have PulseAudio: scripts/system-deps.sh installs it').toBeFalsy();
    },
  );
});
