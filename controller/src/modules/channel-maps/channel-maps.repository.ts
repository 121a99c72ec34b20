/** Channel-map assignments and staged plans: the only place Prisma is called for them. */
import type { ScopeFilter } from '../../core/access-set.js';
import type { PagePosition } from '../../core/page-position.js';
import type { Db, Tx } from '../../db/client.js';
import type { ChannelMapAssignment, ChannelMapPlan, ChannelMapPlanItem, Prisma } from '../../db/rows.js';

export type AssignmentRow = ChannelMapAssignment;
export type PlanItemRow = ChannelMapPlanItem & { node: { id: string; name: string; siteId: string } };
export type PlanRow = ChannelMapPlan & { items: PlanItemRow[] };

/** What an assignment says: the template (null: none) and the interface it applies to. */
export interface AssignmentState {
  templateId: string | null;
  interface: string | null;
}

/** Nodes inside the caller's scope (as the nodes module narrows its lists). */
function nodeInScope(filter: ScopeFilter): Prisma.NodeWhereInput {
  if (filter.all) return {};
  return { OR: [{ siteId: { in: filter.siteIds } }, { id: { in: filter.nodeIds } }] };
}

const PLAN_ITEMS = {
  items: {
    include: { node: { select: { id: true, name: true, siteId: true } } },
    orderBy: { nodeId: 'asc' },
  },
} as const satisfies Prisma.ChannelMapPlanInclude;

export class ChannelMapsRepository {
  constructor(private readonly db: Db) {}

  /** The nodes a template is assigned to, in id order. */
  async nodesUsing(templateId: string): Promise<{ id: string; name: string; channels: number }[]> {
    const rows = await this.db.channelMapAssignment.findMany({
      where: { templateId },
      select: { node: { select: { id: true, name: true, channels: true } } },
      orderBy: { nodeId: 'asc' },
    });
    return rows.map((r) => r.node);
  }

  find(nodeId: string, tx: Tx | Db = this.db): Promise<AssignmentRow | null> {
    return tx.channelMapAssignment.findUnique({ where: { nodeId } });
  }

  findMany(nodeIds: string[], tx: Tx | Db = this.db): Promise<AssignmentRow[]> {
    return tx.channelMapAssignment.findMany({ where: { nodeId: { in: nodeIds } } });
  }

  /** Current assignments (a template set) of nodes in the scope, in node id order. */
  list(
    filter: ScopeFilter,
    where: { nodeId?: string; templateId?: string },
    limit: number,
    afterNodeId?: string,
  ): Promise<AssignmentRow[]> {
    return this.db.channelMapAssignment.findMany({
      where: {
        AND: [
          { templateId: where.templateId ?? { not: null } },
          where.nodeId ? { nodeId: where.nodeId } : {},
          afterNodeId ? { nodeId: { gt: afterNodeId } } : {},
          { node: nodeInScope(filter) },
        ],
      },
      orderBy: { nodeId: 'asc' },
      take: limit,
    });
  }

  create(tx: Tx, nodeId: string, state: AssignmentState): Promise<AssignmentRow> {
    return tx.channelMapAssignment.create({ data: { nodeId, ...state, revision: 1 } });
  }

  /** Moves the assignment from `revision` to the next; null when another change came first. */
  async update(tx: Tx, id: string, revision: number, state: AssignmentState): Promise<AssignmentRow | null> {
    const { count } = await tx.channelMapAssignment.updateMany({
      where: { id, revision },
      data: { ...state, revision: revision + 1 },
    });
    return count === 1 ? tx.channelMapAssignment.findUnique({ where: { id } }) : null;
  }

  createPlan(
    tx: Tx,
    plan: { name: string; reason: string | null; createdBy: string | null; createdAt: Date },
    items: Omit<ChannelMapPlanItem, 'id' | 'planId'>[],
  ): Promise<PlanRow> {
    return tx.channelMapPlan.create({
      data: { ...plan, state: 'staged', items: { create: items } },
      include: PLAN_ITEMS,
    });
  }

  findPlan(id: string, tx: Tx | Db = this.db): Promise<PlanRow | null> {
    return tx.channelMapPlan.findUnique({ where: { id }, include: PLAN_ITEMS });
  }

  /** Newest first; only plans whose every node is in the scope. */
  listPlans(filter: ScopeFilter, state: string | undefined, limit: number, after?: PagePosition) {
    return this.db.channelMapPlan.findMany({
      where: {
        AND: [
          state ? { state } : {},
          filter.all ? {} : { items: { every: { node: nodeInScope(filter) } } },
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
      take: limit,
      include: PLAN_ITEMS,
    });
  }

  /** Staged plans that would assign the template. */
  stagedPlansUsing(templateId: string): Promise<{ id: string; name: string }[]> {
    return this.db.channelMapPlan.findMany({
      where: { state: 'staged', items: { some: { templateId } } },
      select: { id: true, name: true },
      orderBy: { createdAt: 'asc' },
    });
  }

  /** Closes a staged plan (applied or discarded); false when it was closed meanwhile. */
  async closePlan(tx: Tx, id: string, state: 'applied' | 'discarded', at: Date, by: string | null) {
    const { count } = await tx.channelMapPlan.updateMany({
      where: { id, state: 'staged' },
      data: { state, closedAt: at, closedBy: by },
    });
    return count === 1;
  }
}
