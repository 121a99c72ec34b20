/**
 * What the recordings module announces on the core change feed (core/change-feed.ts), each
 * after its transaction committed: a recording's state (`recording.state`), its job's state
 * (`job.state`), and an agent upload's progress (`upload.progress`, at most one a second per
 * recording). A change names its node, and its site when the service has it at hand (the live
 * events module looks the site up otherwise). Publishing never waits and never throws.
 */
import type { ChangeFeed } from '../../core/change-feed.js';

/** Where a recording or job belongs. */
export interface ChangePlace {
  nodeId: string;
  siteId?: string | null;
}

/** The least time between two `upload.progress` of one recording. */
export const UPLOAD_PROGRESS_EVERY_MS = 1000;
/** Uploads followed at once, at most (the oldest is forgotten first). */
const MAX_TRACKED_UPLOADS = 10_000;

export class RecordingChanges {
  private readonly lastProgress = new Map<string, number>();

  constructor(
    private readonly feed: ChangeFeed,
    private readonly now: () => Date,
  ) {}

  /** A recording's state changed (created, recording, uploading, completed, failed, deleted…). */
  recording(
    place: ChangePlace,
    recordingId: string,
    state: string,
    data: Record<string, unknown> = {},
  ): void {
    this.feed.publish({
      type: 'recording.state',
      at: this.now(),
      scope: scopeOf(place),
      subject: { type: 'recording', id: recordingId },
      data: { state, ...data },
    });
    if (state !== 'uploading') this.lastProgress.delete(recordingId);
  }

  /** A job's state changed (queued, claimed, recording, uploading, completed, failed, cancelled…). */
  job(
    place: ChangePlace,
    job: { id: string; recordingId: string },
    state: string,
    data: Record<string, unknown> = {},
  ): void {
    this.feed.publish({
      type: 'job.state',
      at: this.now(),
      scope: scopeOf(place),
      subject: { type: 'recording_job', id: job.id },
      data: { state, recordingId: job.recordingId, ...data },
    });
  }

  /** A job moved, and its recording with it (to `recordingState`, when that changed). */
  moved(
    place: ChangePlace,
    job: { id: string; recordingId: string },
    state: string,
    recordingState: string | undefined,
    data: Record<string, unknown> = {},
  ): void {
    this.job(place, job, state, data);
    if (recordingState !== undefined)
      this.recording(place, job.recordingId, recordingState, { jobState: state });
  }

  /** Bytes of an agent upload received so far: announced at most once a second per recording (and at the end). */
  uploadProgress(
    place: ChangePlace,
    recordingId: string,
    receivedBytes: number,
    expectedBytes: number | null,
  ): void {
    const nowMs = this.now().getTime();
    const last = this.lastProgress.get(recordingId);
    const done = expectedBytes !== null && receivedBytes >= expectedBytes;
    if (!done && last !== undefined && nowMs - last < UPLOAD_PROGRESS_EVERY_MS) return;
    this.lastProgress.delete(recordingId);
    if (!done) this.lastProgress.set(recordingId, nowMs);
    if (this.lastProgress.size > MAX_TRACKED_UPLOADS) {
      const oldest = this.lastProgress.keys().next().value;
      if (oldest !== undefined) this.lastProgress.delete(oldest);
    }
    this.feed.publish({
      type: 'upload.progress',
      at: new Date(nowMs),
      scope: scopeOf(place),
      subject: { type: 'recording', id: recordingId },
      data: { receivedBytes, expectedBytes },
    });
  }
}

function scopeOf(place: ChangePlace): { siteId: string | null; nodeId: string } {
  return { siteId: place.siteId ?? null, nodeId: place.nodeId };
}
