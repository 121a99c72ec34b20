import type { ScopeFilter } from '../../core/access-set.js';
import type { Db, Tx } from '../../db/client.js';
import { anyOf, orNull, type RawDb, type SqlValue, selectColumns } from '../../db/raw.js';
import type { Prisma, Recording, RecordingJob } from '../../db/rows.js';
import type { PagePosition } from './jobs.repository.js';

export type RecordingRow = Recording & { job: RecordingJob | null; node: { siteId: string } };

const withJobAndScope = { job: true, node: { select: { siteId: true } } } as const;

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
  listUploading(): Promise<RecordingRow[]> {
    return this.db.recording.findMany({
      where: { state: 'uploading', expectedSha256: { not: null } },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      include: withJobAndScope,
    });
  }

  /**
   * A page of the library in `filter`, newest first: a hot read of the API, so one query on the
   * raw driver (db/raw.ts) rather than the model API, with the same rows.
   */
  async list(
    filter: ScopeFilter,
    where: { nodeId?: string; state?: string },
    limit: number,
    after?: PagePosition,
  ): Promise<RecordingRow[]> {
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
    if (after) {
      const at = param(after.createdAt);
      conditions.push(`(r."createdAt" < ${at} OR (r."createdAt" = ${at} AND r."id" < ${param(after.id)}))`);
    }
    const rows = await this.raw.query<Recording & { job: RecordingJob; node: { siteId: string } }>(
      `SELECT ${selectColumns('Recording', 'r')}, ${selectColumns('RecordingJob', 'j', 'job.')},
         n."siteId" AS "node.siteId"
       FROM "Recording" r JOIN "Node" n ON n."id" = r."nodeId"
         LEFT JOIN "RecordingJob" j ON j."recordingId" = r."id"
       ${conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''}
       ORDER BY r."createdAt" DESC, r."id" DESC LIMIT ${param(limit)}`,
      params,
    );
    for (const row of rows) (row as RecordingRow).job = orNull(row.job);
    return rows;
  }
}
