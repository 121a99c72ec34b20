/**
 * Schedules (docs/architecture.md, flow 2b): recurring recording plans on target nodes. Every
 * change re-materialises the schedule's future occurrences in the same transaction (the
 * recordings module's OccurrencesService) and is audited there with before/after; target nodes
 * are told at once (`schedule-changed`) so their agents refresh their caches. A node's window is
 * widened to its recording profile's pre/post roll (profile-rolls.ts); a profile change is picked
 * up by the runner's next pass (`replanChangedProfiles`).
 */
import { randomUUID } from 'node:crypto';
import type { Permission } from '../../../../shared/src/permissions.js';
import type { AuditScope, AuditWriter } from '../../core/audit.types.js';
import type { AuditAction } from '../../core/audit-actions.js';
import { badRequest, conflict, forbidden, notFound } from '../../core/errors.js';
import { tally } from '../../core/facets.js';
import type { NodeNotifier } from '../../core/node-commands.js';
import { actorOf, type CallContext, type Principal } from '../../core/principal.js';
import { type ExportSummary, exportEvent } from '../../core/table-export.js';
import { type Visible, visibleTo } from '../../core/visible.js';
import type { Db, Provider, Tx } from '../../db/client.js';
import type { NodesService } from '../nodes/index.js';
import type { OccurrencePlan, OccurrencesService } from '../recordings/index.js';
import { SYNC_HORIZON_MS } from '../recordings/index.js';
import { type ProfileRolls, type RollsOf, RollWatch } from './profile-rolls.js';
import { RecurrenceError } from './recurrence.js';
import {
  channelsOf,
  instantsBetween,
  nextUnskipped,
  plansAt,
  plansBetween,
  profileOf,
  skippedOf,
} from './schedule-plans.js';
import { checkedTargetsOf, validateSchedule } from './schedule-validation.js';
import type { SchedulePosition, ScheduleRow, SchedulesRepository } from './schedules.repository.js';
import type { CreateScheduleBody, ScheduleFilter, UpdateScheduleBody } from './schedules.schemas.js';

/** Occurrences exist as jobs this far ahead (a day beyond what agents cache). */
export const MATERIALISE_HORIZON_MS = SYNC_HORIZON_MS + 24 * 3600_000;
/** Schedules topped up per transaction by the runner. */
const MATERIALISE_CHUNK = 50;

export function presentSchedule(row: ScheduleRow, now: Date) {
  let next: Date | undefined;
  try {
    next = row.enabled ? nextUnskipped(row, now) : undefined;
  } catch {
    next = undefined; // a stored rule this version cannot read: shown, never planned
  }
  return {
    id: row.id,
    name: row.name,
    recurrence: row.recurrence,
    timeZone: row.timeZone,
    start: row.startLocal,
    durationSeconds: row.durationSeconds,
    preRollSeconds: row.preRollSeconds,
    postRollSeconds: row.postRollSeconds,
    targets: row.targets.map((t) => ({
      nodeId: t.nodeId,
      siteId: t.node.siteId,
      channels: channelsOf(t),
    })),
    profile: profileOf(row),
    voiceChannel:
      row.voiceGuildId && row.voiceChannelId
        ? { guildId: row.voiceGuildId, channelId: row.voiceChannelId }
        : null,
    enabled: row.enabled,
    skipped: skippedOf(row),
    nextOccurrence: next?.toISOString() ?? null,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
export type ScheduleView = ReturnType<typeof presentSchedule>;

/** Where a schedule's audit events belong: its one node, its one site, or fleet-wide. */
function auditScopeOf(row: Pick<ScheduleRow, 'targets'>): AuditScope {
  const sites = new Set(row.targets.map((t) => t.node.siteId));
  if (row.targets.length === 1)
    return { nodeId: row.targets[0]!.nodeId, siteId: row.targets[0]!.node.siteId };
  return sites.size === 1 ? { siteId: [...sites][0]! } : {};
}

/** What an audit event keeps of a schedule (no computed fields). */
function auditView(view: ScheduleView) {
  const { nextOccurrence: _next, createdAt: _c, updatedAt: _u, ...rest } = view;
  return rest;
}

export class SchedulesService {
  private readonly db: Db;
  private readonly provider: Provider;
  private readonly repo: SchedulesRepository;
  private readonly occurrences: OccurrencesService;
  private readonly nodes: NodesService;
  private readonly audit: AuditWriter;
  private readonly notifyNode: NodeNotifier;
  private readonly now: () => Date;
  private readonly rolls: ProfileRolls;
  private readonly rollWatch = new RollWatch();

  constructor(options: {
    db: Db;
    provider: Provider;
    repo: SchedulesRepository;
    occurrences: OccurrencesService;
    nodes: NodesService;
    audit: AuditWriter;
    notifyNode: NodeNotifier;
    now: () => Date;
    /** The target nodes' recording profile rolls. */
    rolls: ProfileRolls;
  }) {
    this.db = options.db;
    this.provider = options.provider;
    this.repo = options.repo;
    this.occurrences = options.occurrences;
    this.nodes = options.nodes;
    this.audit = options.audit;
    this.notifyNode = options.notifyNode;
    this.now = options.now;
    this.rolls = options.rolls;
  }

  present(row: ScheduleRow): ScheduleView {
    return presentSchedule(row, this.now());
  }

  /** The schedule if the caller holds `permission` on every node it records on; a hidden 404 otherwise. */
  async visibleSchedule(
    principal: Principal,
    permission: Permission,
    id: string,
  ): Promise<Visible<ScheduleRow>> {
    const row = await this.repo.find(id);
    if (!row) throw notFound('schedule');
    const what = { name: 'schedule', target: { type: 'schedule', id } };
    let visible: Visible<ScheduleRow> | undefined;
    for (const t of row.targets)
      visible = visibleTo(principal, permission, row, { nodeId: t.nodeId, siteId: t.node.siteId }, what);
    if (!visible) throw notFound('schedule');
    return visible;
  }

  list(principal: Principal, filter: ScheduleFilter, limit: number, after?: SchedulePosition) {
    if (principal.kind !== 'user') throw forbidden('users only');
    return this.repo.list(principal.access.filter('schedule:read'), filter, limit, after);
  }

  listByIds(principal: Principal, ids: string[]) {
    if (principal.kind !== 'user') throw forbidden('users only');
    return this.repo.findMany(ids, principal.access.filter('schedule:read'));
  }

  /** An export leaves the controller: audited once, with how many schedules and the format. */
  async recordExport(ctx: CallContext, summary: ExportSummary): Promise<void> {
    await this.audit.recordAlone(exportEvent(ctx, 'schedule:read', 'schedule.export', summary));
  }

  async facets(principal: Principal, filter: ScheduleFilter) {
    if (principal.kind !== 'user') throw forbidden('users only');
    const rows = await this.repo.listAll(principal.access.filter('schedule:read'), filter);
    return {
      total: rows.length,
      enabled: tally(rows, (r) => r.enabled),
      timeZone: tally(rows, (r) => r.timeZone),
      nodeId: tally(
        rows.flatMap((r) => r.targets),
        (t) => t.nodeId,
      ),
    };
  }

  async create(body: CreateScheduleBody, ctx: CallContext): Promise<ScheduleRow> {
    const targets = await this.checkTargets(ctx.principal, body.targets);
    const fields = validateSchedule(body, targets);
    const id = randomUUID();
    const rollsOf = await this.rolls.lookup(body.targets.map((t) => t.nodeId));
    const created = await this.db.$transaction(async (tx) => {
      const row = await this.repo.create(
        tx,
        { id, ...fields.data, createdBy: actorOf(ctx.principal).id ?? null },
        fields.targets,
      );
      const nodes = await this.rematerialise(tx, row, rollsOf);
      await this.recordAudit(tx, ctx, 'schedule.create', row, undefined, this.present(row));
      return { row, nodes };
    });
    await this.nudge(created.nodes, created.row);
    return (await this.repo.find(id))!;
  }

  async update(id: string, body: UpdateScheduleBody, ctx: CallContext): Promise<ScheduleRow> {
    const current = await this.visibleSchedule(ctx.principal, 'schedule:manage', id);
    const targets = body.targets ? await this.checkTargets(ctx.principal, body.targets) : undefined;
    const merged = { ...this.editable(current), ...body };
    const fields = validateSchedule(merged, targets ?? checkedTargetsOf(current));
    return this.change(
      current,
      ctx,
      'schedule.update',
      (tx) => this.repo.update(tx, id, fields.data, targets ? fields.targets : undefined),
      body.targets?.map((t) => t.nodeId),
    );
  }

  async setEnabled(id: string, enabled: boolean, ctx: CallContext): Promise<ScheduleRow> {
    const current = await this.visibleSchedule(ctx.principal, 'schedule:manage', id);
    if (current.enabled === enabled)
      throw conflict(enabled ? 'The schedule is not paused.' : 'The schedule is already paused.');
    return this.change(current, ctx, enabled ? 'schedule.resume' : 'schedule.pause', (tx) =>
      this.repo.update(tx, id, { enabled }),
    );
  }

  /** Skips the next occurrence that has not begun (its jobs are removed; unskip brings them back). */
  async skipNext(id: string, ctx: CallContext): Promise<ScheduleRow> {
    const current = await this.visibleSchedule(ctx.principal, 'schedule:manage', id);
    const next = this.nextSkippable(current);
    if (!next) throw conflict('The schedule has no upcoming occurrence to skip.');
    const skipped = [...this.currentSkips(current), next.toISOString()].sort();
    return this.change(current, ctx, 'schedule.skip', (tx) =>
      this.repo.update(tx, id, { skipped: JSON.stringify(skipped) }),
    );
  }

  async unskip(id: string, occurrenceStart: string, ctx: CallContext): Promise<ScheduleRow> {
    const current = await this.visibleSchedule(ctx.principal, 'schedule:manage', id);
    const at = new Date(occurrenceStart).toISOString();
    const skips = this.currentSkips(current);
    if (!skips.includes(at))
      throw conflict(`${at} is not a skipped upcoming occurrence of this schedule.`, { skipped: skips });
    return this.change(current, ctx, 'schedule.unskip', (tx) =>
      this.repo.update(tx, id, { skipped: JSON.stringify(skips.filter((s) => s !== at)) }),
    );
  }

  async delete(id: string, ctx: CallContext): Promise<void> {
    const current = await this.visibleSchedule(ctx.principal, 'schedule:manage', id);
    const nodes = await this.db.$transaction(async (tx) => {
      await this.repo.lock(tx, [id], this.provider);
      const result = await this.occurrences.reconcile(tx, [id], [], this.now());
      await this.recordAudit(tx, ctx, 'schedule.delete', current, this.present(current), undefined);
      await this.repo.delete(tx, id);
      return result.nodeIds;
    });
    await this.nudge(nodes, current);
  }

  /** Records the schedule now on every target node, whatever its rule says (also when paused). */
  async runNow(id: string, ctx: CallContext) {
    const current = await this.visibleSchedule(ctx.principal, 'schedule:manage', id);
    const start = new Date(Math.floor(this.now().getTime() / 1000) * 1000);
    const rollsOf = await this.rolls.lookup(current.targets.map((t) => t.nodeId));
    const plans = plansAt(current, start, rollsOf).map((plan) => ({
      ...plan,
      immediate: true,
      plannedStartAt: start,
    }));
    await this.db.$transaction(async (tx) => {
      const created = await this.occurrences.createImmediate(tx, plans);
      if (created === 0) throw conflict('The schedule was just run; try again in a second.');
      await this.recordAudit(tx, ctx, 'schedule.run_now', current, undefined, {
        occurrenceStart: start.toISOString(),
        nodeIds: plans.map((p) => p.nodeId),
      });
    });
    const jobs = await this.occurrences.jobsOf(id, start);
    for (const job of jobs)
      await this.notifyNode(job.nodeId, 'job-available', { jobId: job.id, recordingId: job.recordingId });
    return {
      occurrenceStart: start.toISOString(),
      jobs: jobs.map((j) => ({ nodeId: j.nodeId, jobId: j.id, recordingId: j.recordingId })),
    };
  }

  /** What the caller may do with the schedule now, each with the reason when not. */
  async actions(id: string, principal: Principal) {
    const row = await this.visibleSchedule(principal, 'schedule:read', id);
    const manage =
      principal.kind === 'user' &&
      row.targets.every((t) =>
        principal.access.allows('schedule:manage', { nodeId: t.nodeId, siteId: t.node.siteId }),
      );
    const gate = (ok: boolean, why: string) =>
      !manage
        ? { allowed: false, reason: 'needs schedule:manage on every node the schedule records on' }
        : { allowed: ok, reason: ok ? null : why };
    const next = this.nextSkippable(row);
    return {
      update: gate(true, ''),
      delete: gate(true, ''),
      runNow: gate(true, ''),
      skipNext: gate(next !== undefined, 'no upcoming occurrence to skip'),
      unskip: gate(this.currentSkips(row).length > 0, 'no occurrence is skipped'),
      pause: gate(row.enabled, 'already paused'),
      resume: gate(!row.enabled, 'not paused'),
    };
  }

  /** The rule's occurrences in a window, each with its materialised jobs. */
  async occurrencesIn(
    id: string,
    principal: Principal,
    query: { from?: string; to?: string; limit?: number },
  ) {
    const row = await this.visibleSchedule(principal, 'schedule:read', id);
    const from = query.from ? new Date(query.from) : this.now();
    const to = query.to ? new Date(query.to) : new Date(from.getTime() + SYNC_HORIZON_MS);
    if (to <= from) throw badRequest('`to` must be after `from`');
    if (to.getTime() - from.getTime() > 366 * 24 * 3600_000)
      throw badRequest('the window is at most 366 days');
    const { starts, truncated } = instantsBetween(row, from, to, query.limit ?? 200);
    const jobs = await this.repo.jobsBetween(id, from, to);
    const rollsOf = await this.rolls.lookup(row.targets.map((t) => t.nodeId));
    const skipped = new Set(skippedOf(row));
    return {
      from: from.toISOString(),
      to: to.toISOString(),
      truncated,
      occurrences: starts.map((start) => {
        const [plan] = plansAt(row, start, rollsOf);
        return {
          occurrenceStart: start.toISOString(),
          plannedStartAt: plan!.plannedStartAt.toISOString(),
          plannedEndAt: plan!.plannedEndAt.toISOString(),
          skipped: skipped.has(start.toISOString()),
          jobs: jobs
            .filter((j) => j.occurrenceStart?.getTime() === start.getTime())
            .map((j) => ({
              nodeId: j.nodeId,
              jobId: j.id,
              recordingId: j.recordingId,
              state: j.state,
              part: j.part,
            })),
        };
      }),
    };
  }

  /**
   * Tops up the occurrences of schedules materialised less than a horizon ahead (the runner).
   * Safe on several controllers at once: the schedule row is locked and the rows are keyed.
   */
  async materialiseDue(batch: number): Promise<{ schedules: number; created: number }> {
    const now = this.now();
    const due = await this.repo.listDue(new Date(now.getTime() + SYNC_HORIZON_MS), batch);
    const rollsOf = await this.rolls.lookup(due.flatMap((row) => row.targets.map((t) => t.nodeId)));
    const created = await this.replan(
      due.map((row) => row.id),
      rollsOf,
      now,
    );
    return { schedules: due.length, created };
  }

  /**
   * Re-plans the enabled schedules on nodes whose recording profile rolls changed since the last
   * call (a profile edit, or a node given another profile); every enabled schedule on the first
   * call. The runner calls it on every pass. Returns how many schedules were re-planned.
   */
  async replanChangedProfiles(): Promise<number> {
    const schedules = await this.repo.enabledTargets();
    const nodeIds = new Set(schedules.flatMap((s) => s.nodeIds));
    const rolls = await this.rolls.of(nodeIds);
    const changed = this.rollWatch.changed(nodeIds, rolls);
    const ids = schedules.filter((s) => s.nodeIds.some((n) => changed.has(n))).map((s) => s.id);
    if (ids.length === 0) return 0;
    try {
      await this.replan(ids, (nodeId) => rolls.get(nodeId), this.now());
    } catch (error) {
      this.rollWatch.reset(); // the next pass tries them all again
      throw error;
    }
    return ids.length;
  }

  /** Reconciles the schedules' occurrences to a horizon ahead; returns how many were created. */
  private async replan(scheduleIds: string[], rollsOf: RollsOf, now: Date): Promise<number> {
    let created = 0;
    // A few dozen schedules a transaction: one lock statement, one read, one insert per table.
    for (let i = 0; i < scheduleIds.length; i += MATERIALISE_CHUNK) {
      const ids = scheduleIds.slice(i, i + MATERIALISE_CHUNK);
      const reconciled = await this.db.$transaction(async (tx) => {
        await this.repo.lock(tx, ids, this.provider);
        // A rule this version cannot read (stored by another) is left as it is, never emptied.
        const planned = (await this.repo.findManyInTx(tx, ids)).flatMap((row) => {
          const plans = this.plansFor(row, now, rollsOf);
          return plans ? [{ id: row.id, plans }] : [];
        });
        const result = await this.occurrences.reconcile(
          tx,
          planned.map((p) => p.id),
          planned.flatMap((p) => p.plans),
          now,
        );
        await this.repo.setMaterialisedUntil(tx, ids, new Date(now.getTime() + MATERIALISE_HORIZON_MS));
        return result;
      });
      created += reconciled.created;
      for (const nodeId of reconciled.nodeIds) await this.notifyNode(nodeId, 'schedule-changed', {});
    }
    return created;
  }

  /** The occurrences to hold; undefined when the stored rule cannot be read (validated on write). */
  private plansFor(row: ScheduleRow, now: Date, rollsOf: RollsOf): OccurrencePlan[] | undefined {
    try {
      return plansBetween(row, now, new Date(now.getTime() + MATERIALISE_HORIZON_MS), rollsOf);
    } catch (error) {
      if (error instanceof RecurrenceError) return undefined;
      throw error;
    }
  }

  /** Applies a change and re-materialises in one transaction, audited with before/after. */
  private async change(
    current: ScheduleRow,
    ctx: CallContext,
    action: AuditAction,
    apply: (tx: Tx) => Promise<ScheduleRow>,
    newNodeIds: string[] = [],
  ): Promise<ScheduleRow> {
    const before = this.present(current);
    const rollsOf = await this.rolls.lookup([...current.targets.map((t) => t.nodeId), ...newNodeIds]);
    const { row, nodes } = await this.db.$transaction(async (tx) => {
      await this.repo.lock(tx, [current.id], this.provider);
      const updated = await apply(tx);
      const changed = await this.rematerialise(tx, updated, rollsOf);
      await this.recordAudit(tx, ctx, action, updated, before, this.present(updated));
      return { row: updated, nodes: [...new Set([...changed, ...current.targets.map((t) => t.nodeId)])] };
    });
    await this.nudge(nodes, row);
    return (await this.repo.find(row.id))!;
  }

  private async rematerialise(tx: Tx, row: ScheduleRow, rollsOf: RollsOf): Promise<string[]> {
    const now = this.now();
    const plans = this.plansFor(row, now, rollsOf);
    if (!plans) throw badRequest('the stored recurrence cannot be read: set a new one with PATCH');
    const result = await this.occurrences.reconcile(tx, [row.id], plans, now);
    await this.repo.setMaterialisedUntil(tx, [row.id], new Date(now.getTime() + MATERIALISE_HORIZON_MS));
    return result.nodeIds;
  }

  private recordAudit(
    tx: Tx,
    ctx: CallContext,
    action: AuditAction,
    row: ScheduleRow,
    before: ScheduleView | undefined,
    after: ScheduleView | Record<string, unknown> | undefined,
  ) {
    return this.audit.record(tx, {
      actor: actorOf(ctx.principal),
      permission: 'schedule:manage',
      action,
      target: { type: 'schedule', id: row.id },
      outcome: 'success',
      before: before ? auditView(before) : undefined,
      after: after && 'recurrence' in after ? auditView(after as ScheduleView) : after,
      context: ctx.request,
      scope: auditScopeOf(row),
    });
  }

  /** Each target node, checked in the caller's scope (404 for one outside it), once. */
  private async checkTargets(principal: Principal, targets: CreateScheduleBody['targets']) {
    const seen = new Set<string>();
    const nodes = [];
    for (const target of targets) {
      if (seen.has(target.nodeId)) throw badRequest(`node ${target.nodeId} is listed twice in targets`);
      seen.add(target.nodeId);
      const node = await this.nodes.visibleNode(principal, 'schedule:manage', target.nodeId);
      if (node.decommissionedAt)
        throw conflict(`Node ${node.id} is decommissioned: it records no more; remove it from targets.`);
      nodes.push({ ...target, channelCount: node.channels });
    }
    return nodes;
  }

  private editable(row: ScheduleRow): CreateScheduleBody {
    const view = this.present(row);
    return {
      name: view.name,
      recurrence: view.recurrence,
      timeZone: view.timeZone,
      start: view.start,
      durationSeconds: view.durationSeconds,
      preRollSeconds: view.preRollSeconds,
      postRollSeconds: view.postRollSeconds,
      targets: view.targets.map((t) => ({
        nodeId: t.nodeId,
        ...(t.channels ? { channels: t.channels } : {}),
      })),
      profile: view.profile,
      voiceChannel: view.voiceChannel,
      enabled: view.enabled,
    };
  }

  /** Skips of occurrences still ahead (past ones are dropped as the list is rewritten). */
  private currentSkips(row: ScheduleRow): string[] {
    const now = this.now().toISOString();
    return skippedOf(row).filter((s) => s >= now);
  }

  /** The next occurrence whose pre-roll has not begun and that is not skipped. */
  private nextSkippable(row: ScheduleRow): Date | undefined {
    try {
      return nextUnskipped(row, new Date(this.now().getTime() + row.preRollSeconds * 1000 + 1));
    } catch {
      return undefined;
    }
  }

  private async nudge(nodeIds: string[], row: Pick<ScheduleRow, 'id'>): Promise<void> {
    for (const nodeId of new Set(nodeIds))
      await this.notifyNode(nodeId, 'schedule-changed', { scheduleId: row.id });
  }
}
