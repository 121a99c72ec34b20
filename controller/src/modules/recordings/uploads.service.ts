/**
 * The agent's resumable cache-file upload (AGENT_ROUTES.cacheFile; docs/architecture.md, flow 2). Bytes
 * stream to `<id>.wav.part` with backpressure (never buffered whole), hashed as they arrive
 * (a resumed upload's earlier bytes are read back once first: part-writer.ts); a cut request
 * keeps what arrived (fsynced) so the agent resumes from there; once the part holds
 * the declared total it is verified against the agent's SHA-256 over the whole file,
 * then renamed atomically to `<id>.wav` and the recording and job complete together
 * with their audit event. Every call is fenced by the job's epoch.
 *
 * Completion is idempotent: a file held whole but never committed (the controller
 * stopped between the last byte and the commit) is verified against the SHA-256 the
 * agent declared, which the recording keeps, and completed by the next status query,
 * by the next PUT (an empty one at the final offset is enough), or at start-up.
 *
 * The health module hears of every failed request (cut off, too large, not the declared
 * SHA-256) and of every completion: an upload that keeps failing becomes a health event.
 */

import type { Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { UPLOAD_HEADERS, type UploadStatus } from '../../../../shared/src/agent-api.js';
import { ERROR_CODES } from '../../../../shared/src/errors.js';
import type { Config } from '../../config.js';
import type { Actor, AuditWriter, RequestContext } from '../../core/audit.types.js';
import { NO_CHANGE_FEED } from '../../core/change-feed.js';
import { AppError, badRequest, conflict, staleLease } from '../../core/errors.js';
import { type HealthAlerts, NO_HEALTH_ALERTS } from '../../core/health-alerts.js';
import { actorOf, type CallContext, type Principal } from '../../core/principal.js';
import type { Visible } from '../../core/visible.js';
import type { Db } from '../../db/client.js';
import type { RecordingJob } from '../../db/rows.js';
import type { Metrics } from '../../metrics.js';
import type { RecordingFileStore } from './file-store.js';
import type { JobsRepository } from './jobs.repository.js';
import { ACTIVE_JOB_STATES, isActive } from './jobs.service.js';
import { ownRecording } from './own-recording.js';
import type { PartWrite } from './part-writer.js';
import { RecordingChanges, UPLOAD_PROGRESS_EVERY_MS } from './recording-changes.js';
import type { RecordingRow, RecordingsRepository } from './recordings.repository.js';
import type { UploadHeaders } from './recordings.schemas.js';

/** `bytes N-(total-1)/total` (the rest from byte N), or `bytes *` + `/total` (nothing more: complete it). */
const CONTENT_RANGE = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+)$/;
/** Who completes an upload the controller finds held whole at start-up. */
const RECOVERY_ACTOR: Actor = { type: 'system', id: null, name: 'upload-recovery' };

interface Upload {
  recording: RecordingRow;
  job: RecordingJob;
  epoch: number;
  sha256: string;
  totalBytes: number;
}

/** Whose request completes an upload, for its audit event. */
interface Origin {
  actor: Actor;
  context?: RequestContext;
}

type Finish = { kind: 'completed'; status: UploadStatus } | { kind: 'mismatch'; actual: string };

export interface HeldUploadsReport {
  completed: string[];
  /** Held whole but not hashing to the declared SHA-256: discarded (audited), the agent sends them again. */
  discarded: string[];
  failed: { recordingId: string; error: unknown }[];
}

export class UploadsService {
  /** Uploads streaming now, by recording: a newer request for the same recording ends the older one. */
  private readonly inFlight = new Map<string, { supersede: () => void; done: Promise<void> }>();

  private readonly db: Db;
  private readonly recordings: RecordingsRepository;
  private readonly jobs: JobsRepository;
  private readonly audit: AuditWriter;
  private readonly files: RecordingFileStore;
  private readonly metrics: Pick<Metrics, 'uploadBytes' | 'uploadDirectBytes' | 'uploads'>;
  private readonly config: Pick<Config, 'leaseSeconds'>;
  private readonly now: () => Date;
  private readonly alerts: HealthAlerts;
  private readonly changes: RecordingChanges;

  constructor(options: {
    db: Db;
    recordings: RecordingsRepository;
    jobs: JobsRepository;
    audit: AuditWriter;
    files: RecordingFileStore;
    metrics: Pick<Metrics, 'uploadBytes' | 'uploadDirectBytes' | 'uploads'>;
    config: Pick<Config, 'leaseSeconds'>;
    now?: () => Date;
    /** Told of failed upload requests and completions (the health module's `upload_failing`). */
    alerts?: HealthAlerts;
    changes?: RecordingChanges;
  }) {
    this.db = options.db;
    this.recordings = options.recordings;
    this.jobs = options.jobs;
    this.audit = options.audit;
    this.files = options.files;
    this.metrics = options.metrics;
    this.config = options.config;
    this.now = options.now ?? (() => new Date());
    this.alerts = options.alerts ?? NO_HEALTH_ALERTS;
    this.changes = options.changes ?? new RecordingChanges(NO_CHANGE_FEED, this.now);
  }

  /** The calling node's own recording; 404 for anyone else's. */
  private ownRecording(principal: Principal, id: string): Promise<Visible<RecordingRow>> {
    return ownRecording(this.recordings, principal, id);
  }

  async status(id: string, ctx: CallContext): Promise<UploadStatus> {
    const recording = await this.ownRecording(ctx.principal, id);
    if (recording.state === 'completed') return this.completedStatus(recording);
    if (this.heldWhole(recording, await this.files.partSize(recording.nodeId, id))) {
      // Every byte arrived but the completion was never committed: finish it now.
      const finished = await this.finishHeld(id, { actor: actorOf(ctx.principal), context: ctx.request });
      if (finished) return finished;
    }
    return {
      recordingId: id,
      receivedBytes: await this.files.partSize(recording.nodeId, id),
      complete: false,
      sha256: null,
    };
  }

  /**
   * Start-up: completes every upload a stop between its last byte and its commit left
   * held whole, after verifying it against the SHA-256 the agent declared. Stops
   * between recordings when `signal` aborts.
   */
  async recoverHeldUploads(signal?: AbortSignal): Promise<HeldUploadsReport> {
    const report: HeldUploadsReport = { completed: [], discarded: [], failed: [] };
    for (const recording of await this.recordings.listUploading()) {
      if (signal?.aborted) break;
      try {
        if (!this.heldWhole(recording, await this.files.partSize(recording.nodeId, recording.id))) continue;
        const status = await this.finishHeld(recording.id, { actor: RECOVERY_ACTOR });
        if (status?.complete) report.completed.push(recording.id);
        else if (status) report.discarded.push(recording.id);
      } catch (error) {
        report.failed.push({ recordingId: recording.id, error });
      }
    }
    return report;
  }

  /**
   * The upload of a recording whose part holds every declared byte while its job is
   * still uploading; undefined otherwise (also when nothing was declared: an upload
   * begun before the declaration was kept, which the agent's next PUT completes).
   */
  private heldWhole(recording: RecordingRow, held: number): Upload | undefined {
    const { job, expectedBytes, expectedSha256 } = recording;
    if (job?.state !== 'uploading' || expectedBytes === null || expectedSha256 === null) return undefined;
    if (held === 0 || held !== Number(expectedBytes)) return undefined;
    return { recording, job, epoch: job.epoch, sha256: expectedSha256, totalBytes: held };
  }

  /**
   * Verifies and completes a part held whole (a status query, start-up). Undefined when
   * a request is already at it (that request completes it) or the state changed meanwhile.
   * A part that does not hash to the declared SHA-256 is discarded (audited): the agent,
   * which keeps its file until the controller confirms it, sends it again from byte 0.
   */
  private async finishHeld(id: string, origin: Origin): Promise<UploadStatus | undefined> {
    const release = this.tryTakeSlot(id);
    if (!release) return undefined;
    try {
      const recording = await this.recordings.find(id);
      if (!recording) return undefined;
      if (recording.state === 'completed') return this.completedStatus(recording);
      const upload = this.heldWhole(recording, await this.files.partSize(recording.nodeId, id));
      if (!upload) return undefined;
      const finished = await this.finish(upload, undefined, origin);
      if (finished.kind === 'completed') return finished.status;
      return { recordingId: id, receivedBytes: 0, complete: false, sha256: null };
    } catch (error) {
      // The job moved on under us (stopped, failed, superseded): nothing to complete.
      if (error instanceof AppError && error.code === ERROR_CODES.staleLease) return undefined;
      throw error;
    } finally {
      release();
    }
  }

  private completedStatus(recording: RecordingRow): UploadStatus {
    return {
      recordingId: recording.id,
      receivedBytes: Number(recording.sizeBytes ?? 0),
      complete: true,
      sha256: recording.sha256,
    };
  }

  async receive(
    id: string,
    headers: UploadHeaders & { 'content-length'?: number },
    body: Readable,
    ctx: CallContext,
  ): Promise<UploadStatus> {
    const recording = await this.ownRecording(ctx.principal, id);
    const job = recording.job;
    if (!job) throw conflict('This recording has no job to upload for.');
    const declared = {
      epoch: headers[UPLOAD_HEADERS.epoch],
      sha256: headers[UPLOAD_HEADERS.sha256].toLowerCase(),
      totalBytes: headers[UPLOAD_HEADERS.totalBytes],
    };
    const repeat = this.fenced(...(await this.settledIfFinishing(recording, job, declared.epoch)), declared);
    if (repeat) return repeat;
    const offset = this.offsetOf(headers['content-range'], declared.totalBytes);
    const contentLength = headers['content-length'];
    if (contentLength !== undefined && offset + contentLength > declared.totalBytes)
      throw this.tooLarge(declared.totalBytes);

    const release = await this.takeSlot(id, body);
    try {
      // While this request waited, the upload may have been completed (by an older request,
      // a status query or start-up) or its job moved on: read it again.
      const current = (await this.recordings.find(id)) ?? recording;
      const currentJob = current.job ?? job;
      const settled = this.fenced(current, currentJob, declared);
      if (settled) return settled;
      const upload: Upload = { recording: current, job: currentJob, ...declared };
      let held = await this.files.partSize(recording.nodeId, id);
      if (held > upload.totalBytes) {
        // Left from a different file than the one now declared: start over.
        await this.files.deletePart(recording.nodeId, id);
        held = 0;
      }
      if (held === upload.totalBytes) return await this.complete(upload, undefined, ctx);
      if (offset !== held) {
        throw new AppError(
          409,
          ERROR_CODES.offsetMismatch,
          `The controller holds ${held} bytes of this recording; resume from byte ${held}.`,
          { receivedBytes: held },
        );
      }
      await this.markUploading(upload, ctx);
      const following = this.followProgress(upload, offset);
      const { outcome, size, hash } = await this.writePart(upload, offset, body).finally(following);
      if (outcome === 'too-large') {
        await this.files.truncatePart(recording.nodeId, id, offset);
        await this.recordProgress(upload, offset);
        await this.failed(upload, `the body ran past the declared ${upload.totalBytes} bytes`);
        throw this.tooLarge(upload.totalBytes);
      }
      if (outcome === 'interrupted' || size < upload.totalBytes) {
        await this.recordProgress(upload, size);
        if (outcome === 'interrupted') {
          this.metrics.uploads.inc({ outcome: 'interrupted' });
          await this.failed(upload, `cut off after ${size} of ${upload.totalBytes} bytes`);
          throw badRequest(`The upload was cut off after ${size} bytes; resume from there.`, {
            receivedBytes: size,
          });
        }
        return { recordingId: id, receivedBytes: size, complete: false, sha256: null };
      }
      // The hash saw every byte of the part: this request's as they arrived, a resumed
      // upload's earlier ones read back first (part-writer.ts).
      return await this.complete(upload, hash, ctx);
    } finally {
      release();
    }
  }

  /**
   * The answer to a repeat of the request that completed the upload, undefined when the
   * upload goes on; throws when this epoch may no longer upload (stale lease).
   */
  /**
   * A finisher (start-up recovery, a status query) may be inside its commit for this very
   * lease: the job already reads completed, the recording not yet. Wait for it to settle and
   * read both again, so a racing completing request gets the completed answer, not "stale".
   */
  private async settledIfFinishing(
    recording: RecordingRow,
    job: RecordingJob,
    epoch: number,
  ): Promise<[RecordingRow, RecordingJob]> {
    if (job.state !== 'completed' || job.epoch !== epoch || recording.state === 'completed')
      return [recording, job];
    await this.inFlight.get(recording.id)?.done;
    const settled = await this.recordings.find(recording.id);
    return settled?.job ? [settled, settled.job] : [recording, job];
  }

  private fenced(
    recording: RecordingRow,
    job: RecordingJob,
    declared: { epoch: number; sha256: string },
  ): UploadStatus | undefined {
    if (recording.state === 'completed' && job.epoch === declared.epoch) {
      // A repeat of the request that completed it (its answer was lost): same file, same answer.
      if (recording.sha256 === declared.sha256) return this.completedStatus(recording);
      throw conflict('The recording is already complete with a different file.', {
        sha256: recording.sha256,
      });
    }
    if (job.epoch !== declared.epoch || !isActive(job.state))
      throw staleLease(
        job.epoch !== declared.epoch
          ? `Epoch ${declared.epoch} is not the job's current epoch (${job.epoch}): this lease was superseded.`
          : `The job is ${job.state}; it no longer takes uploads.`,
      );
    return undefined;
  }

  /** Where the body starts: 0 without content-range; the total for the empty completing PUT. */
  private offsetOf(contentRange: string | undefined, totalBytes: number): number {
    if (contentRange === undefined) return 0;
    const match = CONTENT_RANGE.exec(contentRange);
    if (match && match[1] === undefined && Number(match[3]) === totalBytes) return totalBytes;
    const [start, end, total] = match ? [Number(match[1]), Number(match[2]), Number(match[3])] : [];
    if (
      start === undefined ||
      end === undefined ||
      total !== totalBytes ||
      end !== totalBytes - 1 ||
      start > end
    )
      throw badRequest(
        `content-range must be "bytes N-${totalBytes - 1}/${totalBytes}" (the rest of the file from byte N) ` +
          `or "bytes */${totalBytes}" (an empty body: complete what the controller holds), ` +
          `matching ${UPLOAD_HEADERS.totalBytes}.`,
      );
    return start;
  }

  private tooLarge(totalBytes: number): AppError {
    return new AppError(
      413,
      ERROR_CODES.payloadTooLarge,
      `The body runs past the declared ${UPLOAD_HEADERS.totalBytes} (${totalBytes}).`,
    );
  }

  /** Waits for (and first ends) an older upload of the same recording; returns the release. */
  private async takeSlot(id: string, body: Readable): Promise<() => void> {
    for (let current = this.inFlight.get(id); current; current = this.inFlight.get(id)) {
      current.supersede();
      await current.done;
    }
    return this.occupy(id, () => body.destroy(new Error('superseded by a newer upload')));
  }

  /** The slot when nothing holds it (a status query, start-up): those never end an upload. */
  private tryTakeSlot(id: string): (() => void) | undefined {
    return this.inFlight.has(id) ? undefined : this.occupy(id, () => {});
  }

  private occupy(id: string, supersede: () => void): () => void {
    let release!: () => void;
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.inFlight.set(id, { supersede, done });
    return () => {
      this.inFlight.delete(id);
      release();
    };
  }

  /** Streams the body into the part (durable when this returns); a disk error throws. */
  private async writePart(upload: Upload, offset: number, body: Readable): Promise<PartWrite> {
    const { nodeId, id } = upload.recording;
    let written: PartWrite | undefined;
    try {
      written = await this.files.receivePart(nodeId, id, offset, upload.totalBytes - offset, body);
      return written;
    } finally {
      this.metrics.uploadBytes.inc(written?.received ?? 0);
      this.metrics.uploadDirectBytes.inc(written?.direct ?? 0);
    }
  }

  /** First bytes of an upload: the job moves to `uploading` and its lease is extended (fenced). */
  private async markUploading(upload: Upload, ctx: CallContext): Promise<void> {
    const leaseExpiresAt = new Date(this.now().getTime() + this.config.leaseSeconds * 1000);
    let moved: string | undefined;
    await this.db.$transaction(async (tx) => {
      const job = await this.jobs.findInTx(tx, upload.job.id);
      const ok =
        job !== null &&
        job.epoch === upload.epoch &&
        isActive(job.state) &&
        (await this.jobs.updateFenced(tx, job.id, upload.epoch, [job.state], {
          state: 'uploading',
          leaseExpiresAt,
        }));
      if (!ok) throw staleLease('The job changed while this upload started; check the lease.');
      // What the agent declares is kept before any byte is written: a file held whole can
      // then be verified and completed without the agent (see finishHeld).
      const declared = { expectedBytes: upload.totalBytes, expectedSha256: upload.sha256 };
      if (job.state === 'uploading') {
        const { expectedBytes, expectedSha256 } = job.recording;
        if (expectedSha256 !== upload.sha256 || Number(expectedBytes) !== upload.totalBytes)
          await this.recordings.update(tx, upload.recording.id, declared);
        return;
      }
      await this.recordings.update(tx, upload.recording.id, { state: 'uploading', ...declared });
      moved = job.state;
      await this.audit.recordChange(tx, ctx, {
        permission: 'recording:control',
        action: 'recording_job.upload_start',
        target: { type: 'recording_job', id: job.id },
        before: { state: job.state },
        after: { state: 'uploading', totalBytes: upload.totalBytes },
      });
    });
    const { recording, job } = upload;
    const place = { nodeId: recording.nodeId, siteId: recording.node.siteId };
    if (moved) this.changes.moved(place, job, 'uploading', 'uploading', { totalBytes: upload.totalBytes });
  }

  /** Progress is telemetry (how far to resume), not a change worth an audit event. */
  private async recordProgress(upload: Upload, receivedBytes: number): Promise<void> {
    await this.recordings.update(this.db, upload.recording.id, {
      receivedBytes,
      expectedBytes: upload.totalBytes,
      expectedSha256: upload.sha256,
    });
    this.progress(upload, receivedBytes);
  }

  private progress(upload: Upload, receivedBytes: number): void {
    const { recording } = upload;
    const place = { nodeId: recording.nodeId, siteId: recording.node.siteId };
    this.changes.uploadProgress(place, recording.id, receivedBytes, upload.totalBytes);
  }

  /**
   * While a request's body is written, its progress is announced once a second from the part's
   * size on disk (the write path itself is left alone); the returned function stops it.
   */
  private followProgress(upload: Upload, offset: number): () => void {
    this.progress(upload, offset);
    const { nodeId, id } = upload.recording;
    const timer = setInterval(() => {
      this.files.partSize(nodeId, id).then(
        (size) => this.progress(upload, size),
        () => {},
      );
    }, UPLOAD_PROGRESS_EVERY_MS);
    timer.unref();
    return () => clearInterval(timer);
  }

  private failed(upload: Upload, reason: string): Promise<void> {
    return this.alerts.uploadFailed({
      nodeId: upload.recording.nodeId,
      recordingId: upload.recording.id,
      reason,
    });
  }

  /** Completes the upload of a part that holds every byte; 422 when it does not hash to the declaration. */
  private async complete(
    upload: Upload,
    inFlightHash: Hash | undefined,
    ctx: CallContext,
  ): Promise<UploadStatus> {
    const finished = await this.finish(upload, inFlightHash, {
      actor: actorOf(ctx.principal),
      context: ctx.request,
    });
    if (finished.kind === 'completed') return finished.status;
    throw new AppError(
      422,
      ERROR_CODES.checksumMismatch,
      'The uploaded file does not hash to the declared SHA-256; it was discarded, upload it again from byte 0.',
      { expected: upload.sha256, actual: finished.actual, receivedBytes: 0 },
    );
  }

  /**
   * Verifies the part against the declared SHA-256, then commits the completion (fenced
   * by the epoch) with its audit event. A part that does not match is discarded, in the
   * transaction that audits it.
   */
  private async finish(upload: Upload, inFlightHash: Hash | undefined, origin: Origin): Promise<Finish> {
    const { recording, job } = upload;
    const actual = inFlightHash?.digest('hex') ?? (await this.files.hashPart(recording.nodeId, recording.id));
    if (actual !== upload.sha256) {
      this.metrics.uploads.inc({ outcome: 'checksum_mismatch' });
      await this.db.$transaction(async (tx) => {
        await this.recordings.update(tx, recording.id, {
          receivedBytes: 0,
          expectedBytes: upload.totalBytes,
        });
        await this.audit.record(tx, {
          actor: origin.actor,
          permission: 'recording:control',
          action: 'recording.upload',
          target: { type: 'recording', id: recording.id },
          outcome: 'failure',
          reason: 'checksum mismatch; the partial file was discarded',
          after: { expectedSha256: upload.sha256, actualSha256: actual, totalBytes: upload.totalBytes },
          context: origin.context,
        });
        // Only once its event is written: a file is never dropped without a trace.
        await this.files.deletePart(recording.nodeId, recording.id);
      });
      await this.failed(upload, 'the file did not hash to the declared SHA-256');
      return { kind: 'mismatch', actual };
    }
    const facts = await this.files.partFacts(recording.nodeId, recording.id);
    const durationMs = facts?.durationMs ?? null;
    const container = facts?.container ?? 'wav';
    const now = this.now();
    await this.db.$transaction(async (tx) => {
      const ok = await this.jobs.updateFenced(tx, job.id, upload.epoch, ACTIVE_JOB_STATES, {
        state: 'completed',
        finishedAt: now,
        leaseExpiresAt: null,
      });
      if (!ok)
        throw staleLease('The job changed before the upload completed; this lease is no longer current.');
      // Renamed only once the job is ours to complete; a failed commit leaves a file the next upload replaces.
      const filePath = await this.files.promotePart(recording.nodeId, recording.id, container);
      await this.recordings.update(tx, recording.id, {
        state: 'completed',
        filePath,
        container,
        // What the file says it holds (the profile may have changed since the recording was made).
        ...(facts?.sampleRate ? { sampleRate: facts.sampleRate } : {}),
        ...(facts?.channels ? { channels: facts.channels } : {}),
        ...(facts?.bitDepth ? { bitDepth: facts.bitDepth } : {}),
        sizeBytes: upload.totalBytes,
        receivedBytes: upload.totalBytes,
        expectedBytes: upload.totalBytes,
        sha256: actual,
        durationMs,
        completedAt: now,
      });
      await this.audit.record(tx, {
        actor: origin.actor,
        permission: 'recording:control',
        action: 'recording.upload',
        target: { type: 'recording', id: recording.id },
        outcome: 'success',
        after: { jobId: job.id, sizeBytes: upload.totalBytes, sha256: actual, durationMs, container },
        context: origin.context,
      });
    });
    this.metrics.uploads.inc({ outcome: 'completed' });
    this.progress(upload, upload.totalBytes);
    const place = { nodeId: recording.nodeId, siteId: recording.node.siteId };
    this.changes.moved(place, job, 'completed', 'completed', { sizeBytes: upload.totalBytes, durationMs });
    await this.alerts.uploadCompleted({
      nodeId: recording.nodeId,
      recordingId: recording.id,
      scheduleId: job.scheduleId,
    });
    return {
      kind: 'completed',
      status: { recordingId: recording.id, receivedBytes: upload.totalBytes, complete: true, sha256: actual },
    };
  }
}
