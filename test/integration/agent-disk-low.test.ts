/**
 * Disk low on a real filesystem: the test mounts a 4 MB tmpfs as the agent's cache directory
 * (needs root, or CAP_SYS_ADMIN), fills three quarters of it, and runs a real agent (fake sound
 * card) against a real controller and broker under a policy that calls less than half free
 * "low". The watchdog, reading the filesystem with statfs as it does on a node, raises
 * `disk_low`; once the file is deleted its next disk check (every 30 s) resolves the event.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../agent/src/agent.js';
import { enrolledAgentSettings, testAgent } from '../support/agent-harness.js';
import { bearer, enrolledNode, type TestController, testController } from '../support/controller.js';
import { type TempDir, tempDir } from '../support/tmp.js';
import { until } from '../support/until.js';

const run = promisify(execFile);
const FS_BYTES = 4 * 1024 * 1024;
/** The agent checks the disk every 30 s (health-monitor.ts); one check and some slack. */
const DISK_CHECK_WITHIN_MS = 40_000;

/** Mounts a size-limited tmpfs at `dir`; the reason it cannot, when it cannot. */
async function mountTmpfs(dir: string): Promise<string | undefined> {
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${FS_BYTES},mode=0700`, 'earshot-disk-low', dir]);
    return undefined;
  } catch (error) {
    return `cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): ${String(error).split('\n')[0]}`;
  }
}

/** Runs `stop`; if it has not finished within 45 s, says so on stderr and goes on. */
async function stopWithin(what: string, stop: () => Promise<void> | undefined): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), 45_000);
  });
  const outcome = await Promise.race([Promise.resolve(stop()).then(() => 'stopped' as const), late]);
  clearTimeout(timer);
  if (outcome === 'late') console.error(`agent-disk-low: stopping ${what} took over 45 s; going on`);
}

const probe = await tempDir('disk-low-probe');
const cannotMount = await mountTmpfs(probe.path);
if (!cannotMount) await run('umount', [probe.path]);
await probe.cleanup();

interface EventView {
  id: string;
  status: string;
  severity: string;
  source: string;
  values: Record<string, unknown>;
}

describe.skipIf(cannotMount !== undefined)('disk low on a small filesystem', () => {
  let ctl: TestController;
  let owner: string;
  let dir: TempDir;
  let cacheDir: string;
  let mounted = false;
  let agent: Agent | undefined;
  const nodeId = 'disk-low-1';

  const api = async (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) => {
    const response = await ctl.app.inject({ method, url: `/api/v1${url}`, headers: bearer(owner), payload });
    expect(response.statusCode, response.body).toBeLessThan(300);
    return response.json().data;
  };
  const events = (): Promise<EventView[]> => api('GET', `/health-events?nodeId=${nodeId}&type=disk_low`);

  beforeAll(async () => {
    dir = await tempDir('disk-low');
    cacheDir = join(dir.path, 'cache');
    await mkdir(cacheDir);
    const failed = await mountTmpfs(cacheDir);
    if (failed) throw new Error(failed);
    mounted = true;
    ctl = await testController({ mqttHost: '127.0.0.1', httpHost: '127.0.0.1' });
    await ctl.start();
    await ctl.app.listen({ port: 0, host: '127.0.0.1' });
    owner = await ctl.ownerToken();
    const node = await enrolledNode(ctl, { id: nodeId, site: 'hq', sampleRate: 8000 });
    const policy = await api('POST', '/settings/watchdog-policies', {
      name: 'half-full',
      body: { diskLowPercent: 50, diskLowHours: 0 },
    });
    await api('PATCH', `/nodes/${nodeId}`, { watchdogPolicyId: policy.id });
    const settings = await enrolledAgentSettings(
      dir.path,
      node,
      `http://127.0.0.1:${(ctl.app.server.address() as AddressInfo).port}`,
      `mqtt://127.0.0.1:${ctl.broker.port()}`,
      { EARSHOT_AGENT_CACHE_DIR: cacheDir },
    );
    agent = testAgent(settings, { syncIntervalMs: 3_600_000 });
  });

  afterAll(async () => {
    // Once (of many runs) this teardown outlived the 120 s hook limit on PostgreSQL, and it could
    // not be reproduced: each stop is given 45 s and one that outlives it is named (the tmpfs is
    // still unmounted), so the next occurrence says which side hangs instead of timing out mute.
    await stopWithin('the agent', () => agent?.stop());
    await stopWithin('the controller', () => ctl?.stop());
    if (mounted) await run('umount', ['-l', cacheDir]);
    await dir?.cleanup();
  }, 150_000);

  it('raises disk_low when the filesystem fills past the policy, and resolves it once space is freed', async () => {
    const filler = join(cacheDir, 'filler.bin');
    await writeFile(filler, Buffer.alloc((FS_BYTES * 3) / 4, 1)); // a quarter left free
    await agent!.start();
    await until(async () => (await events()).some((e) => e.status === 'open'), {
      timeoutMs: DISK_CHECK_WITHIN_MS,
      what: 'a disk_low event',
    });
    const [low, ...more] = await events();
    expect(more).toEqual([]);
    expect(low).toMatchObject({ status: 'open', severity: 'warning', source: 'agent' });
    expect(Number(low!.values.freePercent)).toBeLessThan(50);

    await rm(filler);
    await until(async () => (await events()).every((e) => e.status === 'resolved'), {
      timeoutMs: DISK_CHECK_WITHIN_MS,
      what: 'the disk_low event to resolve',
    });
    expect((await events()).map((e) => e.id)).toEqual([low!.id]);
  }, 120_000);
});

// Says why where it cannot run (no root or CAP_SYS_ADMIN, e.g. an unprivileged container).
if (cannotMount !== undefined)
  describe('disk low on a small filesystem', () => {
    it.skip(`skipped: ${cannotMount}`, () => {});
  });
