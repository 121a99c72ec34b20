import type { ScopeFilter } from '../../core/access-set.js';
import type { Db, Tx } from '../../db/client.js';
import type { Prisma, Recording, RecordingJob } from '../../db/rows.js';
import { beforePosition, nodeOwnedScopeWhere, type PagePosition } from './jobs.repository.js';

export type RecordingRow = Recording & { job: RecordingJob | null; node: { siteId: string } };

const withJobAndScope = { job: true, node: { select: { siteId: true } } } as const;

export class RecordingsRepository {
  constructor(private readonly db: Db) {}

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

  list(
    filter: ScopeFilter,
    where: { nodeId?: string; state?: string },
    limit: number,
    after?: PagePosition,
  ): Promise<RecordingRow[]> {
    return this.db.recording.findMany({
      where: { AND: [nodeOwnedScopeWhere(filter), where, beforePosition(after)] },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
      include: withJobAndScope,
    });
  }
}
