/** The recordings retention looks at, and the removal of the controller's copy of one. */
import type { Db, Tx } from '../../db/client.js';
import type { StoredRecording } from './retention-plan.js';

export interface StoredFile {
  id: string;
  nodeId: string;
  filePath: string;
  sha256: string | null;
}

export class RetentionRepository {
  constructor(private readonly db: Db) {}

  /** Every recording whose complete file is on the controller's disk, with what retention weighs. */
  async stored(): Promise<(StoredRecording & StoredFile)[]> {
    const rows = await this.db.recording.findMany({
      where: { state: 'completed', filePath: { not: null }, localRemovedAt: null },
      select: {
        id: true,
        nodeId: true,
        filePath: true,
        sha256: true,
        sizeBytes: true,
        completedAt: true,
        createdAt: true,
        legalHold: true,
        tags: { select: { tag: true }, take: 1 },
        uploads: { where: { state: 'verified' }, select: { providerId: true } },
      },
    });
    return rows.map((r) => ({
      id: r.id,
      nodeId: r.nodeId,
      filePath: r.filePath!,
      sha256: r.sha256,
      sizeBytes: Number(r.sizeBytes ?? 0),
      completedAt: r.completedAt ?? r.createdAt,
      tagged: r.tags.length > 0,
      legalHold: r.legalHold,
      verifiedAt: new Set(r.uploads.map((u) => u.providerId)),
    }));
  }

  /**
   * Marks the controller's copy removed, if it is still there and the recording still not held
   * (a compare-and-set against a hold placed since the plan); false when it was not.
   */
  async markRemoved(tx: Tx, id: string, policyId: string, at: Date): Promise<boolean> {
    const { count } = await tx.recording.updateMany({
      where: { id, filePath: { not: null }, localRemovedAt: null, legalHold: false },
      data: { filePath: null, localRemovedAt: at, localRemovedPolicy: policyId },
    });
    return count === 1;
  }
}
