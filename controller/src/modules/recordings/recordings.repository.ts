import type { ScopeFilter } from '../../core/access-set.js';
import type { Db, Tx } from '../../db/client.js';
import { anyOf, limitClause, type RawDb, type SqlValue } from '../../db/raw.js';
import type { Prisma, Recording, RecordingJob } from '../../db/rows.js';
import type { PagePosition } from './jobs.repository.js';
import { searchSql } from './library-search.js';
import type { RecordingListFilter } from './recordings.schemas.js';

export type RecordingRow = Recording & {
  job: RecordingJob | null;
  node: { siteId: string };
  tags: { tag: string }[];
};

/**
 * What the library list reads of a recording and its job, and only that: one JSON array's text
 * per row (`RawDb.jsonArray`) in the order of `LIST_CELLS`, as the database wrote it (unparsed:
 * a row listed before is written from memory, listed-json.ts; `RecordingsRepository.cells`
 * parses it). The tags come as a JSON array's text, the three floats as columns (JSON text in SQL
 * could print them otherwise).
 */
export interface ListedRow {
  id: string;
  cells: string;
  tags: string;
  integratedLufs: number | null;
  loudnessRangeLu: number | null;
  truePeakDbtp: number | null;
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

/** Where `LIST_CELLS` holds what `ListedRow` readers need by name. */
export const CELL = {
  id: 0,
  createdAt: 18,
  jobId: 20,
  jobState: 23,
  leaseExpiresAt: 25,
  notes: 40,
  customFields: 41,
  legalHold: 42,
} as const;

/** The cells that hold a DateTime (the recording's and its job's). */
const DATE_CELLS = [13, 14, 18, 19, 25, 31, 32, 33, 36, 37, 38, 39] as const;

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
  ): Promise<ListedRow[]> {
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
    if (where.siteId !== undefined) conditions.push(`n."siteId" = ${param(where.siteId)}`);
    if (where.container !== undefined) conditions.push(`r."container" = ${param(where.container)}`);
    conditions.push(...searchSql(this.raw, param, where.q));
    if (where.from !== undefined) conditions.push(`r."createdAt" >= ${param(new Date(where.from))}`);
    if (where.to !== undefined) conditions.push(`r."createdAt" < ${param(new Date(where.to))}`);
    if (after) {
      const at = param(after.createdAt);
      conditions.push(`(r."createdAt" < ${at} OR (r."createdAt" = ${at} AND r."id" < ${param(after.id)}))`);
    }
    return this.raw.query<ListedRow>(
      `SELECT r."id", ${this.raw.jsonArray(LIST_CELLS)} AS "cells",
         ${this.raw.jsonAggregate('t."tag"', 'FROM "RecordingTag" t WHERE t."recordingId" = r."id"', 't."tag"')} AS "tags",
         r."integratedLufs", r."loudnessRangeLu", r."truePeakDbtp"
       FROM "Recording" r JOIN "Node" n ON n."id" = r."nodeId"
         LEFT JOIN "RecordingJob" j ON j."recordingId" = r."id"
       ${conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''}
       ORDER BY r."createdAt" DESC, r."id" DESC ${limitClause(limit)}`,
      params,
    );
  }

  /** A listed row's cells, parsed: dates made ISO-8601 text (UTC, to the millisecond), whatever the database wrote. */
  cells(row: ListedRow): unknown[] {
    const cells = JSON.parse(row.cells) as unknown[];
    for (const i of DATE_CELLS) if (cells[i] !== null) cells[i] = this.raw.isoDate(cells[i]);
    return cells;
  }
}
