/**
 * Resumable uploads of finished recordings (AGENT_ROUTES.cacheFile): ask the
 * controller how many bytes it holds, stream the rest from disk, retry from the new
 * offset after a network failure, and delete the local file only once the controller
 * reports the upload complete with the same SHA-256. When the controller holds every
 * byte but has not completed the upload (it stopped before its commit), the empty PUT
 * at the final offset asks it to verify and complete what it holds.
 *
 * Before the bytes: a continuation part recorded offline is registered first (PartRegistrar),
 * and the capture facts (planned start, first sample, clock offset, partial) ride on the
 * first 'uploading' job heartbeat, so a recording made offline delivers them too.
 */
import { createReadStream } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import type { CaptureFacts, UploadStatus } from '../../../shared/src/agent-api.js';
import { ERROR_CODES } from '../../../shared/src/errors.js';
import { LeaseKeeper } from '../jobs/lease-keeper.js';
import { PartRefusedError, PartRegistrar } from '../jobs/part-registrar.js';
import { reportTerminal } from '../jobs/report-terminal.js';
import {
  type AgentHttpClient,
  describeError,
  isApiError,
  isRetryable,
  isStaleLease,
  type UploadRangeRequest,
} from '../link/http-client.js';
import { captureFactsOf, type JobJournal, type JournalEntry } from '../state/journal.js';
import { Backoff, type BackoffOptions, sleep } from '../support/backoff.js';
import type { Logger } from '../support/log.js';
import type { CacheRetention } from './cache-retention.js';

/** Read size of the file sent (the controller writes in 2 MiB batches; 64 KiB is Node's default). */
const UPLOAD_READ_BYTES = 1024 * 1024;

/** The calls the uploader makes; AgentHttpClient has them all. */
export type UploadApi = Pick<
  AgentHttpClient,
  'uploadStatus' | 'uploadRange' | 'jobHeartbeat' | 'jobFailed' | 'jobPart'
>;

export type UploadStep =
  | { kind: 'confirmed' }
  | { kind: 'send'; offset: number }
  | { kind: 'conflict'; reason: string };

/** What to do given the controller's view of the upload and the local file. Pure. */
export function nextUploadStep(
  status: UploadStatus,
  local: { sizeBytes: number; sha256: string },
): UploadStep {
  if (status.complete) {
    return status.sha256 === local.sha256
      ? { kind: 'confirmed' }
      : {
          kind: 'conflict',
          reason: `the controller holds a different file (sha256 ${status.sha256 ?? 'unknown'})`,
        };
  }
  const offset = status.receivedBytes;
  if (!Number.isInteger(offset) || offset < 0 || offset > local.sizeBytes) {
    return {
      kind: 'conflict',
      reason: `the controller reports ${offset} bytes of a ${local.sizeBytes}-byte file`,
    };
  }
  // offset === sizeBytes: nothing left to send; the empty PUT there completes the upload.
  return { kind: 'send', offset };
}

class JobGoneError extends Error {}

export type UploadOutcome = 'confirmed' | 'lease-lost' | 'failed' | 'parked' | 'stopped';

export interface UploaderOptions {
  api: UploadApi;
  journal: JobJournal;
  /** Registers continuation parts before their upload (share the recorder's); default: its own. */
  registrar?: Pick<PartRegistrar, 'register'>;
  log: Logger;
  /** How often to send the job heartbeat (state 'uploading') during an upload. */
  jobHeartbeatIntervalMs: () => number;
  backoff?: BackoffOptions;
  /** Uploads stopped by a non-retryable answer are tried again after this long. Default 10 min. */
  parkedRetryMs?: number;
  /** Keeps a confirmed copy when an agent-cache retention policy says so; default: remove it. */
  cache?: Pick<CacheRetention, 'keep'>;
}

export class Uploader {
  private readonly queue = new Set<string>();
  private readonly parked = new Set<string>();
  private abort = new AbortController();
  private worker: Promise<void> | undefined;
  private parkedTimer: NodeJS.Timeout | undefined;
  private stopped = true;
  private readonly registrar: Pick<PartRegistrar, 'register'>;

  constructor(private readonly options: UploaderOptions) {
    this.registrar = options.registrar ?? new PartRegistrar(options);
  }

  /** Queues every finished recording in the journal and starts working. */
  start(): void {
    this.stopped = false;
    this.abort = new AbortController();
    for (const entry of this.options.journal.list())
      if (entry.state === 'recorded' && entry.interruptedAtMs === undefined) this.queue.add(entry.jobId);
    this.parkedTimer = setInterval(() => this.retryParked(), this.options.parkedRetryMs ?? 600_000);
    this.parkedTimer.unref();
    this.kick();
  }

  /** Job ids waiting or in progress. */
  get pending(): string[] {
    return [...this.queue];
  }

  enqueue(jobId: string): void {
    this.parked.delete(jobId);
    this.queue.add(jobId);
    this.kick();
  }

  /** Tries again the uploads a non-retryable answer stopped (e.g. after config-changed). */
  retryParked(): void {
    for (const jobId of this.parked) this.queue.add(jobId);
    this.parked.clear();
    this.kick();
  }

  /** Waits until the queue is empty (tests, shutdown of one-shot tools). */
  async idle(): Promise<void> {
    while (this.worker) await this.worker;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.parkedTimer);
    this.abort.abort(new Error('uploader stopping'));
    await this.worker;
  }

  private kick(): void {
    if (this.worker || this.stopped) return;
    this.worker = this.drain().finally(() => {
      this.worker = undefined;
    });
  }

  private async drain(): Promise<void> {
    while (!this.stopped) {
      const jobId = this.queue.values().next().value;
      if (jobId === undefined) return;
      const entry = this.options.journal.get(jobId);
      // An entry that is gone or no longer 'recorded' has nothing to upload.
      let outcome: UploadOutcome | 'skipped' = 'skipped';
      // An entry a stop interrupted waits for the recorder's next start (it continues the window).
      if (entry?.state === 'recorded' && entry.interruptedAtMs === undefined) {
        try {
          outcome = await this.upload(entry);
        } catch (error) {
          // Journal write failures and the like: keep the entry, try again later.
          this.options.log.error({ jobId, err: error }, 'upload stopped by a local error');
          outcome = 'parked';
        }
      }
      if (outcome === 'stopped') return;
      this.queue.delete(jobId);
      if (outcome === 'parked') this.parked.add(jobId);
    }
  }

  /** Uploads one recording until the controller confirms it, or a reason to stop. */
  async upload(pending: JournalEntry): Promise<UploadOutcome> {
    const { api, journal, log } = this.options;
    const entry = await this.registered(pending);
    if (typeof entry === 'string') return entry;
    const { jobId, recordingId, epoch } = entry;
    if (entry.sha256 === undefined || entry.sizeBytes === undefined) {
      await journal.update(jobId, { lastError: 'journal entry has no size or checksum' });
      return 'parked';
    }
    const local = { sizeBytes: entry.sizeBytes, sha256: entry.sha256 };
    const onDisk = await stat(entry.path).catch(() => undefined);
    if (onDisk?.size !== local.sizeBytes) {
      const lastError = onDisk
        ? `file is ${onDisk.size} bytes, expected ${local.sizeBytes}`
        : 'file is missing';
      log.error({ jobId, path: entry.path }, `cannot upload: ${lastError}`);
      await journal.update(jobId, { lastError });
      return 'parked';
    }

    const backoff = new Backoff(this.options.backoff);
    const attempt = new AbortController();
    const signal = AbortSignal.any([this.abort.signal, attempt.signal]);
    const keeper = new LeaseKeeper({
      api,
      jobId,
      body: { epoch, state: 'uploading' },
      intervalMs: this.options.jobHeartbeatIntervalMs(),
      signal: this.abort.signal,
      log,
      onLeaseLost: () => attempt.abort(new Error('lease lost')),
      unref: true,
    });
    keeper.start();
    let facts = captureFactsOf(entry);
    try {
      while (!this.stopped) {
        try {
          if (facts) {
            await this.sendFacts(entry, facts, signal);
            facts = undefined;
          }
          let step = nextUploadStep(await api.uploadStatus(recordingId, signal), local);
          if (step.kind === 'send') {
            log.info(
              { jobId, recordingId, offset: step.offset, totalBytes: local.sizeBytes },
              step.offset === local.sizeBytes
                ? 'the controller holds every byte: asking it to complete the upload'
                : 'uploading recording',
            );
            const body = createReadStream(entry.path, {
              start: step.offset,
              highWaterMark: UPLOAD_READ_BYTES,
            });
            const request: UploadRangeRequest = {
              recordingId,
              epoch,
              sha256: local.sha256,
              totalBytes: local.sizeBytes,
              offset: step.offset,
              body,
              signal,
            };
            try {
              step = nextUploadStep(await api.uploadRange(request), local);
            } finally {
              body.destroy(); // an interrupted request leaves the stream open
            }
          }
          if (step.kind === 'confirmed') {
            if (await this.options.cache?.keep(entry)) {
              log.info(
                { jobId, recordingId, sha256: local.sha256 },
                'upload confirmed; local copy kept by policy',
              );
              return 'confirmed';
            }
            await unlink(entry.path).catch((error: NodeJS.ErrnoException) => {
              if (error.code !== 'ENOENT') throw error;
            });
            await journal.remove(jobId);
            log.info({ jobId, recordingId, sha256: local.sha256 }, 'upload confirmed; local copy deleted');
            return 'confirmed';
          }
          if (step.kind === 'conflict') {
            log.error({ jobId, recordingId }, `upload stopped: ${step.reason}; the local file is kept`);
            await journal.update(jobId, { lastError: step.reason });
            return 'parked';
          }
          // Sent everything but not complete yet: ask again after a pause.
          await sleep(backoff.next(), this.abort.signal);
        } catch (error) {
          if (this.stopped) return 'stopped';
          if (keeper.leaseLost || isStaleLease(error)) return await this.markLeaseLost(entry);
          if (error instanceof JobGoneError) return await this.markLeaseLost(entry, error.message);
          if (isApiError(error, 409, ERROR_CODES.offsetMismatch)) {
            log.info({ jobId, recordingId }, 'controller holds a different offset; asking again');
          } else if (isApiError(error, 422, ERROR_CODES.checksumMismatch)) {
            return await this.reportChecksumMismatch(entry, error);
          } else if (isRetryable(error)) {
            const level = backoff.failures === 0 ? 'warn' : 'debug';
            log[level](
              { jobId, recordingId, attempt: backoff.failures + 1 },
              `upload interrupted: ${describeError(error)}; will resume`,
            );
          } else {
            log.error(
              { jobId, recordingId },
              `upload stopped: ${describeError(error)}; will try again later`,
            );
            await journal.update(jobId, { lastError: describeError(error) });
            return 'parked';
          }
          await sleep(backoff.next(), this.abort.signal);
        }
      }
      return 'stopped';
    } finally {
      keeper.stop();
    }
  }

  /** The entry once the controller knows it (a continuation part is registered first). */
  private async registered(entry: JournalEntry): Promise<JournalEntry | UploadOutcome> {
    if (!entry.pendingPart) return entry;
    try {
      return await this.registrar.register(entry.jobId, this.abort.signal);
    } catch (error) {
      if (this.stopped) return 'stopped';
      if (error instanceof PartRefusedError) return await this.markLeaseLost(entry, error.message);
      throw error;
    }
  }

  /**
   * The capture facts on an 'uploading' heartbeat before the bytes. A controller that does not
   * take them (400) does not stop the upload; a 404 means the job is gone.
   */
  private async sendFacts(entry: JournalEntry, capture: CaptureFacts, signal: AbortSignal): Promise<void> {
    const { api, log } = this.options;
    try {
      await api.jobHeartbeat(entry.jobId, { epoch: entry.epoch, state: 'uploading', capture }, signal);
    } catch (error) {
      if (isApiError(error, 404)) throw new JobGoneError('the controller no longer has this job');
      if (isApiError(error, 400)) {
        log.warn(
          { jobId: entry.jobId },
          `the controller did not take the capture facts: ${describeError(error)}`,
        );
        return;
      }
      throw error;
    }
  }

  private async markLeaseLost(entry: JournalEntry, reason = 'stale lease'): Promise<UploadOutcome> {
    this.options.log.warn(
      { jobId: entry.jobId, path: entry.path },
      `${reason === 'stale lease' ? 'another holder has this job (stale lease)' : reason}: upload stopped, local file kept`,
    );
    await this.options.journal.update(entry.jobId, { state: 'lease-lost', lastError: reason });
    return 'lease-lost';
  }

  private async reportChecksumMismatch(entry: JournalEntry, error: unknown): Promise<UploadOutcome> {
    const reason = `checksum mismatch on upload: ${describeError(error)}`;
    this.options.log.error(
      { jobId: entry.jobId, path: entry.path },
      `${reason}; job reported failed, file kept`,
    );
    await reportTerminal(
      this.options.api.jobFailed.bind(this.options.api),
      entry.jobId,
      {
        epoch: entry.epoch,
        reason,
      },
      this.options,
      this.abort.signal,
    );
    await this.options.journal.update(entry.jobId, { state: 'failed', lastError: reason });
    return 'failed';
  }
}
