/**
 * What the end-to-end tests of the built agent share: a PulseAudio null sink playing a tone
 * (1 kHz unless told; 48 kHz stereo), the built controller on a fresh SQLite data dir with its owner signed
 * in, and one node enrolled to capture the sink's monitor with the built agent's `enroll`.
 * The agent is not started: each test starts (and kills) it when it needs to.
 */
import { join } from 'node:path';
import {
  type ControllerSetup,
  controllerSetup,
  fetchData,
  runController,
  setUpOwner,
} from './controller-process.js';
import { AGENT_CLI, type RunningProcess, requireBuild, runToEnd, startProcess } from './processes.js';
import { type PulseSink, startPulseSink } from './pulse.js';
import { type TempDir, tempDir } from './tmp.js';
import { until } from './until.js';

export interface SinkNode {
  dir: TempDir;
  sink: PulseSink;
  setup: ControllerSetup;
  /** `http://127.0.0.1:<port>` of the controller. */
  base: string;
  /** The owner's session token. */
  token: string;
  /** The token the node was enrolled with (a secret no output may show). */
  enrollmentToken: string;
  /** The agent's environment: the sink's, its config file and cache dir. */
  agentEnv: Record<string, string>;
  /** The agent's config file, written by `enroll`. */
  agentConfig: string;
  agentCacheDir: string;
  /** The running processes, once started (the last started of each). */
  controller: RunningProcess | undefined;
  agent: RunningProcess | undefined;
  /** Starts the controller (again) on the same data and ports; resolves once it is ready. */
  startController(): Promise<RunningProcess>;
  /** Starts `earshot-agent run`. */
  startAgent(): RunningProcess;
  /** The last output of both processes, for failure messages. */
  logs(): string;
  /** Whether the controller sees the node online now. */
  online(): Promise<boolean>;
  /** Waits until the node is online (the agent connected); throws with both logs after `timeoutMs`. */
  untilOnline(timeoutMs?: number): Promise<void>;
  /** The owner's JSON API: the response's `data`; throws on an error status. */
  api<T = Record<string, unknown>>(path: string, init?: RequestInit): Promise<T>;
  /** Stops the agent, the controller and the sink; removes the data. */
  stop(): Promise<void>;
}

export async function sinkNode(options: {
  /** Names the temp dir. */
  name: string;
  owner: { username: string; password: string };
  node: { id: string; name: string };
  /** The tone's peak level (default −20 dBFS). */
  peakDbfs?: number;
  /** The tone's frequency (default 1 kHz). */
  hz?: number;
  /** How much of the agent's output `logs()` shows (default 3,000 characters). */
  agentLogChars?: number;
}): Promise<SinkNode> {
  requireBuild();
  const dir = await tempDir(options.name);
  const sink = await startPulseSink({
    peakDbfs: options.peakDbfs ?? -20,
    hz: options.hz ?? 1000,
    sampleRate: 48_000,
    channels: 2,
  });
  const setup = await controllerSetup(join(dir.path, 'controller'));
  const agentConfig = join(dir.path, 'agent', 'agent.json');
  const agentCacheDir = join(dir.path, 'agent', 'cache');
  const agentEnv = { ...sink.env, EARSHOT_AGENT_CONFIG: agentConfig, EARSHOT_AGENT_CACHE_DIR: agentCacheDir };
  const node: SinkNode = {
    dir,
    sink,
    setup,
    base: setup.base,
    token: '',
    enrollmentToken: '',
    agentEnv,
    agentConfig,
    agentCacheDir,
    controller: undefined,
    agent: undefined,
    startController: () =>
      runController(setup, {
        context: () => node.logs(),
        onSpawn: (started) => {
          node.controller = started;
        },
      }),
    startAgent: () => {
      node.agent = startProcess('agent', [AGENT_CLI, 'run'], agentEnv);
      return node.agent;
    },
    logs: () =>
      `controller:\n${node.controller?.output().slice(-3000)}\nagent:\n${node.agent?.output().slice(-(options.agentLogChars ?? 3000))}`,
    api: (path, init = {}) => fetchData(setup.base, path, node.token, init),
    online: async () =>
      (await node.api<{ presence: { online: boolean } }>(`/api/v1/nodes/${options.node.id}`)).presence.online,
    untilOnline: (timeoutMs = 60_000) =>
      until(() => node.online(), { what: 'the node online', timeoutMs, intervalMs: 200 }).catch(
        (error: unknown) => {
          throw new Error(`${String(error)}\n${node.logs()}`);
        },
      ),
    stop: async () => {
      await node.agent?.stop();
      await node.controller?.stop();
      await sink.stop();
      await dir.cleanup();
    },
  };
  try {
    await node.startController();
    node.token = await setUpOwner(setup.base, options.owner);
    const enrolled = await node.api('/api/v1/nodes/enroll', {
      method: 'POST',
      body: JSON.stringify({
        ...options.node,
        site: 'lab',
        captureDevice: sink.monitor,
        sampleRate: 48_000,
        channels: 2,
      }),
    });
    node.enrollmentToken = String(enrolled.enrollmentToken);
    const enroll = await runToEnd(
      [AGENT_CLI, 'enroll', '--controller', setup.base, '--token', node.enrollmentToken],
      agentEnv,
    );
    if (enroll.code !== 0)
      throw new Error(`earshot-agent enroll exited with ${enroll.code}:\n${enroll.output}`);
    if (enroll.output.includes(node.enrollmentToken))
      throw new Error(`earshot-agent enroll printed its enrollment token:\n${enroll.output}`);
  } catch (error) {
    await node.stop();
    throw error;
  }
  return node;
}
