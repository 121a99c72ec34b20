/**
 * What a recording's context reads: the recording with its node, its job and the job's
 * schedule, and the jobs linked to it as parts of one occurrence. Prisma only; reads only.
 */
import type { Db } from '../../db/client.js';
import type { Node, Prisma, Recording, RecordingJob, Schedule } from '../../db/rows.js';

export type ContextSchedule = Pick<Schedule, 'id' | 'name' | 'timeZone' | 'voiceGuildId' | 'voiceChannelId'>;
export type ContextJob = RecordingJob & { schedule: ContextSchedule | null };
export type ContextRecording = Recording & {
  node: Pick<Node, 'id' | 'name' | 'siteId'>;
  job: ContextJob | null;
};
export type PartRecording = Pick<
  Recording,
  'id' | 'state' | 'firstSampleAt' | 'durationMs' | 'partial' | 'partialReason' | 'sha256'
>;
export type PartJob = RecordingJob & { recording: PartRecording };

const scheduleFields = {
  select: { id: true, name: true, timeZone: true, voiceGuildId: true, voiceChannelId: true },
} as const;
const partRecording = {
  select: {
    id: true,
    state: true,
    firstSampleAt: true,
    durationMs: true,
    partial: true,
    partialReason: true,
    sha256: true,
  },
} as const;

export class RecordingContextRepository {
  constructor(private readonly db: Db) {}

  find(recordingId: string): Promise<ContextRecording | null> {
    return this.db.recording.findUnique({
      where: { id: recordingId },
      include: {
        node: { select: { id: true, name: true, siteId: true } },
        job: { include: { schedule: scheduleFields } },
      },
    });
  }

  async parentOf(jobId: string): Promise<string | null> {
    const row = await this.db.recordingJob.findUnique({
      where: { id: jobId },
      select: { parentJobId: true },
    });
    return row?.parentJobId ?? null;
  }

  /**
   * The node's jobs that are one of `ids`, continue one of them (parentJobId), or belong to the
   * same scheduled occurrence (schedule, node, occurrence start).
   */
  linkedJobs(
    nodeId: string,
    ids: string[],
    occurrence: { scheduleId: string; occurrenceStart: Date } | undefined,
    limit: number,
  ): Promise<PartJob[]> {
    const links: Prisma.RecordingJobWhereInput[] = [{ id: { in: ids } }, { parentJobId: { in: ids } }];
    if (occurrence) links.push(occurrence);
    return this.db.recordingJob.findMany({
      where: { nodeId, OR: links },
      include: { recording: partRecording },
      orderBy: [{ part: 'asc' }, { createdAt: 'asc' }, { id: 'asc' }],
      take: limit,
    });
  }
}
