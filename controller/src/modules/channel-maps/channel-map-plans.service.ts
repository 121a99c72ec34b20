/**
 * Staged channel-map plans: a set of assignment changes stored without being applied, shown as
 * a diff (per node, before → after), then applied at once in one transaction or discarded.
 * Each item remembers the node's assignment revision when staged: a plan whose node changed
 * since is stale and refused (409). Applied and discarded plans are kept, read-only. A plan is
 * visible to a caller who sees every one of its nodes.
 */
import type { Permission } from '../../../../shared/src/permissions.js';
import type { AuditWriter } from '../../core/audit.types.js';
import { AppError, conflict, notFound } from '../../core/errors.js';
import type { PagePosition } from '../../core/page-position.js';
import { actorOf, type CallContext, type Principal } from '../../core/principal.js';
import { type Visible, visibleTo } from '../../core/visible.js';
import { type ChannelMapAssignments, stateOf, userOf } from './channel-map-assignments.service.js';
import type { AssignmentState, ChannelMapsRepository, PlanRow } from './channel-maps.repository.js';
import type { StagePlanBody } from './channel-maps.schemas.js';

type PlanState = 'staged' | 'applied' | 'discarded';

/** The assignment changes a plan makes, as `ChannelMapAssignments.check` takes them. */
function changesOf(plan: PlanRow) {
  return plan.items.map((i) => ({ nodeId: i.nodeId, templateId: i.templateId, interface: i.interface }));
}

export class ChannelMapPlans {
  constructor(
    private readonly deps: {
      assignments: ChannelMapAssignments;
      repo: ChannelMapsRepository;
      audit: AuditWriter;
      now: () => Date;
    },
  ) {}

  /** Stores the changes, checked as a bulk assignment would be; nothing is applied. */
  async stage(body: StagePlanBody, ctx: CallContext) {
    return this.deps.assignments.refusing(ctx, 'channel_map.plan.stage', null, () => this.store(body, ctx));
  }

  private async store(body: StagePlanBody, ctx: CallContext) {
    const { assignments, repo, audit, now } = this.deps;
    const changes = await assignments.check(userOf(ctx.principal), body.items, 'settings:manage');
    const plan = await assignments.transaction(async (tx) => {
      const created = await repo.createPlan(
        tx,
        {
          name: body.name,
          reason: body.reason ?? null,
          createdBy: actorOf(ctx.principal).id ?? null,
          createdAt: now(),
        },
        changes.map(({ node, current, next }) => ({
          nodeId: node.id,
          baseRevision: current?.revision ?? 0,
          beforeTemplateId: current?.templateId ?? null,
          beforeInterface: current?.interface ?? null,
          ...next,
        })),
      );
      await audit.recordChange(tx, ctx, {
        permission: 'settings:manage',
        action: 'channel_map.plan.stage',
        target: { type: 'channel_map_plan', id: created.id },
        reason: body.reason ?? null,
        after: { name: body.name, items: body.items },
      });
      return created;
    });
    return this.present(plan);
  }

  async list(principal: Principal, state: PlanState | undefined, limit: number, after?: PagePosition) {
    const filter = userOf(principal).access.filter('settings:read');
    const plans = await this.deps.repo.listPlans(filter, state, limit, after);
    return Promise.all(plans.map(async (plan) => ({ plan, view: await this.present(plan) })));
  }

  async detail(id: string, principal: Principal) {
    return this.present(await this.visiblePlan(principal, id, 'settings:read'));
  }

  /** Applies every change in one transaction; a stale plan (a node changed since) is a 409. */
  async apply(id: string, ctx: CallContext) {
    const target = { type: 'channel_map_plan', id };
    return this.deps.assignments.refusing(ctx, 'channel_map.plan.apply', target, () =>
      this.applyNow(id, ctx),
    );
  }

  private async applyNow(id: string, ctx: CallContext) {
    const { assignments, repo, audit, now } = this.deps;
    const plan = await this.staged(ctx.principal, id);
    const moved = await this.moved(plan);
    if (moved.length > 0)
      throw conflict(
        `The plan is stale: the channel-map assignment of ${moved.map((i) => `node ${i.nodeId}`).join(', ')} ` +
          'changed since the plan was staged. Nothing was applied; stage a new plan.',
        { staleNodes: moved.map((i) => i.nodeId) },
      );
    const items = changesOf(plan);
    const changes = await assignments.check(ctx.principal, items, 'settings:manage');
    await assignments.transaction(async (tx) => {
      const by = actorOf(ctx.principal).id ?? null;
      if (!(await repo.closePlan(tx, id, 'applied', now(), by)))
        throw conflict('The plan was applied or discarded meanwhile.');
      const reason = `channel-map plan "${plan.name}"`;
      for (const change of changes) await assignments.write(tx, ctx, change, { reason });
      await audit.recordChange(tx, ctx, {
        permission: 'settings:manage',
        action: 'channel_map.plan.apply',
        target: { type: 'channel_map_plan', id },
        before: { state: 'staged' },
        after: { state: 'applied', nodes: items.map((i) => i.nodeId) },
      });
    });
    await assignments.nudge(changes.map((c) => c.node));
    return this.present((await repo.findPlan(id))!);
  }

  /** The plan's items whose node's assignment changed since the plan was staged. */
  private async moved(plan: PlanRow) {
    const current = await this.deps.repo.findMany(plan.items.map((i) => i.nodeId));
    return plan.items.filter(
      (i) => (current.find((a) => a.nodeId === i.nodeId)?.revision ?? 0) !== i.baseRevision,
    );
  }

  /** Why applying the plan's changes would be refused by the assignments' own checks, or null. */
  private async unfit(plan: PlanRow, principal: Principal): Promise<string | null> {
    const items = changesOf(plan);
    try {
      await this.deps.assignments.check(principal, items, 'settings:manage');
      return null;
    } catch (error) {
      if (error instanceof AppError) return error.message;
      throw error;
    }
  }

  /**
   * What may be done to the plan now, and why not when not: apply and discard need a staged plan
   * and settings:manage over each of its nodes; apply, a plan no node moved away from.
   */
  async actions(id: string, principal: Principal) {
    const plan = await this.visiblePlan(principal, id, 'settings:read');
    const access = userOf(principal).access;
    const manage =
      plan.items.length > 0
        ? plan.items.every((i) =>
            access.allows('settings:manage', { siteId: i.node.siteId, nodeId: i.nodeId }),
          )
        : access.hasFleet('settings:manage');
    const closed = plan.state === 'staged' ? null : `The plan was already ${plan.state}.`;
    const moved = closed === null ? await this.moved(plan) : [];
    const stale =
      moved.length > 0
        ? `Stale: the assignment of ${moved.map((i) => `node ${i.nodeId}`).join(', ')} changed since staging; stage a new plan.`
        : null;
    // What apply checks again: each template still fits its node (a template edited since).
    const applyRefusal = closed ?? stale ?? (manage ? await this.unfit(plan, principal) : null);
    const gate = (reason: string | null) =>
      manage
        ? { allowed: reason === null, reason }
        : { allowed: false, reason: 'needs settings:manage over every node of the plan' };
    return { apply: gate(applyRefusal), discard: gate(closed) };
  }

  /** Closes a staged plan without applying anything; it is kept, read-only. */
  async discard(id: string, ctx: CallContext) {
    const target = { type: 'channel_map_plan', id };
    return this.deps.assignments.refusing(ctx, 'channel_map.plan.discard', target, () => this.close(id, ctx));
  }

  private async close(id: string, ctx: CallContext) {
    const { assignments, repo, audit, now } = this.deps;
    await this.staged(ctx.principal, id);
    await assignments.transaction(async (tx) => {
      if (!(await repo.closePlan(tx, id, 'discarded', now(), actorOf(ctx.principal).id ?? null)))
        throw conflict('The plan was applied or discarded meanwhile.');
      await audit.recordChange(tx, ctx, {
        permission: 'settings:manage',
        action: 'channel_map.plan.discard',
        target: { type: 'channel_map_plan', id },
        before: { state: 'staged' },
        after: { state: 'discarded' },
      });
    });
    return this.present((await repo.findPlan(id))!);
  }

  private async staged(principal: Principal, id: string) {
    const plan = await this.visiblePlan(principal, id, 'settings:manage');
    if (plan.state !== 'staged')
      throw conflict(`The plan was already ${plan.state}: applied and discarded plans are kept read-only.`);
    return plan;
  }

  /** The plan when the caller may use `permission` on every one of its nodes; a hidden 404 otherwise. */
  private async visiblePlan(
    principal: Principal,
    id: string,
    permission: Permission,
  ): Promise<Visible<PlanRow>> {
    const plan = await this.deps.repo.findPlan(id);
    if (!plan) throw notFound('channel-map plan');
    const what = { name: 'channel-map plan', target: { type: 'channel_map_plan', id } };
    // A plan whose nodes were all deleted belongs to no site: only the fleet sees it.
    const scopes = plan.items.map((i) => ({ siteId: i.node.siteId, nodeId: i.nodeId }));
    let visible: Visible<PlanRow> | undefined;
    for (const scope of scopes.length > 0 ? scopes : [{}])
      visible = visibleTo(principal, permission, plan, scope, what);
    return visible!;
  }

  /** The plan with its diff: before is the node's assignment now while staged, as staged once closed. */
  private async present(plan: PlanRow) {
    const staged = plan.state === 'staged';
    const current = staged ? await this.deps.repo.findMany(plan.items.map((i) => i.nodeId)) : [];
    const befores = plan.items.map((i): AssignmentState => {
      if (!staged) return { templateId: i.beforeTemplateId, interface: i.beforeInterface };
      return stateOf(current.find((a) => a.nodeId === i.nodeId) ?? null);
    });
    const templates = await this.deps.assignments.templates([
      ...befores.map((b) => b.templateId),
      ...plan.items.map((i) => i.templateId),
    ]);
    const side = (s: AssignmentState) => ({
      template: s.templateId ? { id: s.templateId, name: templates.get(s.templateId)?.name ?? null } : null,
      interface: s.interface,
    });
    return {
      id: plan.id,
      name: plan.name,
      state: plan.state as PlanState,
      reason: plan.reason,
      createdBy: plan.createdBy,
      createdAt: plan.createdAt.toISOString(),
      closedAt: plan.closedAt?.toISOString() ?? null,
      closedBy: plan.closedBy,
      changes: plan.items.map((item, i) => {
        const before = befores[i]!;
        const after = { templateId: item.templateId, interface: item.interface };
        const revision = current.find((a) => a.nodeId === item.nodeId)?.revision ?? 0;
        return {
          nodeId: item.nodeId,
          nodeName: item.node.name,
          before: side(before),
          after: side(after),
          changed: before.templateId !== after.templateId || before.interface !== after.interface,
          stale: staged && revision !== item.baseRevision,
        };
      }),
    };
  }
}
