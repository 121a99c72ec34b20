/**
 * The local job journal: every recording this agent has started and not yet seen
 * confirmed by the controller, so that a restart or an outage loses nothing. One
 * small JSON file beside the cache, rewritten atomically on every change.
 */
import { join } from 'node:path';
import Type, { type Static } from 'typebox';
import { expectShape } from '../support/validate.js';
import { readJsonWithBackup, writeFileAtomic } from './atomic-file.js';

export const JournalStates = [
  /** The WavWriter is open; `<path>.part` is on disk. */
  'recording',
  /** Finished and hashed; waiting for the controller to confirm the upload. */
  'recorded',
  /** The controller gave the job to another holder (409 stale_lease): kept, not uploaded. */
  'lease-lost',
  /** Reported failed (e.g. checksum mismatch, write error): kept for an operator. */
  'failed',
] as const;
export type JournalState = (typeof JournalStates)[number];

export const JournalEntry = Type.Object({
  jobId: Type.String(),
  recordingId: Type.String(),
  epoch: Type.Integer(),
  state: Type.Enum(JournalStates),
  /** Final WAV path (the `.part` sibling while recording). */
  path: Type.String(),
  sampleRate: Type.Integer(),
  channels: Type.Integer(),
  startedAtMs: Type.Integer(),
  finishedAtMs: Type.Optional(Type.Integer()),
  sizeBytes: Type.Optional(Type.Integer()),
  sha256: Type.Optional(Type.String()),
  durationMs: Type.Optional(Type.Integer()),
  /** Why the last upload attempt stopped, in words. */
  lastError: Type.Optional(Type.String()),
});
export type JournalEntry = Static<typeof JournalEntry>;

const JournalFile = Type.Object({
  version: Type.Literal(1),
  entries: Type.Array(JournalEntry),
});

export const JOURNAL_FILE = 'journal.json';

export function journalPath(cacheDir: string): string {
  return join(cacheDir, JOURNAL_FILE);
}

export class JobJournal {
  private entries = new Map<string, JournalEntry>();
  /** Writes run one after another, each with the state as of its turn. */
  private writes: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  async load(): Promise<void> {
    const raw = await readJsonWithBackup(this.path);
    const file =
      raw === undefined ? { version: 1 as const, entries: [] } : expectShape(JournalFile, raw, this.path);
    this.entries = new Map(file.entries.map((entry) => [entry.jobId, entry]));
  }

  list(): JournalEntry[] {
    return [...this.entries.values()].map((entry) => ({ ...entry }));
  }

  get(jobId: string): JournalEntry | undefined {
    const entry = this.entries.get(jobId);
    return entry ? { ...entry } : undefined;
  }

  async put(entry: JournalEntry): Promise<void> {
    this.entries.set(entry.jobId, { ...entry });
    await this.persist();
  }

  async update(jobId: string, patch: Partial<Omit<JournalEntry, 'jobId'>>): Promise<JournalEntry> {
    const current = this.entries.get(jobId);
    if (!current) throw new Error(`job ${jobId} is not in the journal`);
    const next = { ...current, ...patch };
    this.entries.set(jobId, next);
    await this.persist();
    return { ...next };
  }

  async remove(jobId: string): Promise<void> {
    if (!this.entries.delete(jobId)) return;
    await this.persist();
  }

  private persist(): Promise<void> {
    const write = this.writes.then(() =>
      writeFileAtomic(
        this.path,
        `${JSON.stringify({ version: 1, entries: [...this.entries.values()] }, null, 2)}\n`,
        { mode: 0o600 },
      ),
    );
    // A failed write must not poison the ones after it; the caller still sees it.
    this.writes = write.catch(() => {});
    return write;
  }
}
