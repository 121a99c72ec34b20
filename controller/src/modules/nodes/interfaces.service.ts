/**
 * A node's audio interfaces: the agent reports its capture devices (reconciled by device
 * reference, interface-inventory.ts); operators read them and set an alias, the enabled
 * channels and channel names. Every change is audited in its transaction; an operator's change
 * nudges the agent (`config-changed`).
 */
import type { InterfaceReport, InterfaceReportResult } from '../../../../shared/src/agent-api.js';
import type { AuditWriter } from '../../core/audit.types.js';
import { badRequest, notFound } from '../../core/errors.js';
import type { NodeNotifier } from '../../core/node-commands.js';
import type { CallContext, Principal } from '../../core/principal.js';
import type { Visible } from '../../core/visible.js';
import type { Db, Tx } from '../../db/client.js';
import { retryOnUniqueViolation } from '../../db/unique.js';
import {
  duplicateRefs,
  type InventoryPlan,
  operatorFieldProblems,
  planChanges,
  planInventory,
} from './interface-inventory.js';
import type { InterfaceRow, InterfacesRepository } from './interfaces.repository.js';
import type { InterfaceView, UpdateInterfaceBody } from './interfaces.schemas.js';
import type { NodesService } from './nodes.service.js';

function jsonArray<T>(text: string | null, keep: (v: unknown) => v is T): T[] | null {
  if (text === null) return null;
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter(keep) : [];
  } catch {
    return [];
  }
}

const isInt = (v: unknown): v is number => Number.isInteger(v);
const isString = (v: unknown): v is string => typeof v === 'string';

export function presentInterface(row: InterfaceRow): InterfaceView {
  return {
    id: row.id,
    nodeId: row.nodeId,
    ref: row.ref,
    kind: row.kind as InterfaceView['kind'],
    description: row.description,
    channels: row.channels,
    sampleRate: row.sampleRate,
    present: row.present,
    firstSeenAt: row.firstSeenAt.toISOString(),
    lastSeenAt: row.lastSeenAt.toISOString(),
    alias: row.alias,
    enabledChannels: jsonArray(row.enabledChannels, isInt),
    channelNames: jsonArray(row.channelNames, isString) ?? [],
  };
}

/** What an audit event says of an interface: the reported facts and the operator fields. */
function audited(row: InterfaceView) {
  const { id, ref, kind, description, channels, sampleRate, present, alias, enabledChannels, channelNames } =
    row;
  return { id, ref, kind, description, channels, sampleRate, present, alias, enabledChannels, channelNames };
}

export class InterfacesService {
  constructor(
    private readonly deps: {
      db: Db;
      repo: InterfacesRepository;
      nodes: NodesService;
      audit: AuditWriter;
      notify: NodeNotifier;
      now: () => Date;
    },
  ) {}

  async list(nodeId: string, principal: Principal): Promise<InterfaceView[]> {
    await this.deps.nodes.visibleNode(principal, 'node:read', nodeId);
    return (await this.deps.repo.list(this.deps.db, nodeId)).map(presentInterface);
  }

  /** The interfaces of a node its caller was checked to see (the node detail). */
  async ofVisibleNode(node: Visible<{ id: string }>): Promise<InterfaceView[]> {
    return (await this.deps.repo.list(this.deps.db, node.id)).map(presentInterface);
  }

  /** The agent's report: reconciled in one transaction, audited when anything but last-seen changed. */
  async report(nodeId: string, body: InterfaceReport, ctx: CallContext): Promise<InterfaceReportResult> {
    const { db, nodes } = this.deps;
    await nodes.visibleNode(ctx.principal, 'node:control', nodeId);
    const twice = duplicateRefs(body.interfaces);
    if (twice.length > 0)
      throw badRequest(`Each device may be reported once; listed more than once: ${twice.join(', ')}.`);
    // Two reports racing to create the same device: the loser runs again and finds it.
    return retryOnUniqueViolation(() => db.$transaction((tx) => this.reconcile(tx, nodeId, body, ctx)));
  }

  private async reconcile(
    tx: Tx,
    nodeId: string,
    body: InterfaceReport,
    ctx: CallContext,
  ): Promise<InterfaceReportResult> {
    const { repo, audit } = this.deps;
    const now = this.deps.now();
    const known = await repo.list(tx, nodeId);
    const plan = planInventory(known, body.interfaces);
    // One statement at a time: a transaction is one connection.
    const created: InterfaceRow[] = [];
    for (const r of plan.create) created.push(await repo.create(tx, nodeId, r, now));
    const updated: InterfaceRow[] = [];
    for (const u of plan.update) updated.push(await repo.refresh(tx, u.known.id, u.reported, now));
    await repo.touch(
      tx,
      plan.seen.map((k) => k.id),
      now,
    );
    await repo.markAbsent(
      tx,
      plan.absent.map((k) => k.id),
    );
    if (planChanges(plan))
      await audit.recordChange(tx, ctx, {
        permission: 'node:control',
        action: 'node.interface.report',
        target: { type: 'node', id: nodeId },
        ...this.reportDiff(known, plan, created, updated),
      });
    return { created: created.length, updated: updated.length, absent: plan.absent.length };
  }

  /** Before and after of what the report changed (only the interfaces it touched). */
  private reportDiff(
    known: InterfaceRow[],
    plan: InventoryPlan,
    created: InterfaceRow[],
    updated: InterfaceRow[],
  ) {
    const byId = new Map(known.map((k) => [k.id, k]));
    const touched = [...plan.update.map((u) => u.known.id), ...plan.absent.map((k) => k.id)];
    const before = touched.map((id) => audited(presentInterface(byId.get(id)!)));
    const after = [
      ...created.map((r) => audited(presentInterface(r))),
      ...updated.map((r) => audited(presentInterface(r))),
      ...plan.absent.map((k) => audited({ ...presentInterface(byId.get(k.id)!), present: false })),
    ];
    return { before, after };
  }

  /** The operator's fields of one interface, checked against its channel count. */
  async update(
    nodeId: string,
    iid: string,
    body: UpdateInterfaceBody,
    ctx: CallContext,
  ): Promise<InterfaceView> {
    const { db, repo, nodes, audit } = this.deps;
    const node = await nodes.visibleNode(ctx.principal, 'node:manage', nodeId);
    const updated = await db.$transaction(async (tx) => {
      const row = await repo.find(tx, nodeId, iid);
      if (!row) throw notFound('interface');
      const problems = operatorFieldProblems(row.channels, body);
      if (problems.length > 0) throw badRequest(`${problems.join('; ')}.`, { problems });
      const next = await repo.update(tx, row.id, {
        ...(body.alias !== undefined ? { alias: body.alias } : {}),
        ...(body.enabledChannels !== undefined
          ? { enabledChannels: body.enabledChannels === null ? null : JSON.stringify(body.enabledChannels) }
          : {}),
        ...(body.channelNames !== undefined ? { channelNames: JSON.stringify(body.channelNames) } : {}),
      });
      await audit.recordChange(tx, ctx, {
        permission: 'node:manage',
        action: 'node.interface.update',
        target: { type: 'node', id: nodeId },
        before: audited(presentInterface(row)),
        after: audited(presentInterface(next)),
      });
      return next;
    });
    if (!node.decommissionedAt && node.credentialHash) await this.deps.notify(nodeId, 'config-changed');
    return presentInterface(updated);
  }
}
