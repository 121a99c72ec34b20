/**
 * Where the agent keeps things and which environment overrides apply. Loaded once by
 * the CLI and passed in; nothing reads process.env after this.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export const SYSTEM_STATE_PATH = '/var/lib/earshot-agent/agent.json';
export const LOCAL_STATE_PATH = './earshot-agent/agent.json';

export interface AgentSettings {
  /** The state file (credential, controller URL, node id); mode 0600. */
  statePath: string;
  /** Recordings waiting for upload, and the job journal. */
  cacheDir: string;
  /** EARSHOT_AGENT_DEVICE: capture device that wins over the controller's config. */
  deviceOverride: string | undefined;
  /** EARSHOT_AGENT_MQTT_URL: broker URL when it is not the controller host (e.g. mqtts://…). */
  mqttUrlOverride: string | undefined;
  /** AUDIODRIVER as sox will see it (for status output). */
  audioDriver: string | undefined;
  logLevel: string;
  /** EARSHOT_AGENT_CLOCK_WARN_MS: warn when the clock is off the controller's by more. Default 2000. */
  clockWarnMs: number;
}

type Env = Record<string, string | undefined>;

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** /var/lib/earshot-agent/agent.json when running as root and it is writable, else ./earshot-agent/agent.json. */
export function defaultStatePath(isRoot = process.getuid?.() === 0): string {
  if (isRoot && isWritableOrCreatable(dirname(SYSTEM_STATE_PATH))) return SYSTEM_STATE_PATH;
  return resolve(LOCAL_STATE_PATH);
}

function isWritableOrCreatable(dir: string): boolean {
  let probe = dir;
  while (!existsSync(probe)) {
    const parent = dirname(probe);
    if (parent === probe) return false;
    probe = parent;
  }
  try {
    accessSync(probe, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export function resolveSettings(env: Env, options: { configPath?: string } = {}): AgentSettings {
  const statePath = resolve(options.configPath ?? nonEmpty(env.EARSHOT_AGENT_CONFIG) ?? defaultStatePath());
  const cacheDir = resolve(nonEmpty(env.EARSHOT_AGENT_CACHE_DIR) ?? join(dirname(statePath), 'cache'));
  return {
    statePath,
    cacheDir,
    deviceOverride: nonEmpty(env.EARSHOT_AGENT_DEVICE),
    mqttUrlOverride: nonEmpty(env.EARSHOT_AGENT_MQTT_URL),
    audioDriver: nonEmpty(env.AUDIODRIVER),
    logLevel: nonEmpty(env.EARSHOT_AGENT_LOG_LEVEL) ?? 'info',
    clockWarnMs: clockWarnMs(env.EARSHOT_AGENT_CLOCK_WARN_MS),
  };
}

function clockWarnMs(value: string | undefined): number {
  const text = nonEmpty(value);
  if (text === undefined) return 2000;
  const ms = Number(text);
  if (!Number.isInteger(ms) || ms < 1) {
    throw new Error(
      `EARSHOT_AGENT_CLOCK_WARN_MS must be a whole number of milliseconds ≥ 1, not ${JSON.stringify(text)}`,
    );
  }
  return ms;
}

/**
 * sox with PulseAudio buffers ~2 s before the first audio arrives unless
 * PULSE_LATENCY_MSEC is set; sox inherits this process's environment (node-record-lpcm16
 * copies process.env into the child), so the default goes into `env` itself.
 */
export function applyAudioEnvDefaults(env: Env): void {
  if (env.AUDIODRIVER === 'pulseaudio' && nonEmpty(env.PULSE_LATENCY_MSEC) === undefined) {
    env.PULSE_LATENCY_MSEC = '30';
  }
}
