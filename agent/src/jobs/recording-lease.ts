/**
 * The controller's side of one recording in progress: job heartbeats from its first audio
 * (or a few seconds after its start when no audio comes), carrying the capture facts until
 * the controller took them; for a continuation part, registration first (no heartbeat for a
 * job the controller does not know). A stale lease, a job gone (404) or a refused part stops
 * the recording; `loss` says which.
 */
import type { JobHeartbeatBody } from '../../../shared/src/agent-api.js';
import { type AgentHttpClient, describeError } from '../link/http-client.js';
import { captureFactsOf, type JobJournal, type JournalEntry } from '../state/journal.js';
import type { Logger } from '../support/log.js';
import { LeaseKeeper, type LeaseLossReason } from './lease-keeper.js';
import { PartRefusedError, type PartRegistrar } from './part-registrar.js';

/** Heartbeats start this long after the planned start even when no audio has come yet. */
const KEEPER_FALLBACK_MS = 5000;

export type RecordingLoss = LeaseLossReason | 'refused';

export interface RecordingLeaseOptions {
  api: Pick<AgentHttpClient, 'jobHeartbeat'>;
  journal: JobJournal;
  registrar: Pick<PartRegistrar, 'register'>;
  log: Logger;
  /** The entry as journaled at the start (its job id is the journal key). */
  entry: JournalEntry;
  /** Ends the recording (lease lost, job gone, part refused). */
  stopRecording: () => void;
  /** The controller asked to stop (the recorder may keep a post-roll); default stopRecording. */
  stopRequested?: () => void;
  /** When the recording takes its first frame (undefined: now). */
  startAtMs: number | undefined;
  intervalMs: number;
  clockOffsetMs: () => number | undefined;
  /** The recorder's shutdown. */
  signal: AbortSignal;
  now: () => number;
}

export class RecordingLease {
  private keeper: LeaseKeeper | undefined;
  private fallback: NodeJS.Timeout | undefined;
  private firstFrameSeen = false;
  private factsDelivered = false;
  private registered: boolean;
  private refused: string | undefined;

  constructor(private readonly options: RecordingLeaseOptions) {
    this.registered = !options.entry.pendingPart;
  }

  /** The journal entry now (a registered part has a new job id). */
  get current(): JournalEntry {
    return this.options.journal.get(this.options.entry.jobId) ?? this.options.entry;
  }

  /** Why the controller side ended the recording, if it did. */
  get loss(): RecordingLoss | undefined {
    return this.refused ? 'refused' : this.keeper?.lossReason;
  }

  describeLoss(loss: RecordingLoss): string {
    if (loss === 'refused') return this.refused ?? 'the controller refused the part';
    return loss === 'gone' ? 'the controller no longer has this job' : 'stale lease';
  }

  start(): void {
    const { now, startAtMs } = this.options;
    // Heartbeats start with the first audio; a capture that delivers none still keeps the lease.
    const delayMs = Math.max(0, (startAtMs ?? now()) - now()) + KEEPER_FALLBACK_MS;
    this.fallback = setTimeout(() => this.startKeeper(), delayMs);
    if (!this.registered) this.register();
  }

  stop(): void {
    clearTimeout(this.fallback);
    this.keeper?.stop();
  }

  /** The first frame went to the file at `atMs`: journal the facts and tell the controller. */
  firstFrame(atMs: number): void {
    const { journal, log, entry } = this.options;
    this.firstFrameSeen = true;
    const offset = this.options.clockOffsetMs();
    const capture = {
      ...this.current.capture,
      firstSampleAtMs: atMs,
      ...(offset === undefined ? {} : { clockOffsetMs: offset }),
    };
    journal
      .update(entry.jobId, { capture })
      .catch((error: unknown) =>
        log.error({ jobId: entry.jobId }, `cannot journal capture facts: ${describeError(error)}`),
      )
      .finally(() => {
        if (this.keeper) this.keeper.beatNow();
        else this.startKeeper();
      });
  }

  private register(): void {
    const { entry, log, registrar, signal } = this.options;
    registrar
      .register(entry.jobId, signal)
      .then(() => {
        this.registered = true;
        this.startKeeper();
      })
      .catch((error: unknown) => {
        if (!(error instanceof PartRefusedError)) return; // stopping: the uploader registers it later
        this.refused = error.message;
        log.error({ recordingId: entry.recordingId }, `${error.message}: part stopped, file kept`);
        this.options.stopRecording();
      });
  }

  private startKeeper(): void {
    const { log, signal, stopRecording } = this.options;
    const stopRequested = this.options.stopRequested ?? stopRecording;
    if (this.keeper || !this.registered || signal.aborted) return;
    const { jobId, epoch } = this.current;
    this.keeper = new LeaseKeeper({
      api: this.options.api,
      jobId,
      body: (): JobHeartbeatBody => {
        const facts = this.factsDelivered || !this.firstFrameSeen ? undefined : captureFactsOf(this.current);
        return { epoch, state: 'recording', ...(facts ? { capture: facts } : {}) };
      },
      onDelivered: (body) => {
        if (body.capture) this.factsDelivered = true;
      },
      intervalMs: this.options.intervalMs,
      signal,
      log,
      onLeaseLost: (why) => {
        if (why === 'gone') log.warn({ jobId }, 'the controller no longer has this job');
        stopRecording();
      },
      onStopRequested: () => {
        log.info({ jobId }, 'controller asked to stop the recording');
        stopRequested();
      },
      beatAtStart: true,
    });
    this.keeper.start();
  }
}
