// What the agent keeps to run without the controller: node config, occurrences, started
// marks and the clock offset, each a 0600 file written atomically; an unreadable one is no cache.
import { stat, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClockTracker, describeOffset } from '../../agent/src/link/clock.js';
import { OfflineCache } from '../../agent/src/state/offline-cache.js';
import type { Logger } from '../../agent/src/support/log.js';
import type { NodeConfig } from '../../shared/src/agent-api.js';
import { type TempDir, tempDir } from '../support/tmp.js';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir('agent-offline-cache');
});
afterEach(async () => {
  await dir.cleanup();
});

const config: NodeConfig = {
  nodeId: 'node-1',
  name: 'Room 1',
  siteId: 'site-1',
  capture: { device: 'hw:1,0', sampleRate: 48_000, channels: 2 },
  meterIntervalMs: 100,
  heartbeatIntervalSeconds: 30,
  jobPollIntervalSeconds: 10,
  leaseSeconds: 60,
  mqttPort: 1883,
};

function logger() {
  return { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() } as unknown as Logger & {
    warn: ReturnType<typeof vi.fn>;
    info: ReturnType<typeof vi.fn>;
  };
}

describe('offline cache', () => {
  it('round-trips the config and the occurrences through 0600 files', async () => {
    const cache = new OfflineCache(dir.path);
    expect(await cache.readConfig()).toBeUndefined();
    await cache.saveConfig(config, 1234);
    await cache.saveOccurrences({ syncedAtMs: 5, horizonEnd: '2026-03-08T00:00:00.000Z', occurrences: [] });
    const again = new OfflineCache(dir.path);
    expect(await again.readConfig()).toEqual({ version: 1, savedAtMs: 1234, config });
    expect((await again.readOccurrences())?.horizonEnd).toBe('2026-03-08T00:00:00.000Z');
    expect((await stat(cache.path('config'))).mode & 0o777).toBe(0o600);
    expect((await stat(cache.path('occurrences'))).mode & 0o777).toBe(0o600);
  });

  it('reads a torn or foreign file as nothing cached', async () => {
    const cache = new OfflineCache(dir.path);
    await writeFile(cache.path('config'), '{"version":1,"savedAtMs":');
    expect(await cache.readConfig()).toBeUndefined();
    await writeFile(
      cache.path('config'),
      JSON.stringify({ version: 1, savedAtMs: 1, config: { nodeId: 3 } }),
    );
    expect(await cache.readConfig()).toBeUndefined();
  });

  it('remembers started occurrences across restarts and forgets them a day after their end', async () => {
    const cache = new OfflineCache(dir.path);
    await cache.loadStarted();
    await cache.markStarted('job-old', 1000, 1000);
    await cache.markStarted('job-new', 100_000_000, 90_000_000);
    const again = new OfflineCache(dir.path);
    await again.loadStarted();
    expect(again.wasStarted('job-old')).toBe(false);
    expect(again.wasStarted('job-new')).toBe(true);
  });
});

describe('clock tracker', () => {
  it('measures agent minus controller, saves it, and warns once past the threshold', async () => {
    const cache = new OfflineCache(dir.path);
    const log = logger();
    const clock = new ClockTracker({ cache, log, warnMs: 2000 });
    await clock.load();
    expect(clock.offsetMs).toBeUndefined();
    clock.record(10_000, 10_100, 10_050); // in step
    expect(clock.offsetMs).toBe(0);
    clock.record(20_000, 20_100, 17_050); // agent 3 s ahead
    expect(clock.offsetMs).toBe(3000);
    clock.record(30_000, 30_100, 27_050);
    expect(log.warn).toHaveBeenCalledTimes(1);
    expect(String(log.warn.mock.calls[0]![1])).toMatch(/3\.000 s ahead of the controller/);
    await vi.waitFor(async () => expect((await cache.readClock())?.offsetMs).toBe(3000), { timeout: 10_000 });
    const restored = new ClockTracker({ cache, log });
    await restored.load();
    expect(restored.offsetMs).toBe(3000);
    clock.record(40_000, 40_100, 40_050);
    expect(log.info).toHaveBeenCalledWith({ clockOffsetMs: 0 }, 'clock back in step with the controller');
  });

  it('describes an offset in words', () => {
    expect(describeOffset(0)).toBe('in step with the controller');
    expect(describeOffset(-2500)).toBe('2.500 s behind the controller');
  });
});
