/**
 * Channel-map assignments: which template (a `channel-map-templates` settings object) splits a
 * node's capture. Every change is a numbered settings revision (family
 * `channel-map-assignments`) written with its audit event in one transaction; history and
 * rollback read those revisions. A template fits a node only when the node captures at least
 * its `inputChannels`. Callers must see the node (settings:read / settings:manage in its scope);
 * each changed node's agent is nudged (`config-changed`) after the commit.
 */
import type { NodeChannelMap } from '../../../../shared/src/agent-api.js';
import type { Permission } from '../../../../shared/src/permissions.js';
import type { AuditWriter } from '../../core/audit.types.js';
import type { AuditAction } from '../../core/audit-actions.js';
import type { ChangeFeed } from '../../core/change-feed.js';
import { AppError, badRequest, conflict, forbidden } from '../../core/errors.js';
import type { NodeNotifier } from '../../core/node-commands.js';
import { actorOf, type CallContext, type Principal, type UserPrincipal } from '../../core/principal.js';
import type { Db, Tx } from '../../db/client.js';
import { isUniqueViolation } from '../../db/unique.js';
import type { NodesService } from '../nodes/index.js';
import {
  type RevisionAction,
  refuseAudited,
  type SettingsRevisions,
  type SettingsService,
} from '../settings/index.js';
import type { ChannelMapTemplateBody } from './channel-map-templates.js';
import { channelMapTemplates } from './channel-map-templates.js';
import type { AssignmentRow, AssignmentState, ChannelMapsRepository } from './channel-maps.repository.js';
import type { AssignmentItem } from './channel-maps.schemas.js';

/** The family name of assignment revisions in the settings history. */
export const ASSIGNMENTS_FAMILY = 'channel-map-assignments';

export type NodeRow = Awaited<ReturnType<NodesService['visibleNode']>>;
export interface Template {
  id: string;
  name: string;
  revision: number;
  body: ChannelMapTemplateBody;
}
export type Templates = Map<string, Template>;
/** One node's change, checked: the node (seen by the caller), what it has, what it gets. */
export interface Change {
  node: NodeRow;
  current: AssignmentRow | null;
  next: AssignmentState;
}

export interface AssignmentsDeps {
  db: Db;
  repo: ChannelMapsRepository;
  nodes: NodesService;
  settings: SettingsService;
  revisions: SettingsRevisions;
  audit: AuditWriter;
  notifyNode: NodeNotifier;
  /** Where each committed assignment change is announced (`settings.changed`, the node's scope). */
  changes: ChangeFeed;
  now: () => Date;
}

export const stateOf = (row: AssignmentRow | null): AssignmentState =>
  row ? { templateId: row.templateId, interface: row.interface } : { templateId: null, interface: null };

export function userOf(principal: Principal): UserPrincipal {
  if (principal.kind !== 'user') throw forbidden('users only');
  return principal;
}

export class ChannelMapAssignments {
  constructor(private readonly deps: AssignmentsDeps) {}

  /** The node, if the caller may use `permission` on it; a hidden 404 otherwise. */
  visibleNode(principal: Principal, permission: Permission, nodeId: string): Promise<NodeRow> {
    return this.deps.nodes.visibleNode(principal, permission, nodeId);
  }

  /** A page of the history of an assignment (its settings revisions). */
  revisionsOf(assignmentId: string, limit: number, after?: number) {
    return this.deps.revisions.history(assignmentId, limit, after);
  }

  revisionOf(assignmentId: string, revision: number) {
    return this.deps.revisions.find(assignmentId, revision);
  }

  /** The templates among `ids` that exist, by id. */
  async templates(ids: (string | null)[]): Promise<Templates> {
    const wanted = [...new Set(ids.filter((id): id is string => id !== null))];
    if (wanted.length === 0) return new Map();
    const rows = await this.deps.settings.listByIds(channelMapTemplates, wanted);
    return new Map(
      rows.map((r) => [
        r.id,
        { id: r.id, name: r.name, revision: r.revision, body: JSON.parse(r.body) as ChannelMapTemplateBody },
      ]),
    );
  }

  /** Why `next` cannot be assigned to the node, or null when it can. */
  problem(
    node: Pick<NodeRow, 'id' | 'channels'>,
    next: AssignmentState,
    templates: Templates,
  ): string | null {
    if (next.templateId === null) return null;
    const template = templates.get(next.templateId);
    if (!template) return `channel-map template ${next.templateId} not found`;
    if (template.body.inputChannels > node.channels)
      return (
        `template "${template.name}" needs ${template.body.inputChannels} input channels, ` +
        `but node ${node.id} captures ${node.channels}`
      );
    return null;
  }

  /**
   * Checks many changes at once: each node seen by the caller (outside the scope: a 404 for the
   * whole request), listed once, existing, and its template fitting it. Every problem is
   * reported in one 400 (`details.errors`, by item), so nothing is applied when one fails.
   */
  async check(principal: Principal, items: AssignmentItem[], permission: Permission): Promise<Change[]> {
    const errors: { index: number; nodeId: string; message: string }[] = [];
    const found: (NodeRow | undefined)[] = [];
    for (const [index, item] of items.entries()) {
      const exists = await this.deps.nodes.scopeOf(item.nodeId);
      if (!exists) errors.push({ index, nodeId: item.nodeId, message: `node ${item.nodeId} not found` });
      if (items.findIndex((i) => i.nodeId === item.nodeId) !== index)
        errors.push({ index, nodeId: item.nodeId, message: `node ${item.nodeId} is listed twice` });
      found.push(exists ? await this.deps.nodes.visibleNode(principal, permission, item.nodeId) : undefined);
    }
    const templates = await this.templates(items.map((i) => i.templateId));
    const current = await this.deps.repo.findMany(items.map((i) => i.nodeId));
    const changes: Change[] = [];
    for (const [index, item] of items.entries()) {
      const node = found[index];
      if (!node) continue;
      const next = { templateId: item.templateId, interface: item.interface ?? null };
      const problem = this.problem(node, next, templates);
      if (problem) errors.push({ index, nodeId: item.nodeId, message: problem });
      changes.push({ node, current: current.find((a) => a.nodeId === node.id) ?? null, next });
    }
    if (errors.length > 0) {
      const first = errors.slice(0, 5).map((e) => `item ${e.index} (${e.nodeId}): ${e.message}`);
      throw badRequest(`${errors.length} of ${items.length} items cannot be applied: ${first.join('; ')}`, {
        errors,
      });
    }
    return changes;
  }

  /**
   * Runs a change; a refusal (bad input, conflict, not found) is audited as a failed attempt, as
   * settings changes are. Denials (outside the scope) are audited once, by the error handler.
   */
  async refusing<T>(
    ctx: CallContext,
    action: AuditAction,
    target: { type: string; id: string } | null,
    work: () => Promise<T>,
  ): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof AppError && error.denial) throw error;
      return refuseAudited(
        this.deps.audit,
        {
          actor: actorOf(ctx.principal),
          permission: 'settings:manage',
          action,
          target,
          outcome: 'success',
          context: ctx.request,
        },
        error,
      );
    }
  }

  /** One transaction; losing a race to create a node's first assignment is a 409. */
  async transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.deps.db.$transaction(work).catch((error: unknown) => {
      throw isUniqueViolation(error)
        ? conflict('A channel-map assignment was changed meanwhile; reload it and try again.')
        : error;
    });
  }

  /** Writes one node's change, its revision and its audit event, inside `tx`. */
  async write(
    tx: Tx,
    ctx: CallContext,
    change: Change,
    how: { rollback?: true; reason: string | null },
  ): Promise<AssignmentRow> {
    const { node, current, next } = change;
    const row = current
      ? await this.deps.repo.update(tx, current.id, current.revision, next)
      : await this.deps.repo.create(tx, node.id, next);
    if (!row)
      throw conflict(
        `The channel-map assignment of node ${node.id} changed meanwhile; reload it and try again.`,
      );
    const action: RevisionAction = how.rollback
      ? 'rollback'
      : !current
        ? 'create'
        : next.templateId === null
          ? 'delete'
          : 'update';
    const audited: AuditAction = how.rollback
      ? 'channel_map.assignment.rollback'
      : next.templateId === null
        ? 'channel_map.assignment.clear'
        : 'channel_map.assignment.set';
    await this.deps.revisions.add(tx, ctx, {
      objectId: row.id,
      family: ASSIGNMENTS_FAMILY,
      revision: row.revision,
      action,
      name: node.id,
      body: JSON.stringify(next),
      reason: how.reason,
    });
    await this.deps.audit.recordChange(tx, ctx, {
      permission: 'settings:manage',
      action: audited,
      target: { type: 'node', id: node.id },
      reason: how.reason,
      before: current ? stateOf(current) : null,
      after: next,
      scope: { siteId: node.siteId, nodeId: node.id },
    });
    return row;
  }

  /**
   * After a commit: each node's assignment change is announced on the change feed, and its agent
   * refetches its config (best effort).
   */
  async nudge(nodes: NodeRow[]): Promise<void> {
    for (const node of nodes) {
      const row = await this.deps.repo.find(node.id);
      if (!row) continue;
      this.deps.changes.publish({
        type: 'settings.changed',
        at: this.deps.now(),
        scope: { siteId: node.siteId, nodeId: node.id },
        subject: { type: 'channel_map_assignment', id: row.id },
        data: {
          family: ASSIGNMENTS_FAMILY,
          name: node.id,
          revision: row.revision,
          action: row.templateId === null ? 'clear' : 'set',
        },
      });
    }
    await Promise.all(
      nodes
        .filter((n) => !n.decommissionedAt && n.credentialHash)
        .map((n) => this.deps.notifyNode(n.id, 'config-changed')),
    );
  }

  /** The node's channel map, resolved from its assignment and the template's current revision. */
  async resolve(nodeId: string): Promise<NodeChannelMap> {
    const row = await this.deps.repo.find(nodeId);
    const template = row?.templateId
      ? (await this.templates([row.templateId])).get(row.templateId)
      : undefined;
    if (!row || !template) return { template: null, interface: null, groups: [] };
    return {
      template: { id: template.id, name: template.name, revision: template.revision },
      interface: row.interface,
      groups: template.body.groups.map((g) => ({
        name: g.name,
        channels: g.channels,
        channelNames: g.channelNames ?? null,
      })),
    };
  }
}
