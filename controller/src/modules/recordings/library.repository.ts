/**
 * The library's writes and counts: metadata, tags, deletion, facets. The only Prisma calls of
 * library.service.ts.
 */
import type { ScopeFilter } from '../../core/access-set.js';
import { olderThan } from '../../core/page-position.js';
import type { Db, Provider, Tx } from '../../db/client.js';
import type { Prisma } from '../../db/rows.js';
import { nodeOwnedScopeWhere, type PagePosition } from './jobs.repository.js';
import { searchWhere } from './library-search.js';
import { type RecordingRow, withJobAndScope } from './recordings.repository.js';

/** The recording states deletion accepts: nothing is being written to them any more. */
export const TERMINAL_RECORDING_STATES = ['completed', 'failed', 'cancelled'] as const;

/** Ids per `IN (…)` list, well under SQLite's 999 parameters with the scope's. */
const ID_CHUNK = 500;

export interface LibraryWhere {
  nodeId?: string;
  state?: string;
  tag?: string;
  siteId?: string;
  container?: string;
  /** Words in the title or notes (library-search.ts). */
  q?: string;
  /** Created at or after / before (ISO instants). */
  from?: string;
  to?: string;
}

export interface FacetCounts {
  total: number;
  totalBytes: number;
  totalDurationMs: number;
  oldestAt: Date | null;
  newestAt: Date | null;
  state: { value: string; count: number }[];
  node: { value: string; count: number }[];
  site: { value: string; name: string; count: number }[];
  container: { value: string; count: number }[];
  tag: { value: string; count: number }[];
  legalHold: number;
  partial: number;
}

export function libraryWhere(
  filter: ScopeFilter,
  where: LibraryWhere,
  provider: Provider,
): Prisma.RecordingWhereInput {
  return {
    AND: [
      nodeOwnedScopeWhere(filter),
      where.nodeId !== undefined ? { nodeId: where.nodeId } : {},
      where.state !== undefined ? { state: where.state } : {},
      where.tag !== undefined ? { tags: { some: { tag: where.tag } } } : {},
      where.siteId !== undefined ? { node: { siteId: where.siteId } } : {},
      where.container !== undefined ? { container: where.container } : {},
      ...searchWhere(where.q, provider),
      where.from !== undefined ? { createdAt: { gte: new Date(where.from) } } : {},
      where.to !== undefined ? { createdAt: { lt: new Date(where.to) } } : {},
    ],
  };
}

const byCount = (a: { value: string; count: number }, b: { value: string; count: number }) =>
  b.count - a.count || a.value.localeCompare(b.value);

export class LibraryRepository {
  constructor(
    private readonly db: Db,
    private readonly provider: Provider,
  ) {}

  /** Writes the changed fields; `tags`, when given, replaces the recording's tags. */
  async updateMetadata(
    tx: Tx,
    id: string,
    data: { title?: string; notes?: string | null; customFields?: string; legalHold?: boolean },
    tags?: readonly string[],
  ): Promise<void> {
    await tx.recording.update({ where: { id }, data });
    if (tags === undefined) return;
    await tx.recordingTag.deleteMany({ where: { recordingId: id } });
    if (tags.length > 0)
      await tx.recordingTag.createMany({ data: tags.map((tag) => ({ recordingId: id, tag })) });
  }

  /**
   * Deletes the recording (its job and tags go with it) if it is still terminal and not held:
   * a compare-and-set against a change since it was read. False when it was not deleted.
   */
  async deleteTerminal(tx: Tx, id: string): Promise<boolean> {
    const { count } = await tx.recording.deleteMany({
      where: { id, state: { in: [...TERMINAL_RECORDING_STATES] }, legalHold: false },
    });
    return count === 1;
  }

  async facets(filter: ScopeFilter, where: LibraryWhere): Promise<FacetCounts> {
    const scoped = libraryWhere(filter, where, this.provider);
    const [totals, completeBytes, states, nodes, containers, tags, held, partial] = await Promise.all([
      this.db.recording.aggregate({
        where: scoped,
        _count: { _all: true },
        _sum: { durationMs: true },
        _min: { createdAt: true },
        _max: { createdAt: true },
      }),
      this.db.recording.aggregate({
        where: { AND: [scoped, { state: 'completed' }] },
        _sum: { sizeBytes: true },
      }),
      this.db.recording.groupBy({ by: ['state'], where: scoped, _count: { _all: true } }),
      this.db.recording.groupBy({ by: ['nodeId'], where: scoped, _count: { _all: true } }),
      this.db.recording.groupBy({ by: ['container'], where: scoped, _count: { _all: true } }),
      this.db.recordingTag.groupBy({
        by: ['tag'],
        where: { recording: scoped },
        _count: { _all: true },
        orderBy: [{ _count: { tag: 'desc' } }, { tag: 'asc' }],
        take: 100,
      }),
      this.db.recording.count({ where: { AND: [scoped, { legalHold: true }] } }),
      this.db.recording.count({ where: { AND: [scoped, { partial: true }] } }),
    ]);
    const siteOf = new Map(
      (
        await this.db.node.findMany({
          where: { id: { in: nodes.map((n) => n.nodeId) } },
          select: { id: true, site: { select: { id: true, name: true } } },
        })
      ).map((n) => [n.id, n.site]),
    );
    const sites = new Map<string, { value: string; name: string; count: number }>();
    for (const n of nodes) {
      const site = siteOf.get(n.nodeId);
      if (!site) continue;
      const counted = sites.get(site.id) ?? { value: site.id, name: site.name, count: 0 };
      counted.count += n._count._all;
      sites.set(site.id, counted);
    }
    return {
      total: totals._count._all,
      totalBytes: Number(completeBytes._sum.sizeBytes ?? 0),
      totalDurationMs: totals._sum.durationMs ?? 0,
      oldestAt: totals._min.createdAt,
      newestAt: totals._max.createdAt,
      state: states.map((s) => ({ value: s.state, count: s._count._all })).sort(byCount),
      node: nodes.map((n) => ({ value: n.nodeId, count: n._count._all })).sort(byCount),
      site: [...sites.values()].sort(byCount),
      container: containers.map((c) => ({ value: c.container, count: c._count._all })).sort(byCount),
      tag: tags.map((t) => ({ value: t.tag, count: t._count._all })),
      legalHold: held,
      partial,
    };
  }

  /** The recordings in `where` the caller sees (an export), newest first, at most `limit`. */
  /** A page of the library in `where`, newest first, after `after` (the previous page's last row). */
  rows(
    filter: ScopeFilter,
    where: LibraryWhere,
    limit: number,
    after?: PagePosition,
  ): Promise<RecordingRow[]> {
    return this.db.recording.findMany({
      where: { AND: [libraryWhere(filter, where, this.provider), olderThan(after)] },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      include: withJobAndScope,
      take: limit,
    });
  }

  /**
   * The recordings among `ids` the caller sees, newest first. Read in chunks: SQLite's driver
   * takes at most 999 parameters a statement.
   */
  async rowsByIds(filter: ScopeFilter, ids: readonly string[]): Promise<RecordingRow[]> {
    const rows: RecordingRow[] = [];
    for (let i = 0; i < ids.length; i += ID_CHUNK)
      rows.push(
        ...(await this.db.recording.findMany({
          where: { AND: [nodeOwnedScopeWhere(filter), { id: { in: ids.slice(i, i + ID_CHUNK) } }] },
          include: withJobAndScope,
        })),
      );
    return rows.sort(
      (a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0),
    );
  }
}
