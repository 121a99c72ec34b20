/**
 * An agent killed with SIGKILL, as processes: the built controller and the built agent
 * capturing from a PulseAudio null sink. The agent gets no chance to say goodbye; the
 * controller must mark its node offline within 45 s and raise one `node_offline` event; the
 * agent started again brings the node back online and the event resolves.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerSetup, fetchData, runController, setUpOwner } from '../support/controller-process.js';
import {
  AGENT_CLI,
  type RunningProcess,
  requireBuild,
  runToEnd,
  startProcess,
} from '../support/processes.js';
import { hasPulse, type PulseSink, startPulseSink } from '../support/pulse.js';
import { type TempDir, tempDir } from '../support/tmp.js';
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
  let dir: TempDir;
  let sink: PulseSink;
  let controller: RunningProcess | undefined;
  let agent: RunningProcess | undefined;
  let base: string;
  let token: string;
  let agentEnv: Record<string, string>;
  const logs = () =>
    `controller:\n${controller?.output().slice(-3000)}\nagent:\n${agent?.output().slice(-3000)}`;
  const api = <T = Record<string, unknown>>(path: string) => fetchData<T>(base, path, token);
  const online = async () =>
    (await api<{ presence: { online: boolean } }>(`/api/v1/nodes/${NODE_ID}`)).presence.online as boolean;
  const offlineEvents = () => api<EventView[]>(`/api/v1/health-events?nodeId=${NODE_ID}&type=node_offline`);
  /** Polls with the output of both processes in the failure. */
  const poll = async (what: string, condition: () => Promise<boolean>, timeoutMs: number) =>
    until(condition, { what, timeoutMs, intervalMs: 200 }).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${logs()}`);
    });

  beforeAll(async () => {
    if (!pulseAvailable) return;
    requireBuild();
    dir = await tempDir('e2e-kill');
    sink = await startPulseSink({ peakDbfs: -20, hz: 1000, sampleRate: 48_000, channels: 2 });
    const setup = await controllerSetup(join(dir.path, 'controller'));
    base = setup.base;
    controller = await runController(setup, { context: logs, onSpawn: (started) => (controller = started) });
    token = await setUpOwner(base, OWNER);
    const enrolled = await fetchData(base, '/api/v1/nodes/enroll', token, {
      method: 'POST',
      body: JSON.stringify({
        name: 'Kill node',
        site: 'lab',
        id: NODE_ID,
        captureDevice: sink.monitor,
        sampleRate: 48_000,
        channels: 2,
      }),
    });
    agentEnv = {
      ...sink.env,
      EARSHOT_AGENT_CONFIG: join(dir.path, 'agent', 'agent.json'),
      EARSHOT_AGENT_CACHE_DIR: join(dir.path, 'agent', 'cache'),
    };
    const enroll = await runToEnd(
      [AGENT_CLI, 'enroll', '--controller', base, '--token', String(enrolled.enrollmentToken)],
      agentEnv,
    );
    expect(enroll.code, enroll.output).toBe(0);
    expect(JSON.parse(await readFile(agentEnv.EARSHOT_AGENT_CONFIG!, 'utf8'))).toMatchObject({
      nodeId: NODE_ID,
    });
  }, 180_000);

  afterAll(async () => {
    await agent?.stop();
    await controller?.stop();
    await sink?.stop();
    await dir?.cleanup();
  });

  it.runIf(pulseAvailable)(
    'marks the node offline within 45 s and raises node_offline; the agent back → online, event resolved',
    async () => {
      agent = startProcess('agent', [AGENT_CLI, 'run'], agentEnv);
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

      agent = startProcess('agent', [AGENT_CLI, 'run'], agentEnv);
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
