/**
 * The upload queue's rows: one per (recording, provider). Items are leased with a
 * compare-and-set on their lease, so two controllers sharing a database never copy the same
 * item at once; every write of a leased item is fenced by its lease owner.
 */
import type { ScopeFilter } from '../../core/access-set.js';
import type { PagePosition } from '../../core/page-position.js';
import type { Db, Tx } from '../../db/client.js';
import type { Prisma, UploadQueueItem } from '../../db/rows.js';
import { isUniqueViolation } from '../../db/unique.js';

export type QueueItemRow = UploadQueueItem & { recording: { nodeId: string; node: { siteId: string } } };

export const QUEUE_STATES = ['queued', 'uploading', 'verified', 'failed'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

export interface QueueFilter {
  state?: string;
  providerId?: string;
  recordingId?: string;
}

/** The list's filters as conditions (the list, its facets). */
function filtersWhere(where: QueueFilter) {
  return [
    where.state !== undefined ? { state: where.state } : {},
    where.providerId !== undefined ? { providerId: where.providerId } : {},
    where.recordingId !== undefined ? { recordingId: where.recordingId } : {},
  ];
}

/** What a completed recording contributes to its queue items. */
export interface QueueableRecording {
  id: string;
  nodeId: string;
  container: string;
  sizeBytes: bigint | null;
  sha256: string | null;
}

const withScope = { recording: { select: { nodeId: true, node: { select: { siteId: true } } } } } as const;

export function queueScopeWhere(filter: ScopeFilter): Prisma.UploadQueueItemWhereInput {
  if (filter.all) return {};
  return {
    OR: [
      { recording: { node: { siteId: { in: filter.siteIds } } } },
      { recording: { nodeId: { in: filter.nodeIds } } },
    ],
  };
}

/** Where a recording's copy goes at every provider: by node and id, as the controller keeps it. */
export function objectKeyOf(recording: Pick<QueueableRecording, 'id' | 'nodeId' | 'container'>): string {
  return `recordings/${recording.nodeId}/${recording.id}.${recording.container}`;
}

export class UploadQueueRepository {
  constructor(private readonly db: Db) {}

  find(id: string): Promise<QueueItemRow | null> {
    return this.db.uploadQueueItem.findUnique({ where: { id }, include: withScope });
  }

  /** How many items the list's filters select, by state and provider (`GET /upload-queue/facets`). */
  async facets(filter: ScopeFilter, where: QueueFilter) {
    const groups = await this.db.uploadQueueItem.groupBy({
      by: ['state', 'providerId'],
      where: { AND: [queueScopeWhere(filter), ...filtersWhere(where)] },
      _count: { _all: true },
    });
    return groups.map((g) => ({ state: g.state, providerId: g.providerId, count: g._count._all }));
  }

  list(
    filter: ScopeFilter,
    where: QueueFilter,
    limit: number,
    after?: PagePosition,
  ): Promise<QueueItemRow[]> {
    return this.db.uploadQueueItem.findMany({
      where: {
        AND: [
          queueScopeWhere(filter),
          ...filtersWhere(where),
          after
            ? {
                OR: [
                  { createdAt: { lt: after.createdAt } },
                  { createdAt: after.createdAt, id: { lt: after.id } },
                ],
              }
            : {},
        ],
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      include: withScope,
      take: limit,
    });
  }

  /** Completed recordings with no item for `providerId` yet (oldest first), at most `limit`. */
  unqueued(providerId: string, limit: number): Promise<QueueableRecording[]> {
    return this.db.recording.findMany({
      where: {
        state: 'completed',
        sha256: { not: null },
        filePath: { not: null },
        uploads: { none: { providerId } },
      },
      orderBy: [{ completedAt: 'asc' }, { id: 'asc' }],
      select: { id: true, nodeId: true, container: true, sizeBytes: true, sha256: true },
      take: limit,
    });
  }

  /** A new item; undefined when the recording has one for the provider already (a race, or a repeat). */
  async create(
    tx: Tx | Db,
    recording: QueueableRecording,
    item: { providerId: string; policyId: string | null; maxAttempts: number; now: Date },
  ): Promise<UploadQueueItem | undefined> {
    try {
      return await tx.uploadQueueItem.create({
        data: {
          recordingId: recording.id,
          providerId: item.providerId,
          policyId: item.policyId,
          state: 'queued',
          maxAttempts: item.maxAttempts,
          nextAttemptAt: item.now,
          objectKey: objectKeyOf(recording),
          sizeBytes: recording.sizeBytes ?? 0n,
          sha256: recording.sha256 ?? '',
        },
      });
    } catch (error) {
      if (isUniqueViolation(error)) return undefined;
      throw error;
    }
  }

  /**
   * Takes up to `limit` items due now (queued, or uploading under a lease that ran out: its
   * controller stopped) for `owner` until `until`, each by a compare-and-set on its lease.
   */
  async lease(owner: string, now: Date, until: Date, limit: number): Promise<UploadQueueItem[]> {
    const due: Prisma.UploadQueueItemWhereInput = {
      OR: [
        { state: 'queued', nextAttemptAt: { lte: now } },
        { state: 'uploading', leaseExpiresAt: { lt: now } },
      ],
    };
    const candidates = await this.db.uploadQueueItem.findMany({
      where: due,
      orderBy: [{ nextAttemptAt: 'asc' }, { id: 'asc' }],
      take: limit,
    });
    const taken: UploadQueueItem[] = [];
    for (const candidate of candidates) {
      const { count } = await this.db.uploadQueueItem.updateMany({
        where: { id: candidate.id, updatedAt: candidate.updatedAt, ...due },
        data: { state: 'uploading', leaseOwner: owner, leaseExpiresAt: until },
      });
      if (count === 1)
        taken.push({ ...candidate, state: 'uploading', leaseOwner: owner, leaseExpiresAt: until });
    }
    return taken;
  }

  /**
   * Every item under a lease queued again, due `now`, its multipart upload kept: for a controller
   * alone on its database, whose previous run left them. Returns how many.
   */
  async takeOverLeased(now: Date): Promise<number> {
    const { count } = await this.db.uploadQueueItem.updateMany({
      where: { state: 'uploading' },
      data: { state: 'queued', nextAttemptAt: now, leaseOwner: null, leaseExpiresAt: null },
    });
    return count;
  }

  /** Writes a leased item's progress (and renews its lease); false when the lease is no longer `owner`'s. */
  async update(id: string, owner: string, data: Prisma.UploadQueueItemUpdateInput, tx: Tx | Db = this.db) {
    const { count } = await tx.uploadQueueItem.updateMany({
      where: { id, leaseOwner: owner, state: 'uploading' },
      data,
    });
    return count === 1;
  }

  /** A failed item queued again from its first attempt; false when it was not failed. */
  async requeue(tx: Tx, id: string, now: Date): Promise<boolean> {
    const { count } = await tx.uploadQueueItem.updateMany({
      where: { id, state: 'failed' },
      data: { state: 'queued', attempts: 0, nextAttemptAt: now, lastError: null },
    });
    return count === 1;
  }

  /** A recording's copies at providers, sent or under way (what its deletion removes). */
  copiesOf(tx: Tx, recordingId: string): Promise<UploadQueueItem[]> {
    return tx.uploadQueueItem.findMany({
      where: {
        recordingId,
        OR: [{ state: 'verified' }, { bytesSent: { gt: 0 } }, { multipartId: { not: null } }],
      },
    });
  }

  async nodeOfRecording(recordingId: string): Promise<string | null> {
    const row = await this.db.recording.findUnique({ where: { id: recordingId }, select: { nodeId: true } });
    return row?.nodeId ?? null;
  }

  /** The recording's file (relative to the data directory), null when it has none. */
  async filePathOf(recordingId: string): Promise<string | null> {
    const row = await this.db.recording.findUnique({
      where: { id: recordingId },
      select: { filePath: true },
    });
    return row?.filePath ?? null;
  }

  /** A verified copy found changed at its provider: copied again from the start. */
  async requeueChanged(id: string, now: Date, reason: string): Promise<void> {
    await this.db.uploadQueueItem.updateMany({
      where: { id, state: 'verified' },
      data: {
        state: 'queued',
        attempts: 0,
        nextAttemptAt: now,
        verifiedAt: null,
        verifiedBy: null,
        bytesSent: 0,
        lastError: `the copy at the provider changed: ${reason}`,
      },
    });
  }

  /** Items by state and provider (the runner's status and the metrics). */
  async countByProviderAndState(): Promise<{ providerId: string; state: string; count: number }[]> {
    const groups = await this.db.uploadQueueItem.groupBy({
      by: ['providerId', 'state'],
      _count: { _all: true },
    });
    return groups.map((g) => ({ providerId: g.providerId, state: g.state, count: g._count._all }));
  }

  /** Each of `ids` verified at every provider of `providerIds` (what retention deletes only after). */
  async verifiedAt(recordingIds: readonly string[], providerIds: readonly string[]): Promise<Set<string>> {
    if (providerIds.length === 0) return new Set(recordingIds);
    const rows = await this.db.uploadQueueItem.findMany({
      where: {
        recordingId: { in: [...recordingIds] },
        providerId: { in: [...providerIds] },
        state: 'verified',
      },
      select: { recordingId: true, providerId: true },
    });
    const count = new Map<string, number>();
    for (const row of rows) count.set(row.recordingId, (count.get(row.recordingId) ?? 0) + 1);
    return new Set([...count].filter(([, n]) => n === providerIds.length).map(([id]) => id));
  }
}
