import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backupPath, readJsonWithBackup, writeFileAtomic } from '../../agent/src/state/atomic-file.js';
import { applyAudioEnvDefaults, resolveSettings } from '../../agent/src/state/settings.js';
import {
  type AgentState,
  loadAgentState,
  NotEnrolledError,
  normaliseControllerUrl,
  readAgentState,
  writeAgentState,
} from '../../agent/src/state/state-file.js';
import { type TempDir, tempDir } from '../support/tmp.js';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir('agent-state');
});
afterEach(async () => {
  await dir.cleanup();
});

const STATE: AgentState = {
  version: 1,
  controllerUrl: 'http://controller:8080',
  nodeId: 'node-1',
  name: 'Studio A',
  siteId: 'site-1',
  credential: 'node-1.abcdefghijklmnopqrstuvwx',
  mqttPort: 1883,
  enrolledAt: '2025-01-01T00:00:00.000Z',
};

describe('agent state file', () => {
  it('is written with mode 0600 and reads back equal', async () => {
    const path = join(dir.path, 'sub', 'agent.json');
    await writeAgentState(path, STATE);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readAgentState(path)).toEqual(STATE);
  });

  it('an atomic write leaves no temp file behind, and keeps the previous version as .bak (also 0600)', async () => {
    const path = join(dir.path, 'agent.json');
    await writeAgentState(path, STATE);
    await writeAgentState(path, { ...STATE, name: 'Studio B' });
    expect((await readdir(dir.path)).sort()).toEqual(['agent.json', 'agent.json.bak']);
    expect(JSON.parse(await readFile(backupPath(path), 'utf8')).name).toBe('Studio A');
    expect((await stat(backupPath(path))).mode & 0o777).toBe(0o600);
    expect((await readAgentState(path))?.name).toBe('Studio B');
  });

  it('falls back to the backup when the main file is torn', async () => {
    const path = join(dir.path, 'agent.json');
    await writeAgentState(path, STATE);
    await writeAgentState(path, STATE);
    await writeFile(path, '{"version":1,"contr');
    expect(await readAgentState(path)).toEqual(STATE);
  });

  it('throws rather than pretending not to be enrolled when nothing readable is left', async () => {
    const path = join(dir.path, 'agent.json');
    await writeFile(path, 'garbage');
    await expect(readJsonWithBackup(path)).rejects.toThrow(/not valid JSON/);
  });

  it('says how to enroll when there is no state file', async () => {
    const path = join(dir.path, 'missing.json');
    expect(await readAgentState(path)).toBeUndefined();
    const error = await loadAgentState(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotEnrolledError);
    expect((error as Error).message).toMatch(/not enrolled.*earshot-agent enroll --controller URL --token T/);
  });

  it('refuses a credential that belongs to another node', async () => {
    const path = join(dir.path, 'agent.json');
    await writeFileAtomic(path, JSON.stringify({ ...STATE, credential: 'node-2.abcdefghijklmnopqrstuvwx' }));
    await expect(readAgentState(path)).rejects.toThrow(/does not belong to node node-1/);
  });

  it('error messages never contain the credential', async () => {
    const path = join(dir.path, 'agent.json');
    await writeFileAtomic(path, JSON.stringify({ ...STATE, mqttPort: 'x' }));
    const error = (await readAgentState(path).catch((e: unknown) => e)) as Error;
    expect(error.message).not.toContain('abcdefghijklmnop');
  });
});

describe('controller URL', () => {
  it('is normalised without a trailing slash', () => {
    expect(normaliseControllerUrl('http://controller:8080/')).toBe('http://controller:8080');
    expect(normaliseControllerUrl('https://example.org/earshot/?x=1')).toBe('https://example.org/earshot');
  });

  it('must be http(s)', () => {
    expect(() => normaliseControllerUrl('controller:8080')).toThrow(/http/);
    expect(() => normaliseControllerUrl('not a url')).toThrow(/must be a URL/);
  });
});

describe('settings from the environment', () => {
  it('puts the cache next to the state file unless told otherwise', () => {
    const settings = resolveSettings({ EARSHOT_AGENT_CONFIG: '/srv/agent/agent.json' });
    expect(settings.statePath).toBe('/srv/agent/agent.json');
    expect(settings.cacheDir).toBe('/srv/agent/cache');
    expect(
      resolveSettings({ EARSHOT_AGENT_CACHE_DIR: '/data/cache' }, { configPath: '/x/a.json' }),
    ).toMatchObject({
      statePath: '/x/a.json',
      cacheDir: '/data/cache',
    });
  });

  it('--config wins over EARSHOT_AGENT_CONFIG; EARSHOT_AGENT_DEVICE is an override', () => {
    const settings = resolveSettings(
      { EARSHOT_AGENT_CONFIG: '/a.json', EARSHOT_AGENT_DEVICE: 'hw:1,0' },
      { configPath: '/b.json' },
    );
    expect(settings.statePath).toBe('/b.json');
    expect(settings.deviceOverride).toBe('hw:1,0');
  });

  it('defaults PULSE_LATENCY_MSEC to 30 with pulseaudio, and leaves a set value alone', () => {
    const pulse: Record<string, string | undefined> = { AUDIODRIVER: 'pulseaudio' };
    applyAudioEnvDefaults(pulse);
    expect(pulse.PULSE_LATENCY_MSEC).toBe('30');
    const custom: Record<string, string | undefined> = {
      AUDIODRIVER: 'pulseaudio',
      PULSE_LATENCY_MSEC: '50',
    };
    applyAudioEnvDefaults(custom);
    expect(custom.PULSE_LATENCY_MSEC).toBe('50');
    const alsa: Record<string, string | undefined> = { AUDIODRIVER: 'alsa' };
    applyAudioEnvDefaults(alsa);
    expect(alsa.PULSE_LATENCY_MSEC).toBeUndefined();
  });
});
