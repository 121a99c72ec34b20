/**
 * What the agent needs to run without the controller, kept beside the job journal: the
 * last node config, the last occurrence sync (the node's scheduled occurrences of the next
 * 7 days, with their jobs and epochs), the occurrences already started here, and the last
 * measured clock offset. Each is a small JSON file written atomically (mode 0600) whenever
 * the controller answers; a missing or unreadable file reads as "nothing cached".
 */
import { join } from 'node:path';
import Type, { type Static, type TSchema } from 'typebox';
import { NodeConfig, ScheduledOccurrence } from '../../../shared/src/agent-api.js';
import { expectShape } from '../support/validate.js';
import { readJsonWithBackup, writeFileAtomic } from './atomic-file.js';

export const CachedConfig = Type.Object({
  version: Type.Literal(1),
  savedAtMs: Type.Integer(),
  config: NodeConfig,
});
export type CachedConfig = Static<typeof CachedConfig>;

export const CachedOccurrences = Type.Object({
  version: Type.Literal(1),
  syncedAtMs: Type.Integer(),
  horizonEnd: Type.String(),
  occurrences: Type.Array(ScheduledOccurrence),
});
export type CachedOccurrences = Static<typeof CachedOccurrences>;

/** Occurrences this agent started (job id → planned end), so a restart never starts one twice. */
export const StartedOccurrences = Type.Object({
  version: Type.Literal(1),
  started: Type.Record(Type.String(), Type.Integer()),
});

export const ClockRecord = Type.Object({
  version: Type.Literal(1),
  /** Agent clock minus controller clock, ms (positive: the agent is ahead). */
  offsetMs: Type.Integer(),
  /** Agent clock time of the measurement. */
  measuredAtMs: Type.Integer(),
  /** Round trip of the request it was measured with (the measurement's uncertainty). */
  roundTripMs: Type.Integer(),
});
export type ClockRecord = Static<typeof ClockRecord>;

export const OFFLINE_FILES = {
  config: 'node-config.json',
  occurrences: 'occurrences.json',
  started: 'occurrences-started.json',
  clock: 'clock.json',
} as const;

/** Started marks are kept this long after the occurrence's end, then forgotten. */
const STARTED_RETENTION_MS = 24 * 3_600_000;

export class OfflineCache {
  private started = new Map<string, number>();
  private writes: Promise<void> = Promise.resolve();

  constructor(readonly dir: string) {}

  path(name: keyof typeof OFFLINE_FILES): string {
    return join(this.dir, OFFLINE_FILES[name]);
  }

  async readConfig(): Promise<CachedConfig | undefined> {
    return this.read(CachedConfig, 'config');
  }

  async saveConfig(config: NodeConfig, nowMs = Date.now()): Promise<void> {
    await this.write('config', { version: 1, savedAtMs: nowMs, config });
  }

  async readOccurrences(): Promise<CachedOccurrences | undefined> {
    return this.read(CachedOccurrences, 'occurrences');
  }

  async saveOccurrences(value: Omit<CachedOccurrences, 'version'>): Promise<void> {
    await this.write('occurrences', { version: 1, ...value });
  }

  async readClock(): Promise<ClockRecord | undefined> {
    return this.read(ClockRecord, 'clock');
  }

  async saveClock(value: Omit<ClockRecord, 'version'>): Promise<void> {
    await this.write('clock', { version: 1, ...value });
  }

  /** Loads the started marks (call once before wasStarted/markStarted). */
  async loadStarted(): Promise<void> {
    const file = await this.read(StartedOccurrences, 'started');
    this.started = new Map(Object.entries(file?.started ?? {}));
  }

  wasStarted(jobId: string): boolean {
    return this.started.has(jobId);
  }

  async markStarted(jobId: string, plannedEndMs: number, nowMs = Date.now()): Promise<void> {
    this.started.set(jobId, plannedEndMs);
    for (const [id, endMs] of this.started) {
      if (endMs < nowMs - STARTED_RETENTION_MS) this.started.delete(id);
    }
    await this.write('started', { version: 1, started: Object.fromEntries(this.started) });
  }

  private async read<S extends TSchema>(
    schema: S,
    name: keyof typeof OFFLINE_FILES,
  ): Promise<Static<S> | undefined> {
    try {
      const raw = await readJsonWithBackup(this.path(name));
      return raw === undefined ? undefined : expectShape(schema, raw, this.path(name));
    } catch {
      // An unreadable cache is no cache: the controller fills it again.
      return undefined;
    }
  }

  /** Writes one after another, so an older state never lands after a newer one. */
  private write(name: keyof typeof OFFLINE_FILES, value: unknown): Promise<void> {
    const write = this.writes.then(() =>
      writeFileAtomic(this.path(name), `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 }),
    );
    this.writes = write.catch(() => {});
    return write;
  }
}
