import type { ScopeFilter } from '../../core/access-set.js';
import type { Db, Tx } from '../../db/client.js';
import { anyOf, limitClause, type RawDb, type SqlValue } from '../../db/raw.js';
import type { Prisma, Recording, RecordingJob } from '../../db/rows.js';
import type { PagePosition } from './jobs.repository.js';
import type { RecordingListFilter } from './recordings.schemas.js';

export type RecordingRow = Recording & {
  job: RecordingJob | null;
  node: { siteId: string };
  tags: { tag: string }[];
};

/**
 * What the library list shows of a recording and its job, and only that, as it shows it:
 * DateTime as ISO-8601 text, BigInt as number. Read as one JSON array per row
 * (`RawDb.jsonArray`), in the order of `LIST_CELLS`; the three floats as columns.
 */
export interface ListedJob {
  id: string;
  recordingId: string;
  nodeId: string;
  state: string;
  epoch: number;
  leaseExpiresAt: string | null;
  durationSeconds: number | null;
  stopRequested: boolean;
  failureReason: string | null;
  requestedBy: string | null;
  scheduleId: string | null;
  occurrenceStart: string | null;
  plannedStartAt: string | null;
  plannedEndAt: string | null;
  part: number;
  parentJobId: string | null;
  createdAt: string;
  claimedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface ListedRecording {
  id: string;
  nodeId: string;
  siteId: string;
  title: string;
  state: string;
  sampleRate: number;
  channels: number;
  bitDepth: number | null;
  container: string;
  sizeBytes: number | null;
  receivedBytes: number;
  sha256: string | null;
  durationMs: number | null;
  plannedStartAt: string | null;
  firstSampleAt: string | null;
  clockOffsetMs: number | null;
  partial: boolean;
  partialReason: string | null;
  integratedLufs: number | null;
  loudnessRangeLu: number | null;
  truePeakDbtp: number | null;
  notes: string | null;
  tags: string[];
  /** As stored: a JSON object's text. */
  customFields: string;
  legalHold: boolean;
  createdAt: string;
  completedAt: string | null;
  job: ListedJob | null;
}

const LIST_CELLS = [
  'r."id"',
  'r."nodeId"',
  'n."siteId"',
  'r."title"',
  'r."state"',
  'r."sampleRate"',
  'r."channels"',
  'r."bitDepth"',
  'r."container"',
  'r."sizeBytes"',
  'r."receivedBytes"',
  'r."sha256"',
  'r."durationMs"',
  'r."plannedStartAt"',
  'r."firstSampleAt"',
  'r."clockOffsetMs"',
  'r."partial"',
  'r."partialReason"',
  'r."createdAt"',
  'r."completedAt"',
  'j."id"',
  'j."recordingId"',
  'j."nodeId"',
  'j."state"',
  'j."epoch"',
  'j."leaseExpiresAt"',
  'j."durationSeconds"',
  'j."stopRequested"',
  'j."failureReason"',
  'j."requestedBy"',
  'j."scheduleId"',
  'j."occurrenceStart"',
  'j."plannedStartAt"',
  'j."plannedEndAt"',
  'j."part"',
  'j."parentJobId"',
  'j."createdAt"',
  'j."claimedAt"',
  'j."startedAt"',
  'j."finishedAt"',
  'r."notes"',
  'r."customFields"',
  'r."legalHold"',
] as const;

interface ListRow {
  cells: string;
  /** The recording's tags, a JSON array's text (ordered). */
  tags: string;
  integratedLufs: number | null;
  loudnessRangeLu: number | null;
  truePeakDbtp: number | null;
}

/** Numbers as JSON gives them (a BigInt column too); null stays null. */
const num = (value: unknown) => (value === null ? null : Number(value));
const text = (value: unknown) => value as string;
const textOrNull = (value: unknown) => value as string | null;

function listedJob(c: readonly unknown[], iso: (value: unknown) => string | null): ListedJob | null {
  if (c[20] === null) return null; // the outer join found no job
  return {
    id: text(c[20]),
    recordingId: text(c[21]),
    nodeId: text(c[22]),
    state: text(c[23]),
    epoch: Number(c[24]),
    leaseExpiresAt: iso(c[25]),
    durationSeconds: num(c[26]),
    stopRequested: Boolean(c[27]),
    failureReason: textOrNull(c[28]),
    requestedBy: textOrNull(c[29]),
    scheduleId: textOrNull(c[30]),
    occurrenceStart: iso(c[31]),
    plannedStartAt: iso(c[32]),
    plannedEndAt: iso(c[33]),
    part: Number(c[34]),
    parentJobId: textOrNull(c[35]),
    createdAt: iso(c[36])!,
    claimedAt: iso(c[37]),
    startedAt: iso(c[38]),
    finishedAt: iso(c[39]),
  };
}

function listed(row: ListRow, iso: (value: unknown) => string | null): ListedRecording {
  const c = JSON.parse(row.cells) as unknown[];
  return {
    id: text(c[0]),
    nodeId: text(c[1]),
    siteId: text(c[2]),
    title: text(c[3]),
    state: text(c[4]),
    sampleRate: Number(c[5]),
    channels: Number(c[6]),
    bitDepth: num(c[7]),
    container: text(c[8]),
    sizeBytes: num(c[9]),
    receivedBytes: Number(c[10]),
    sha256: textOrNull(c[11]),
    durationMs: num(c[12]),
    plannedStartAt: iso(c[13]),
    firstSampleAt: iso(c[14]),
    clockOffsetMs: num(c[15]),
    partial: Boolean(c[16]),
    partialReason: textOrNull(c[17]),
    integratedLufs: row.integratedLufs,
    loudnessRangeLu: row.loudnessRangeLu,
    truePeakDbtp: row.truePeakDbtp,
    notes: textOrNull(c[40]),
    tags: JSON.parse(row.tags) as string[],
    customFields: text(c[41]),
    legalHold: Boolean(c[42]),
    createdAt: iso(c[18])!,
    completedAt: iso(c[19]),
    job: listedJob(c, iso),
  };
}

/** What a `RecordingRow` reads with a recording. */
export const withJobAndScope = {
  job: true,
  node: { select: { siteId: true } },
  tags: { select: { tag: true }, orderBy: { tag: 'asc' } },
} as const;

export class RecordingsRepository {
  constructor(
    private readonly db: Db,
    private readonly raw: RawDb,
  ) {}

  create(tx: Tx, data: Prisma.RecordingUncheckedCreateInput): Promise<Recording> {
    return tx.recording.create({ data });
  }

  find(id: string, tx: Tx | Db = this.db): Promise<RecordingRow | null> {
    return tx.recording.findUnique({ where: { id }, include: withJobAndScope });
  }

  update(tx: Tx | Db, id: string, data: Prisma.RecordingUncheckedUpdateInput): Promise<Recording> {
    return tx.recording.update({ where: { id }, data });
  }

  /** Uploads in progress whose declared SHA-256 is known (start-up completes those held whole). */
  /** Marks the agent's copy removed once; false when it already was (a repeated report). */
  async markAgentCopyRemoved(tx: Tx, id: string, at: Date, policyId: string | null): Promise<boolean> {
    const { count } = await tx.recording.updateMany({
      where: { id, agentCopyRemovedAt: null },
      data: { agentCopyRemovedAt: at, agentCopyRemovedPolicy: policyId },
    });
    return count === 1;
  }

  listUploading(): Promise<RecordingRow[]> {
    return this.db.recording.findMany({
      where: { state: 'uploading', expectedSha256: { not: null } },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      include: withJobAndScope,
    });
  }

  /**
   * A page of the library in `filter`, newest first: a hot read of the API, so one query on the
   * raw driver (db/raw.ts) rather than the model API, reading only what the list shows, each
   * row as one JSON value (`RawDb.jsonArray`).
   */
  async list(
    filter: ScopeFilter,
    where: RecordingListFilter,
    limit: number,
    after?: PagePosition,
  ): Promise<ListedRecording[]> {
    const params: SqlValue[] = [];
    const param = (value: SqlValue) => `$${params.push(value)}`;
    const conditions: string[] = [];
    if (!filter.all)
      conditions.push(
        anyOf(this.raw, param, [
          ['n."siteId"', filter.siteIds],
          ['r."nodeId"', filter.nodeIds],
        ]),
      );
    if (where.nodeId !== undefined) conditions.push(`r."nodeId" = ${param(where.nodeId)}`);
    if (where.state !== undefined) conditions.push(`r."state" = ${param(where.state)}`);
    if (where.tag !== undefined)
      conditions.push(
        `EXISTS (SELECT 1 FROM "RecordingTag" t WHERE t."recordingId" = r."id" AND t."tag" = ${param(where.tag)})`,
      );
    if (where.from !== undefined) conditions.push(`r."createdAt" >= ${param(new Date(where.from))}`);
    if (where.to !== undefined) conditions.push(`r."createdAt" < ${param(new Date(where.to))}`);
    if (after) {
      const at = param(after.createdAt);
      conditions.push(`(r."createdAt" < ${at} OR (r."createdAt" = ${at} AND r."id" < ${param(after.id)}))`);
    }
    const rows = await this.raw.query<ListRow>(
      `SELECT ${this.raw.jsonArray(LIST_CELLS)} AS "cells",
         ${this.raw.jsonAggregate('t."tag"', 'FROM "RecordingTag" t WHERE t."recordingId" = r."id"', 't."tag"')} AS "tags",
         r."integratedLufs", r."loudnessRangeLu", r."truePeakDbtp"
       FROM "Recording" r JOIN "Node" n ON n."id" = r."nodeId"
         LEFT JOIN "RecordingJob" j ON j."recordingId" = r."id"
       ${conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''}
       ORDER BY r."createdAt" DESC, r."id" DESC ${limitClause(limit)}`,
      params,
    );
    const iso = (value: unknown) => this.raw.isoDate(value);
    return rows.map((row) => listed(row, iso));
  }
}
