/**
 * The assignment routes' service: set, clear, bulk set (all or nothing), list, history and
 * rollback of nodes' channel-map assignments, and the resolved map for the node's agent and
 * for recordings (`groupsFor`). The checking and writing are `ChannelMapAssignments`'.
 */
import { badRequest } from '../../core/errors.js';
import { decodeCursor } from '../../core/pagination.js';
import type { CallContext, Principal } from '../../core/principal.js';
import {
  type Change,
  type ChannelMapAssignments,
  type Templates,
  userOf,
} from './channel-map-assignments.service.js';
import type { AssignmentRow, AssignmentState, ChannelMapsRepository } from './channel-maps.repository.js';
import type { AssignmentItem, PutAssignmentBody } from './channel-maps.schemas.js';

/** What recordings need to split a recording per group; null when the node has no channel map. */
export interface ChannelMapsPort {
  groupsFor(
    nodeId: string,
  ): Promise<{ templateId: string; groups: { name: string; channels: number[] }[] } | null>;
}

/** An assignment revision's body as a state (bodies are written by `ChannelMapAssignments.write`). */
function bodyState(body: Record<string, unknown>): AssignmentState {
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  return { templateId: text(body.templateId), interface: text(body.interface) };
}

export function presentAssignment(row: AssignmentRow, templates: Templates) {
  return {
    nodeId: row.nodeId,
    template: row.templateId
      ? { id: row.templateId, name: templates.get(row.templateId)?.name ?? null }
      : null,
    interface: row.interface,
    revision: row.revision,
    updatedAt: row.updatedAt.toISOString(),
  };
}

export class ChannelMapsService implements ChannelMapsPort {
  constructor(
    private readonly assignments: ChannelMapAssignments,
    private readonly repo: ChannelMapsRepository,
  ) {}

  async list(
    principal: Principal,
    query: { nodeId?: string; templateId?: string },
    limit: number,
    afterNodeId?: string,
  ) {
    const filter = userOf(principal).access.filter('settings:read');
    const rows = await this.repo.list(filter, query, limit, afterNodeId);
    return { rows, templates: await this.assignments.templates(rows.map((r) => r.templateId)) };
  }

  /** Sets, replaces (templateId) or clears (templateId null) one node's assignment. */
  async put(
    nodeId: string,
    body: Pick<PutAssignmentBody, 'templateId' | 'interface' | 'reason'>,
    ctx: CallContext,
  ) {
    const action = body.templateId === null ? 'channel_map.assignment.clear' : 'channel_map.assignment.set';
    return this.assignments.refusing(ctx, action, { type: 'node', id: nodeId }, async () => {
      await this.assignments.visibleNode(ctx.principal, 'settings:manage', nodeId); // unknown: a 404
      const item: AssignmentItem = { nodeId, templateId: body.templateId, interface: body.interface ?? null };
      return this.apply([item], body.reason ?? null, ctx);
    });
  }

  /** Many nodes in one transaction: every item checked first, nothing applied when one fails. */
  async bulk(items: AssignmentItem[], reason: string | null, ctx: CallContext) {
    return this.assignments.refusing(ctx, 'channel_map.assignment.set', null, () =>
      this.apply(items, reason, ctx),
    );
  }

  private async apply(items: AssignmentItem[], reason: string | null, ctx: CallContext) {
    userOf(ctx.principal);
    const changes = await this.assignments.check(ctx.principal, items, 'settings:manage');
    const rows = await this.assignments.transaction(async (tx) => {
      const written: AssignmentRow[] = [];
      for (const change of changes) written.push(await this.assignments.write(tx, ctx, change, { reason }));
      return written;
    });
    await this.assignments.nudge(changes.map((c) => c.node));
    return { rows, templates: await this.assignments.templates(rows.map((r) => r.templateId)) };
  }

  /** A page of the revisions of the node's assignment, oldest first (none when it never had one). */
  /** A page of the node's assignment revisions; the node's scope is checked before the cursor. */
  async history(nodeId: string, principal: Principal, limit: number, cursor?: string) {
    await this.assignments.visibleNode(principal, 'settings:read', nodeId);
    const after = decodeCursor<number>(cursor, 'sequence');
    const row = await this.repo.find(nodeId);
    if (!row) return { data: [], nextCursor: null };
    const page = await this.assignments.revisionsOf(row.id, limit, after);
    return {
      data: page.data.map((e) => ({
        ...e,
        before: e.before ? bodyState(e.before.body) : null,
        after: bodyState(e.after.body),
      })),
      nextCursor: page.nextCursor,
    };
  }

  /** Restores an earlier revision's template and interface, as a new revision. */
  async rollback(nodeId: string, input: { revision: number; reason?: string }, ctx: CallContext) {
    const target = { type: 'node', id: nodeId };
    return this.assignments.refusing(ctx, 'channel_map.assignment.rollback', target, () =>
      this.restore(nodeId, input, ctx),
    );
  }

  private async restore(nodeId: string, input: { revision: number; reason?: string }, ctx: CallContext) {
    const node = await this.assignments.visibleNode(ctx.principal, 'settings:manage', nodeId);
    const current = await this.repo.find(nodeId);
    const target = current ? await this.assignments.revisionOf(current.id, input.revision) : null;
    if (!current || !target || target.revision >= current.revision)
      throw badRequest(
        `Revision ${input.revision} is not an earlier revision of node ${nodeId}'s channel-map assignment.`,
      );
    const next = bodyState(JSON.parse(target.body) as Record<string, unknown>);
    const templates = await this.assignments.templates([next.templateId]);
    const problem = this.assignments.problem(node, next, templates);
    if (problem) throw badRequest(`Revision ${input.revision} cannot be restored: ${problem}`);
    const change: Change = { node, current, next };
    const reason = input.reason ?? `rollback to revision ${input.revision}`;
    const row = await this.assignments.transaction((tx) =>
      this.assignments.write(tx, ctx, change, { rollback: true, reason }),
    );
    await this.assignments.nudge([node]);
    return { row, templates };
  }

  /** The agent's own channel map. */
  async agentMap(nodeId: string, principal: Principal) {
    await this.assignments.visibleNode(principal, 'node:control', nodeId);
    return this.assignments.resolve(nodeId);
  }

  async groupsFor(nodeId: string) {
    const map = await this.assignments.resolve(nodeId);
    if (!map.template) return null;
    return {
      templateId: map.template.id,
      groups: map.groups.map((g) => ({ name: g.name, channels: g.channels })),
    };
  }
}
