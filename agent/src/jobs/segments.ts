/**
 * Segments: a recording longer than its profile's segment length is split into consecutive
 * files of exactly that much audio each. The next segment starts at the capture frame after the
 * previous one's last (the PCM tap replays it when it has passed), so segments have no gap and no
 * overlap. Each segment after the first is a new recording registered like a continuation part
 * (PUT jobPart with `segment: true`): complete, not partial, linked to the job it continues.
 */
import { randomUUID } from 'node:crypto';
import type { RecordingProfileConfig } from '../../../shared/src/agent-api.js';
import { type JournalEntry, pendingPartJobId } from '../state/journal.js';
import type { RecordJob } from './recorder.js';
import type { RecordingOutcome } from './recording.js';

/** A scheduled window ending sooner than this after a segment's end gets no further segment. */
export const MIN_SEGMENT_REST_MS = 50;

/**
 * The segment length (ms) the profile asks for, undefined when none. `overrideSeconds` replaces
 * a set length (tests: the settings' minimum is 60 s); it never splits an unsegmented profile.
 */
export function segmentLengthMs(
  profile: Pick<RecordingProfileConfig, 'segmentSeconds'> | null | undefined,
  overrideSeconds?: number,
): number | undefined {
  const seconds = profile?.segmentSeconds;
  if (seconds === null || seconds === undefined || seconds <= 0) return undefined;
  return Math.round((overrideSeconds ?? seconds) * 1000);
}

/** A segmented job: its segment length and which segment (1 = the job's own recording). */
export type SegmentedJob = RecordJob & { segmentMs: number };

/**
 * The segment after `job`'s, which ended by its length at `next`; undefined when the job's audio
 * or window is used up. `entry` is the journal entry of the segment that ended.
 */
export function nextSegmentJob(
  entry: Pick<JournalEntry, 'jobId' | 'epoch' | 'continues' | 'channelSelection'>,
  job: SegmentedJob,
  next: NonNullable<RecordingOutcome['next']>,
): RecordJob | undefined {
  const remainingMs = job.durationMs === undefined ? undefined : job.durationMs - job.segmentMs;
  if (remainingMs !== undefined && remainingMs <= 0) return undefined;
  const windowLeftMs = job.endAtMs === undefined ? undefined : job.endAtMs - next.atMs;
  if (windowLeftMs !== undefined && windowLeftMs < MIN_SEGMENT_REST_MS) return undefined;
  const plannedMs = Math.min(
    job.segmentMs,
    remainingMs ?? Number.POSITIVE_INFINITY,
    windowLeftMs ?? Number.POSITIVE_INFINITY,
  );
  const recordingId = randomUUID();
  // Every segment continues the job itself (the previous segment may not be registered yet).
  const parent = entry.continues ?? { jobId: entry.jobId, epoch: entry.epoch };
  const index = (job.segmentIndex ?? 1) + 1;
  return {
    jobId: pendingPartJobId(recordingId),
    recordingId,
    epoch: 1,
    durationMs: remainingMs,
    endAtMs: job.endAtMs,
    windowEndMs: job.windowEndMs,
    startAtFrame: next.frame,
    segmentMs: job.segmentMs,
    segmentIndex: index,
    postRollMs: job.postRollMs,
    channelSelection: entry.channelSelection ?? job.channelSelection,
    continues: parent,
    pendingPart: {
      epoch: parent.epoch,
      reason: `segment ${index} of a recording split by its profile`,
      segment: true,
      startedAtMs: Math.max(0, Math.round(next.atMs)),
      durationSeconds: Math.max(1, Math.ceil(plannedMs / 1000)),
    },
  };
}
