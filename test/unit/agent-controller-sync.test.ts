// Keeping the offline cache fresh: config then occurrences, saved before applied; retries
// while the controller is away; a controller without schedules is not an error; a config
// that cannot apply yet does not hold the schedule back; a rejected credential is final.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClockTracker } from '../../agent/src/link/clock.js';
import { ControllerSync } from '../../agent/src/link/controller-sync.js';
import { ApiError, NetworkError } from '../../agent/src/link/http-client.js';
import { silentLogger } from '../../agent/src/support/log.js';
import type { NodeConfig, OccurrenceSyncResult } from '../../shared/src/agent-api.js';

const config = { nodeId: 'node-1' } as NodeConfig;
const synced: OccurrenceSyncResult = {
  occurrences: [],
  horizonEnd: '2026-03-08T00:00:00.000Z',
  serverTimeMs: 0,
};

function setup(api: {
  config: () => Promise<NodeConfig>;
  occurrenceSync: () => Promise<OccurrenceSyncResult>;
}) {
  const calls: string[] = [];
  const cache = {
    saveConfig: vi.fn(async () => {
      calls.push('saveConfig');
    }),
    saveOccurrences: vi.fn(async () => {
      calls.push('saveOccurrences');
    }),
  };
  const applyConfig = vi.fn(async () => {
    calls.push('applyConfig');
  });
  const applyOccurrences = vi.fn(() => {
    calls.push('applyOccurrences');
  });
  const onCredentialRejected = vi.fn();
  const onRecovered = vi.fn();
  const sync = new ControllerSync({
    api: { config: vi.fn(api.config), occurrenceSync: vi.fn(api.occurrenceSync) },
    cache,
    clock: new ClockTracker({ log: silentLogger() }),
    log: silentLogger(),
    applyConfig,
    applyOccurrences,
    onCredentialRejected,
    onRecovered,
    intervalMs: 300_000,
    backoff: { baseMs: 1000, capMs: 1000, random: () => 1 },
  });
  return { sync, calls, cache, applyConfig, applyOccurrences, onCredentialRejected, onRecovered };
}

describe('ControllerSync', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('saves before it applies, config then occurrences, then waits for the interval', async () => {
    const occurrenceSync = vi.fn(async () => synced);
    const { sync, calls } = setup({ config: async () => config, occurrenceSync });
    sync.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toEqual(['saveConfig', 'applyConfig', 'saveOccurrences', 'applyOccurrences']);
    await vi.advanceTimersByTimeAsync(299_000);
    expect(occurrenceSync).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(occurrenceSync).toHaveBeenCalledTimes(2);
    sync.stop();
  });

  it('retries with backoff while the controller is away, and says when it is back', async () => {
    let down = true;
    const { sync, applyOccurrences, onRecovered } = setup({
      config: async () => {
        if (down) throw new NetworkError('connection refused');
        return config;
      },
      occurrenceSync: async () => synced,
    });
    sync.start();
    await vi.advanceTimersByTimeAsync(3000);
    expect(applyOccurrences).not.toHaveBeenCalled();
    down = false;
    await vi.advanceTimersByTimeAsync(1000);
    expect(applyOccurrences).toHaveBeenCalledOnce();
    expect(onRecovered).toHaveBeenCalledOnce();
    sync.stop();
  });

  it('a config that cannot apply yet does not hold the occurrences back; no schedules (404) is not an error', async () => {
    const { sync, applyConfig, applyOccurrences, cache } = setup({
      config: async () => config,
      occurrenceSync: async () => {
        throw new ApiError(404, 'not_found', 'no such route');
      },
    });
    applyConfig.mockRejectedValueOnce(new Error('capture settings changed while recording'));
    await sync.refresh();
    expect(cache.saveConfig).toHaveBeenCalledOnce();
    expect(cache.saveOccurrences).not.toHaveBeenCalled();
    expect(applyOccurrences).not.toHaveBeenCalled();
    // The command path says why it failed.
    applyConfig.mockRejectedValueOnce(new Error('capture settings changed while recording'));
    await expect(sync.refreshConfig()).rejects.toThrow(/while recording/);
    sync.stop();
  });

  it('a rejected credential is reported once and not retried', async () => {
    const config = vi.fn(async (): Promise<NodeConfig> => {
      throw new ApiError(401, 'unauthorized', 'bad credential');
    });
    const { sync, onCredentialRejected } = setup({ config, occurrenceSync: async () => synced });
    sync.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(onCredentialRejected).toHaveBeenCalledOnce();
    expect(String(onCredentialRejected.mock.calls[0]![0])).toMatch(/rejected this node's credential \(401/);
    expect(config).toHaveBeenCalledOnce();
    sync.stop();
  });
});
