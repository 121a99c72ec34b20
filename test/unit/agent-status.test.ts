// `earshot-agent status` on the offline cache: the cached config and schedule, and a clear
// warning when the last measured clock offset is past the threshold.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobJournal, journalPath } from '../../agent/src/state/journal.js';
import { OfflineCache } from '../../agent/src/state/offline-cache.js';
import { resolveSettings } from '../../agent/src/state/settings.js';
import { writeAgentState } from '../../agent/src/state/state-file.js';
import { agentStatus, offlineStatus } from '../../agent/src/status.js';
import { type TempDir, tempDir } from '../support/tmp.js';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir('agent-status');
});
afterEach(async () => {
  await dir.cleanup();
});

const settingsFor = (env: Record<string, string> = {}) =>
  resolveSettings({ EARSHOT_AGENT_CONFIG: `${dir.path}/agent.json`, ...env });

describe('agent status: offline cache and clock', () => {
  it('says what is cached and that the clock is fine within the threshold', async () => {
    const settings = settingsFor();
    const cache = new OfflineCache(settings.cacheDir);
    const empty = await offlineStatus(settings);
    expect(empty.ok).toBe(true);
    expect(empty.lines.join('\n')).toMatch(/no cached node config yet/);
    expect(empty.lines.join('\n')).toMatch(/not measured yet/);
    await cache.saveClock({
      offsetMs: -1500,
      measuredAtMs: Date.parse('2026-03-01T10:00:00Z'),
      roundTripMs: 4,
    });
    const fine = await offlineStatus(settings);
    expect(fine.ok).toBe(true);
    expect(fine.lines.join('\n')).toMatch(
      /clock:\s+1\.500 s behind the controller \(measured 2026-03-01T10:00:00\.000Z/,
    );
  });

  it('warns when the offset exceeds the threshold (EARSHOT_AGENT_CLOCK_WARN_MS)', async () => {
    const settings = settingsFor();
    await new OfflineCache(settings.cacheDir).saveClock({ offsetMs: 4200, measuredAtMs: 1, roundTripMs: 3 });
    const report = await offlineStatus(settings);
    expect(report.ok).toBe(false);
    expect(report.lines.join('\n')).toMatch(/clock:\s+WARNING: 4\.200 s ahead of the controller/);
    expect(report.lines.join('\n')).toMatch(/more than 2000 ms/);
    expect((await offlineStatus(settingsFor({ EARSHOT_AGENT_CLOCK_WARN_MS: '5000' }))).ok).toBe(true);
    expect(() => settingsFor({ EARSHOT_AGENT_CLOCK_WARN_MS: 'soon' })).toThrow(/EARSHOT_AGENT_CLOCK_WARN_MS/);
  });

  it('is part of the whole report, and an unreachable controller still shows the cache', async () => {
    const settings = settingsFor();
    await writeAgentState(settings.statePath, {
      version: 1,
      controllerUrl: 'http://127.0.0.1:9',
      nodeId: 'node-1',
      name: 'Room 1',
      siteId: 'site-1',
      credential: 'node-1.abcdefghijklmnopqrstuvwx',
      mqttPort: 1883,
      enrolledAt: '2026-01-01T00:00:00.000Z',
    });
    const cache = new OfflineCache(settings.cacheDir);
    await cache.saveClock({ offsetMs: 9000, measuredAtMs: 1, roundTripMs: 3 });
    await cache.saveOccurrences({
      syncedAtMs: Date.now(),
      horizonEnd: '2099-01-08T00:00:00.000Z',
      occurrences: [],
    });
    const journal = new JobJournal(journalPath(settings.cacheDir));
    await journal.load();
    await journal.put({
      jobId: 'pending-part-rec-2',
      recordingId: 'rec-2',
      epoch: 1,
      state: 'recorded',
      path: '/x.wav',
      sampleRate: 48_000,
      channels: 2,
      startedAtMs: 1,
      sizeBytes: 1024,
      continues: { jobId: 'job-1', epoch: 2 },
      pendingPart: { epoch: 2, reason: 'continues', startedAtMs: 1, durationSeconds: 60 },
      capture: { partial: true, partialReason: 'continues the recording after an agent restart' },
    });
    const report = await agentStatus(settings, async () => {
      throw new TypeError('fetch failed');
    });
    const text = report.lines.join('\n');
    expect(report.ok).toBe(false);
    expect(text).toMatch(/controller:\s+NOT reachable/);
    expect(text).toMatch(/schedule:\s+0 occurrence\(s\) cached until 2099-01-08/);
    expect(text).toMatch(/WARNING: 9\.000 s ahead of the controller/);
    expect(text).toContain(
      'part (recording rec-2, epoch 1): recorded, 1.0 KiB, part continuing job job-1 (not registered with the controller yet), partial: continues the recording after an agent restart',
    );
  });
});
