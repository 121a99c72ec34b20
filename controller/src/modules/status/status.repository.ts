/** The counts behind `GET /status`: the only place Prisma is called for it. */
import type { ScopeFilter } from '../../core/access-set.js';
import type { Db } from '../../db/client.js';

/** Job states of a recording in flight (claimed by its node, recording or uploading). */
const IN_FLIGHT = ['claimed', 'recording', 'uploading', 'lost_contact'];
/** Health statuses that still need someone (suppressed ones count once their time is over). */
const UNRESOLVED = ['open', 'acknowledged', 'suppressed'];

function nodeWhere(scope: ScopeFilter) {
  if (scope.all) return {};
  return { OR: [{ siteId: { in: scope.siteIds } }, { id: { in: scope.nodeIds } }] };
}

export class StatusRepository {
  constructor(private readonly db: Db) {}

  /** The enrolled nodes in service the scope covers. */
  nodes(scope: ScopeFilter): Promise<{ id: string }[]> {
    return this.db.node.findMany({
      where: { AND: [nodeWhere(scope), { credentialHash: { not: null }, decommissionedAt: null }] },
      select: { id: true },
    });
  }

  /** Recordings in flight, by node. */
  async inFlight(nodeIds: string[]): Promise<Map<string, number>> {
    const rows = await this.db.recordingJob.groupBy({
      by: ['nodeId'],
      where: { nodeId: { in: nodeIds }, state: { in: IN_FLIGHT } },
      _count: { _all: true },
    });
    return new Map(rows.map((r) => [r.nodeId, r._count._all]));
  }

  /** Unresolved health events by severity (a suppression still running does not count). */
  async openEvents(nodeIds: string[], now: Date): Promise<Record<string, number>> {
    const rows = await this.db.healthEvent.groupBy({
      by: ['severity'],
      where: {
        nodeId: { in: nodeIds },
        status: { in: UNRESOLVED },
        OR: [{ status: { not: 'suppressed' } }, { suppressedUntil: { lte: now } }],
      },
      _count: { _all: true },
    });
    return Object.fromEntries(rows.map((r) => [r.severity, r._count._all]));
  }
}
