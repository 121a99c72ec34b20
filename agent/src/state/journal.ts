/**
 * The local job journal: every recording this agent has started and not yet seen
 * confirmed by the controller, so that a restart or an outage loses nothing, and the confirmed
 * copies an agent-cache retention policy keeps (until one of its limits removes them). One
 * small JSON file beside the cache, rewritten atomically on every change.
 */
import { join } from 'node:path';
import Type, { type Static } from 'typebox';
import { AgentCopyRemovedBody, CaptureFacts, ContinuationBody } from '../../../shared/src/agent-api.js';
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
  /**
   * Confirmed by the controller and kept by an agent-cache retention policy (uploads/cache-retention.ts);
   * `copyRemoved` set once a policy removed the file, until the controller has heard of it.
   */
  'kept',
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
  /**
   * When the job's window ends (a scheduled occurrence's plannedEndAt, or an ad-hoc job's
   * start + duration): a restart before then records the rest as a continuation part.
   */
  windowEndMs: Type.Optional(Type.Integer()),
  /** 1-based capture channels recorded (the WAV holds these only); absent = every channel. */
  channelSelection: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }))),
  /**
   * What the controller is told about the capture (planned start, first sample, clock
   * offset, partial and why), as far as known; sent with a job heartbeat.
   */
  capture: Type.Optional(Type.Partial(CaptureFacts)),
  /**
   * Set when the agent stopped (cleanly) before the window's end: the next start records
   * the rest as a continuation part, as after a crash.
   */
  interruptedAtMs: Type.Optional(Type.Integer()),
  /** The job a continuation part continues (absent for the job itself). */
  continues: Type.Optional(Type.Object({ jobId: Type.String(), epoch: Type.Integer() })),
  /**
   * A continuation part not yet registered with the controller (PUT jobPart): `jobId` is a
   * local placeholder until then, and no heartbeat or upload may be sent for it.
   */
  pendingPart: Type.Optional(ContinuationBody),
  /** When the controller confirmed the upload (a 'kept' entry's age counts from here). */
  confirmedAtMs: Type.Optional(Type.Integer()),
  /** A 'kept' entry's file removed by a policy: what to tell the controller (AgentCopyRemovedBody). */
  copyRemoved: Type.Optional(AgentCopyRemovedBody),
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

/** The capture facts to send for an entry; undefined when it has none. */
export function captureFactsOf(entry: JournalEntry): CaptureFacts | undefined {
  if (!entry.capture) return undefined;
  return withoutUndefined({
    ...entry.capture,
    firstSampleAtMs: entry.capture.firstSampleAtMs ?? entry.startedAtMs,
  });
}

/** The placeholder job id of a continuation part until the controller registers it. */
export function pendingPartJobId(recordingId: string): string {
  return `pending-part-${recordingId}`;
}

export class JobJournal {
  private entries = new Map<string, JournalEntry>();
  /** Old job id → new, for entries renamed by rekey() (a registered part): callers may hold either. */
  private readonly aliases = new Map<string, string>();
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
    const entry = this.entries.get(this.resolve(jobId));
    return entry ? { ...entry } : undefined;
  }

  /** The entry's current job id (after a rekey, the new one). */
  resolve(jobId: string): string {
    let id = jobId;
    for (let next = this.aliases.get(id); next !== undefined; next = this.aliases.get(id)) id = next;
    return id;
  }

  async put(entry: JournalEntry): Promise<void> {
    this.entries.set(entry.jobId, { ...entry });
    await this.persist();
  }

  async update(jobId: string, patch: Partial<Omit<JournalEntry, 'jobId'>>): Promise<JournalEntry> {
    const id = this.resolve(jobId);
    const current = this.entries.get(id);
    if (!current) throw new Error(`job ${jobId} is not in the journal`);
    const next = withoutUndefined({ ...current, ...patch });
    this.entries.set(id, next);
    await this.persist();
    return { ...next };
  }

  /**
   * Renames an entry (a continuation part the controller registered under its own job id),
   * applying `patch` in the same write; undefined values in the patch remove the field.
   */
  async rekey(
    jobId: string,
    newJobId: string,
    patch: Partial<Omit<JournalEntry, 'jobId'>> = {},
  ): Promise<JournalEntry> {
    const id = this.resolve(jobId);
    const current = this.entries.get(id);
    if (!current) throw new Error(`job ${jobId} is not in the journal`);
    const next = withoutUndefined({ ...current, ...patch, jobId: newJobId });
    this.entries.delete(id);
    this.entries.set(newJobId, next);
    if (id !== newJobId) this.aliases.set(id, newJobId);
    await this.persist();
    return { ...next };
  }

  async remove(jobId: string): Promise<void> {
    if (!this.entries.delete(this.resolve(jobId))) return;
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

function withoutUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] === undefined) delete value[key];
  }
  return value;
}
