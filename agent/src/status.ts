/** `earshot-agent status`: what is wrong, in plain words. Never prints the credential. */

import type { NodeConfig } from '../../shared/src/agent-api.js';
import { captureOptionsFor } from './capture/capture-options.js';
import { describeOffset } from './link/clock.js';
import { diskFreeBytes } from './link/heartbeat.js';
import { AgentHttpClient, ApiError, describeError } from './link/http-client.js';
import { JobJournal, journalPath } from './state/journal.js';
import { OfflineCache } from './state/offline-cache.js';
import type { AgentSettings } from './state/settings.js';
import { type AgentState, readAgentState } from './state/state-file.js';

export interface StatusReport {
  ok: boolean;
  lines: string[];
  /** What the checks found, for `doctor` to go on from: the enrollment and the node config. */
  state?: AgentState;
  config?: NodeConfig;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

const label = (name: string) => `${name}:`.padEnd(14);

/**
 * The offline cache in words: the cached config, the next occurrences, and the clock
 * offset, with a warning when it is past the threshold. `ok` false on the warning.
 */
export async function offlineStatus(
  settings: AgentSettings,
  nowMs = Date.now(),
): Promise<{ ok: boolean; lines: string[] }> {
  const lines: string[] = [];
  let ok = true;
  const cache = new OfflineCache(settings.cacheDir);
  const config = await cache.readConfig();
  lines.push(
    config
      ? `${label('offline')}node config cached ${new Date(config.savedAtMs).toISOString()}: the agent starts without the controller`
      : `${label('offline')}no cached node config yet: the agent needs the controller once to start`,
  );
  const synced = await cache.readOccurrences();
  if (synced) {
    const upcoming = synced.occurrences
      .filter((o) => Date.parse(o.plannedEndAt) > nowMs)
      .sort((a, b) => Date.parse(a.plannedStartAt) - Date.parse(b.plannedStartAt));
    lines.push(
      `${label('schedule')}${upcoming.length} occurrence(s) cached until ${synced.horizonEnd} (synced ${new Date(synced.syncedAtMs).toISOString()})`,
    );
    for (const o of upcoming.slice(0, 3)) {
      lines.push(
        `                ${o.plannedStartAt} – ${o.plannedEndAt} "${o.scheduleName}" (job ${o.jobId})`,
      );
    }
  } else {
    lines.push(`${label('schedule')}no occurrences synced yet`);
  }
  const clock = await cache.readClock();
  if (!clock) {
    lines.push(`${label('clock')}offset from the controller not measured yet`);
  } else {
    const measured = `measured ${new Date(clock.measuredAtMs).toISOString()}, round trip ${clock.roundTripMs} ms`;
    if (Math.abs(clock.offsetMs) > settings.clockWarnMs) {
      ok = false;
      lines.push(`${label('clock')}WARNING: ${describeOffset(clock.offsetMs)} (${measured})`);
      lines.push(
        `                more than ${settings.clockWarnMs} ms: scheduled recordings start by this device's clock; fix NTP (timedatectl status)`,
      );
    } else {
      lines.push(`${label('clock')}${describeOffset(clock.offsetMs)} (${measured})`);
    }
  }
  return { ok, lines };
}

export async function agentStatus(settings: AgentSettings, fetchImpl?: typeof fetch): Promise<StatusReport> {
  const lines: string[] = [];
  let ok = true;
  let state: Awaited<ReturnType<typeof readAgentState>>;
  try {
    state = await readAgentState(settings.statePath);
  } catch (error) {
    return {
      ok: false,
      lines: [`${label('enrolled')}cannot read ${settings.statePath}: ${describeError(error)}`],
    };
  }
  if (!state) {
    return {
      ok: false,
      lines: [
        `${label('enrolled')}no: not enrolled (no ${settings.statePath})`,
        '              run earshot-agent enroll --controller URL --token T',
      ],
    };
  }
  lines.push(
    `${label('enrolled')}yes, as node ${state.nodeId} "${state.name}" (site ${state.siteId}) since ${state.enrolledAt}`,
  );
  lines.push(`${label('state file')}${settings.statePath}`);

  const client = new AgentHttpClient({
    baseUrl: state.controllerUrl,
    credential: state.credential,
    fetch: fetchImpl,
    timeoutMs: 5000,
  });
  const started = Date.now();
  let reachable = false;
  try {
    await client.healthz();
    reachable = true;
    lines.push(`${label('controller')}reachable at ${state.controllerUrl} (${Date.now() - started} ms)`);
  } catch (error) {
    ok = false;
    lines.push(`${label('controller')}NOT reachable at ${state.controllerUrl}: ${describeError(error)}`);
    lines.push(
      '              check the network, or that the controller is running; recordings keep going meanwhile',
    );
  }

  let device: string | undefined;
  let format = '';
  let config: NodeConfig | undefined;
  if (reachable) {
    try {
      config = await client.config();
      lines.push(`${label('credential')}accepted`);
      const capture = captureOptionsFor(config, settings.deviceOverride);
      device = capture.device ?? 'default device';
      format = `, ${capture.sampleRate} Hz × ${capture.channels} ch`;
    } catch (error) {
      ok = false;
      if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
        lines.push(
          `${label('credential')}REJECTED (${error.status} ${error.code}): the node may have been removed`,
        );
        lines.push(
          '              or its credential rotated; re-enroll: earshot-agent enroll --force --controller URL --token T',
        );
      } else {
        lines.push(`${label('credential')}unknown: cannot load the node config: ${describeError(error)}`);
      }
    }
  } else {
    lines.push(`${label('credential')}not checked (controller unreachable)`);
  }
  device ??= settings.deviceOverride ?? 'as configured on the controller';
  const source = settings.deviceOverride ? ' (EARSHOT_AGENT_DEVICE)' : '';
  const driver = settings.audioDriver ? `, driver ${settings.audioDriver}` : '';
  lines.push(`${label('capture')}${device}${source}${format}${driver}`);

  const journal = new JobJournal(journalPath(settings.cacheDir));
  try {
    await journal.load();
    const entries = journal.list();
    const waiting = entries.filter((e) => e.state === 'recorded' || e.state === 'recording');
    const bytes = waiting.reduce((sum, e) => sum + (e.sizeBytes ?? 0), 0);
    lines.push(
      `${label('cache')}${settings.cacheDir}: ${waiting.length} recording(s) awaiting upload (${formatBytes(bytes)})`,
    );
    for (const e of entries) {
      const size = e.sizeBytes === undefined ? '' : `, ${formatBytes(e.sizeBytes)}`;
      const error = e.lastError ? `, last error: ${e.lastError}` : '';
      const part = e.continues
        ? `, part continuing job ${e.continues.jobId}${e.pendingPart ? ' (not registered with the controller yet)' : ''}`
        : '';
      const partial = e.capture?.partial ? `, partial: ${e.capture.partialReason ?? 'yes'}` : '';
      const who = e.pendingPart ? 'part' : `job ${e.jobId}`;
      lines.push(
        `                ${who} (recording ${e.recordingId}, epoch ${e.epoch}): ${e.state}${size}${part}${partial}${error}`,
      );
    }
    const kept = entries.filter((e) => e.state === 'failed' || e.state === 'lease-lost');
    if (kept.length > 0) {
      lines.push(
        `                ${kept.length} file(s) kept for an operator (failed or lease lost); see ${settings.cacheDir}/recordings`,
      );
    }
  } catch (error) {
    ok = false;
    lines.push(`${label('cache')}cannot read the job journal: ${describeError(error)}`);
  }
  try {
    const offline = await offlineStatus(settings);
    lines.push(...offline.lines);
    ok &&= offline.ok;
  } catch (error) {
    lines.push(`${label('offline')}cannot read the offline cache: ${describeError(error)}`);
  }
  try {
    lines.push(
      `${label('disk free')}${formatBytes(await diskFreeBytes(settings.cacheDir))} in ${settings.cacheDir}`,
    );
  } catch {
    lines.push(`${label('disk free')}unknown (${settings.cacheDir} does not exist yet)`);
  }
  return { ok, lines, state, config };
}
