/**
 * Health events for operators: scoped reads (list, facets, export, detail, actions), events
 * entered by hand, and the lifecycle (acknowledge, suppress, resolve, reopen), one event at a
 * time or in bulk (all or nothing). Every change is audited with its actor in its transaction.
 */
import { randomUUID } from 'node:crypto';
import type { HealthSeverity } from '../../../../shared/src/mqtt.js';
import type { Permission } from '../../../../shared/src/permissions.js';
import type { AuditWriter } from '../../core/audit.types.js';
import type { AuditAction } from '../../core/audit-actions.js';
import { type Change, type ChangeFeed, NO_CHANGE_FEED } from '../../core/change-feed.js';
import { conflict, forbidden, notFound } from '../../core/errors.js';
import { tally } from '../../core/facets.js';
import type { PagePosition } from '../../core/page-position.js';
import { actorOf, type CallContext, type Principal } from '../../core/principal.js';
import { type ExportSummary, exportEvent } from '../../core/table-export.js';
import { type Visible, visibleTo } from '../../core/visible.js';
import type { Db, Provider, Tx } from '../../db/client.js';
import type { NodesService } from '../nodes/index.js';
import type { HealthEventRow, HealthRepository } from './health.repository.js';
import type {
  BulkLifecycleBody,
  CreateHealthEventBody,
  HealthEventView,
  HealthFilter,
  LifecycleAction,
  TransitionInput,
} from './health.schemas.js';
import { LIFECYCLE_ACTIONS } from './health.schemas.js';
import { effectiveStatus, refusal, transition } from './health-lifecycle.js';

/** Whose the event is: its node, or the whole fleet (no node: the controller's own, audit_chain). */
export function eventScope(row: HealthEventRow): { nodeId?: string; siteId?: string } {
  return row.nodeId === null ? {} : { nodeId: row.nodeId, siteId: row.node?.siteId };
}

export function presentHealthEvent(row: HealthEventRow, now: Date): HealthEventView {
  let values: Record<string, unknown> = {};
  try {
    values = JSON.parse(row.measured) as Record<string, unknown>;
  } catch {
    // stored by hand or by another version: shown empty
  }
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  return {
    id: row.id,
    nodeId: row.nodeId,
    siteId: row.node?.siteId ?? null,
    type: row.type,
    severity: row.severity,
    status: effectiveStatus(row, now),
    channel: row.channel,
    message: row.message,
    values,
    firstSeenAt: row.firstSeenAt.toISOString(),
    lastSeenAt: row.lastSeenAt.toISOString(),
    count: row.count,
    resolvedAt: iso(row.resolvedAt),
    suppressedUntil: effectiveStatus(row, now) === 'suppressed' ? iso(row.suppressedUntil) : null,
    acknowledgedBy: row.acknowledgedBy,
    acknowledgedAt: iso(row.acknowledgedAt),
    source: row.source,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export type HealthChangeType = 'health.opened' | 'health.changed' | 'health.resolved';

/**
 * A committed transition of the event, for the change feed (notifications, live events): its
 * type, severity, status and message, where it is, and what happened (`change`).
 */
export function healthChange(type: HealthChangeType, row: HealthEventRow, at: Date, change: string): Change {
  return {
    type,
    at,
    scope: { siteId: row.node?.siteId ?? null, nodeId: row.nodeId },
    subject: { type: 'health_event', id: row.id },
    data: {
      type: row.type,
      severity: row.severity,
      status: effectiveStatus(row, at),
      message: row.message.slice(0, 500),
      source: row.source,
      change,
    },
  };
}

/** Which change each lifecycle step publishes. */
const CHANGE_OF: Record<LifecycleAction, HealthChangeType> = {
  acknowledge: 'health.changed',
  suppress: 'health.changed',
  resolve: 'health.resolved',
  reopen: 'health.opened',
};

const AUDIT_ACTION: Record<LifecycleAction, AuditAction> = {
  acknowledge: 'health_event.acknowledge',
  suppress: 'health_event.suppress',
  resolve: 'health_event.resolve',
  reopen: 'health_event.reopen',
};

export interface HealthDeps {
  db: Db;
  provider: Provider;
  repo: HealthRepository;
  nodes: NodesService;
  audit: AuditWriter;
  now: () => Date;
  /** Where committed transitions are announced (core/change-feed.ts). */
  changes?: ChangeFeed;
}

export class HealthService {
  constructor(private readonly deps: HealthDeps) {}

  /** Announces committed transitions (after their transaction). */
  publish(type: HealthChangeType, rows: HealthEventRow[], change: string): void {
    const changes = this.deps.changes ?? NO_CHANGE_FEED;
    const at = this.deps.now();
    for (const row of rows) changes.publish(healthChange(type, row, at, change));
  }

  present(row: HealthEventRow): HealthEventView {
    return presentHealthEvent(row, this.deps.now());
  }

  /** The event if the caller holds `permission` on its node; a hidden 404 otherwise. */
  async visibleEvent(
    principal: Principal,
    permission: Permission,
    id: string,
  ): Promise<Visible<HealthEventRow>> {
    const row = await this.deps.repo.find(id);
    if (!row) throw notFound('health event');
    return visibleTo(principal, permission, row, eventScope(row), {
      name: 'health event',
      target: { type: 'health_event', id },
    });
  }

  list(principal: Principal, filter: HealthFilter, limit: number, after?: PagePosition) {
    if (principal.kind !== 'user') throw forbidden('users only');
    return this.deps.repo.list(principal.access.filter('health:read'), filter, this.deps.now(), limit, after);
  }

  listByIds(principal: Principal, ids: string[]) {
    if (principal.kind !== 'user') throw forbidden('users only');
    return this.deps.repo.listByIds(ids, principal.access.filter('health:read'));
  }

  /**
   * Events on `nodeIds` that still need someone (neither resolved nor suppressed now), by
   * severity; with `withFleet`, the controller's own events of no node (audit_chain) too.
   */
  async activeBySeverity(nodeIds: string[], withFleet = false): Promise<Record<HealthSeverity, number>> {
    const counts: Record<HealthSeverity, number> = { info: 0, warning: 0, critical: 0 };
    for (const g of await this.deps.repo.activeGroups(this.deps.now(), nodeIds, withFleet))
      counts[g.severity as HealthSeverity] += g.count;
    return counts;
  }

  async facets(principal: Principal, filter: HealthFilter) {
    if (principal.kind !== 'user') throw forbidden('users only');
    const now = this.deps.now();
    const groups = await this.deps.repo.groups(principal.access.filter('health:read'), filter, now);
    const count = (g: { count: number }) => g.count;
    return {
      total: groups.reduce((sum, g) => sum + g.count, 0),
      status: tally(groups, (g) => effectiveStatus(g, now), count),
      severity: tally(groups, (g) => g.severity, count),
      type: tally(groups, (g) => g.type, count),
      // Events of no node (the controller's own) are counted in the total only.
      nodeId: tally(
        groups.filter((g) => g.nodeId !== null),
        (g) => g.nodeId!,
        count,
      ),
    };
  }

  /** An export leaves the controller: audited once, with how many events and the format. */
  async recordExport(ctx: CallContext, summary: ExportSummary): Promise<void> {
    await this.deps.audit.recordAlone(exportEvent(ctx, 'health:read', 'health_event.export', summary));
  }

  /** What the caller may do with the event now, each with the reason when not. */
  async actions(id: string, principal: Principal) {
    const row = await this.visibleEvent(principal, 'health:read', id);
    const may = principal.kind === 'user' && principal.access.allows('health:acknowledge', eventScope(row));
    const now = this.deps.now();
    const gate = (action: LifecycleAction) => {
      if (!may) return { allowed: false, reason: 'needs health:acknowledge on the event’s node' };
      const why = refusal(row, action, now);
      return { allowed: why === null, reason: why };
    };
    return Object.fromEntries(LIFECYCLE_ACTIONS.map((a) => [a, gate(a)])) as Record<
      LifecycleAction,
      { allowed: boolean; reason: string | null }
    >;
  }

  /** An event entered by hand on a node in the caller's scope: open, source `manual`. */
  async create(body: CreateHealthEventBody, ctx: CallContext): Promise<HealthEventRow> {
    const node = await this.deps.nodes.visibleNode(ctx.principal, 'health:acknowledge', body.nodeId);
    const now = this.deps.now();
    const created = await this.deps.db.$transaction(async (tx) => {
      const row = await this.deps.repo.create(tx, {
        id: randomUUID(),
        nodeId: node.id,
        type: body.type ?? 'manual',
        severity: body.severity,
        channel: body.channel ?? null,
        message: body.message,
        measured: JSON.stringify(body.values ?? {}),
        firstSeenAt: now,
        lastSeenAt: now,
        source: 'manual',
      });
      await this.recordAudit(tx, ctx, 'health_event.create', row, undefined, undefined);
      return row;
    });
    this.publish('health.opened', [created], 'created');
    return created;
  }

  /** One lifecycle step on one event (409 when its status does not allow it). */
  async apply(id: string, action: LifecycleAction, input: TransitionInput, ctx: CallContext) {
    const current = await this.visibleEvent(ctx.principal, 'health:acknowledge', id);
    const row = await this.deps.db.$transaction((tx) => this.step(tx, current.id, action, input, ctx));
    this.publish(CHANGE_OF[action], [row], action);
    return row;
  }

  /**
   * One lifecycle step on many events, all or nothing: every event must be in the caller's
   * scope (else 404) and allow the step (else 409 naming each refused event and why).
   */
  async bulk(body: BulkLifecycleBody, ctx: CallContext): Promise<HealthEventRow[]> {
    const rows: Visible<HealthEventRow>[] = [];
    for (const id of body.ids) rows.push(await this.visibleEvent(ctx.principal, 'health:acknowledge', id));
    const now = this.deps.now();
    const refused = rows.flatMap((row) => {
      const reason = refusal(row, body.action, now);
      return reason ? [{ id: row.id, reason }] : [];
    });
    if (refused.length > 0)
      throw conflict(`${refused.length} of ${rows.length} events cannot be changed; none was.`, { refused });
    const changed = await this.deps.db.$transaction(async (tx) => {
      const stepped: HealthEventRow[] = [];
      for (const row of rows) stepped.push(await this.step(tx, row.id, body.action, body, ctx));
      return stepped;
    });
    this.publish(CHANGE_OF[body.action], changed, body.action);
    return changed;
  }

  /** Re-reads the event inside the transaction (locked on PostgreSQL), changes it, audits it. */
  private async step(tx: Tx, id: string, action: LifecycleAction, input: TransitionInput, ctx: CallContext) {
    await this.lock(tx, id);
    const row = (await this.deps.repo.find(id, tx))!;
    const actor = actorOf(ctx.principal);
    const data = transition(row, action, input, this.deps.now(), actor.name ?? actor.id ?? null);
    const updated = await this.deps.repo.update(tx, id, data);
    await this.recordAudit(tx, ctx, AUDIT_ACTION[action], updated, row, input.reason);
    return updated;
  }

  /** Holds the event's row until the transaction ends (PostgreSQL; SQLite has one writer). */
  async lock(tx: Tx, id: string): Promise<void> {
    if (this.deps.provider === 'postgresql')
      await tx.$queryRaw`SELECT "id" FROM "HealthEvent" WHERE "id" = ${id} FOR UPDATE`;
  }

  recordAudit(
    tx: Tx,
    ctx: CallContext,
    action: AuditAction,
    row: HealthEventRow,
    before: HealthEventRow | undefined,
    reason: string | undefined,
  ) {
    const view = (r: HealthEventRow) => {
      const { createdAt: _c, updatedAt: _u, ...rest } = this.present(r);
      return rest;
    };
    return this.deps.audit.recordChange(tx, ctx, {
      permission: 'health:acknowledge',
      action,
      target: { type: 'health_event', id: row.id },
      reason: reason ?? null,
      before: before ? view(before) : undefined,
      after: view(row),
      scope: eventScope(row),
    });
  }
}
