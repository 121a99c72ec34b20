/**
 * A recording in its context: the node it was recorded on, the schedule and occurrence it
 * came from, every part of that occurrence (continuation parts after an agent restart), its
 * checksums and upload state, its capture facts, and — when the schedule names a Discord
 * voice channel — who attended that channel while it recorded, with signed receipts.
 *
 * The recording is checked like every recording read (outside the caller's scope: a 404,
 * audited as a denial). The attendance is the guild's, answered by the attendance module
 * with its own access rule (see its `attendanceInWindow`).
 *
 * The attendance window is what was recorded when capture started: from the first sample
 * (agent clock, corrected by the agent's reported clock offset) or else the job's start, to
 * that plus the recorded duration, or else the job's end, or now while it still records.
 * Before capture starts it is the planned window (pre- and post-roll included); an ad-hoc
 * recording not started yet has none.
 */
import { notFound } from '../../core/errors.js';
import type { Principal } from '../../core/principal.js';
import type { AttendanceInWindow, ChannelAttendance } from '../attendance/index.js';
import type { RecordingsService } from '../recordings/index.js';
import type {
  ContextJob,
  ContextRecording,
  PartJob,
  RecordingContextRepository,
} from './recording-context.repository.js';

/** Parts of one occurrence listed at most, and parent links followed at most. */
const MAX_PARTS = 100;
const MAX_LINK_DEPTH = 20;
/** Job states in which capture may still be going on. */
const CAPTURING = new Set(['claimed', 'recording', 'lost_contact']);

export interface AttendanceWindowRange {
  from: Date;
  to: Date;
  basis: 'recorded' | 'planned';
}

const iso = (date: Date | null | undefined) => date?.toISOString() ?? null;
const bytes = (value: bigint | null) => (value === null ? null : Number(value));

/** The window attendance is looked up in (see the file comment); null when there is none yet. */
export function attendanceWindow(
  recording: ContextRecording,
  job: ContextJob | null,
  now: Date,
): AttendanceWindowRange | null {
  const firstSample = recording.firstSampleAt
    ? new Date(recording.firstSampleAt.getTime() - (recording.clockOffsetMs ?? 0))
    : null;
  const started = firstSample ?? job?.startedAt ?? null;
  if (started) {
    const end =
      recording.durationMs !== null
        ? new Date(started.getTime() + recording.durationMs)
        : (job?.finishedAt ??
          (job && !CAPTURING.has(job.state) && job.plannedEndAt ? job.plannedEndAt : now));
    return { from: started, to: end > started ? end : started, basis: 'recorded' };
  }
  const plannedFrom = job?.plannedStartAt ?? recording.plannedStartAt;
  if (plannedFrom && job?.plannedEndAt) return { from: plannedFrom, to: job.plannedEndAt, basis: 'planned' };
  return null;
}

function presentPart(job: PartJob, currentJobId: string | undefined) {
  return {
    part: job.part,
    jobId: job.id,
    recordingId: job.recordingId,
    parentJobId: job.parentJobId,
    jobState: job.state,
    recordingState: job.recording.state,
    plannedStartAt: iso(job.plannedStartAt),
    plannedEndAt: iso(job.plannedEndAt),
    startedAt: iso(job.startedAt),
    finishedAt: iso(job.finishedAt),
    firstSampleAt: iso(job.recording.firstSampleAt),
    durationMs: job.recording.durationMs,
    sha256: job.recording.sha256,
    partial: job.recording.partial,
    partialReason: job.recording.partialReason,
    current: job.id === currentJobId,
  };
}

function presentSchedule(job: ContextJob | null) {
  if (!job) return { schedule: null, occurrence: null };
  const { schedule } = job;
  const planned = job.occurrenceStart ?? job.plannedStartAt;
  return {
    schedule: schedule && {
      id: schedule.id,
      name: schedule.name,
      timeZone: schedule.timeZone,
      voiceGuildId: schedule.voiceGuildId,
      voiceChannelId: schedule.voiceChannelId,
    },
    occurrence: planned
      ? {
          scheduleId: job.scheduleId,
          start: iso(job.occurrenceStart),
          plannedStartAt: iso(job.plannedStartAt),
          plannedEndAt: iso(job.plannedEndAt),
        }
      : null,
  };
}

export class RecordingContextService {
  constructor(
    private readonly repo: RecordingContextRepository,
    private readonly recordings: Pick<RecordingsService, 'visibleRecording'>,
    private readonly attendanceInWindow: AttendanceInWindow,
    private readonly now: () => Date,
  ) {}

  async context(principal: Principal, recordingId: string) {
    // The scope check (and its audited 404) is the recordings module's, as for every read.
    await this.recordings.visibleRecording(principal, 'recording:read', recordingId);
    const recording = await this.repo.find(recordingId);
    if (!recording) throw notFound('recording'); // deleted in between
    const { job } = recording;
    const parts = job ? await this.partsOf(job) : [];
    const range = attendanceWindow(recording, job, this.now());
    const voice = job?.schedule?.voiceGuildId && job.schedule.voiceChannelId ? job.schedule : null;
    let attendance: (ChannelAttendance & { window: ReturnType<typeof presentRange> }) | null = null;
    if (voice && range) {
      const found = await this.attendanceInWindow(
        principal,
        voice.voiceGuildId!,
        voice.voiceChannelId!,
        range,
      );
      attendance = { ...found, window: presentRange(range) };
    }
    return {
      recording: {
        id: recording.id,
        title: recording.title,
        state: recording.state,
        createdAt: recording.createdAt.toISOString(),
        completedAt: iso(recording.completedAt),
      },
      node: { id: recording.node.id, name: recording.node.name, siteId: recording.node.siteId },
      ...presentSchedule(job),
      parts: parts.map((p) => presentPart(p, job?.id)),
      checksums: { sha256: recording.sha256, expectedSha256: recording.expectedSha256 },
      upload: {
        state: recording.state,
        receivedBytes: Number(recording.receivedBytes),
        expectedBytes: bytes(recording.expectedBytes),
        sizeBytes: bytes(recording.sizeBytes),
        jobId: job?.id ?? null,
        jobState: job?.state ?? null,
        epoch: job?.epoch ?? null,
      },
      capture: {
        plannedStartAt: iso(recording.plannedStartAt),
        firstSampleAt: iso(recording.firstSampleAt),
        clockOffsetMs: recording.clockOffsetMs,
        durationMs: recording.durationMs,
        partial: recording.partial,
        partialReason: recording.partialReason,
      },
      attendance,
    };
  }

  /**
   * Every part of the job's occurrence on its node: from the first part (parent links followed
   * up), every job continuing one of them, and for a scheduled job every job of the same
   * (schedule, node, occurrence start). Ad-hoc jobs are linked by parentJobId alone.
   */
  private async partsOf(job: ContextJob): Promise<PartJob[]> {
    let root = job.id;
    let parent = job.parentJobId;
    for (let depth = 0; parent && depth < MAX_LINK_DEPTH; depth++) {
      root = parent;
      parent = await this.repo.parentOf(parent);
    }
    const occurrence =
      job.scheduleId && job.occurrenceStart
        ? { scheduleId: job.scheduleId, occurrenceStart: job.occurrenceStart }
        : undefined;
    let ids = [root, job.id];
    let found: PartJob[] = [];
    for (let depth = 0; depth < MAX_LINK_DEPTH; depth++) {
      found = await this.repo.linkedJobs(job.nodeId, ids, occurrence, MAX_PARTS);
      if (found.length >= MAX_PARTS || found.every((j) => ids.includes(j.id))) break;
      ids = found.map((j) => j.id);
    }
    return found;
  }
}

function presentRange(range: AttendanceWindowRange) {
  return { from: range.from.toISOString(), to: range.to.toISOString(), basis: range.basis };
}
