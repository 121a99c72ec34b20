import type { Permission } from '../../../../shared/src/permissions.js';
import type { AuditWriter } from '../../core/audit.types.js';
import type { ChangeFeed } from '../../core/change-feed.js';
import { conflict, forbidden } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { NodeNotifier } from '../../core/node-commands.js';
import type { CallContext, Principal, UserPrincipal } from '../../core/principal.js';
import { type ExportSummary, exportEvent } from '../../core/table-export.js';
import type { Db, Tx } from '../../db/client.js';
import { retryOnUniqueViolation } from '../../db/unique.js';
import type { CommandResultLog } from './command-results.js';
import type { NodeRow, NodesRepository } from './nodes.repository.js';
import type { UpdateNodeBody } from './nodes.schemas.js';
import type { NodesService } from './nodes.service.js';

/** What the nodes module needs of the broker: nudge an agent, and cut its connection. */
export interface AgentLink {
  /** Sends a command to the node's agent (best effort: agents also refresh on their own). */
  notify: NodeNotifier;
  /** Closes the node's MQTT connection(s) now. */
  disconnect(nodeId: string): Promise<void> | void;
}

/** Job states that still need the node (anything but finished, failed or cancelled). */
export const PENDING_JOB_STATES = ['queued', 'claimed', 'recording', 'uploading', 'lost_contact'] as const;

export function tagsOf(node: Pick<NodeRow, 'tags'>): string[] {
  try {
    const parsed: unknown = JSON.parse(node.tags);
    return Array.isArray(parsed) ? parsed.filter((t): t is string => typeof t === 'string') : [];
  } catch {
    return [];
  }
}

/** The fields an operator edits, as audited before and after. */
function editable(node: NodeRow) {
  return {
    name: node.name,
    site: node.site.name,
    tags: tagsOf(node),
    location: node.location,
    notes: node.notes,
    recordingProfileId: node.recordingProfileId,
    watchdogPolicyId: node.watchdogPolicyId,
  };
}

/** What the agent applies: a change to any of these nudges it to refetch its config. */
const AGENT_FIELDS = ['name', 'siteId', 'recordingProfileId', 'watchdogPolicyId'] as const;

type Dependents = Awaited<ReturnType<NodesRepository['dependents']>>;

/** What still keeps a node from being deleted, in words; empty when nothing does. */
function blockersOf(d: Dependents): string[] {
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  const out: string[] = [];
  const jobs = d.jobs.reduce((sum, j) => sum + j.count, 0);
  if (jobs > 0)
    out.push(
      `${plural(jobs, 'recording job is', 'recording jobs are')} still pending (${d.jobs
        .map((j) => `${j.count} ${j.state}`)
        .join(', ')}): stop their recordings`,
    );
  if (d.schedules > 0)
    out.push(`${plural(d.schedules, 'schedule targets', 'schedules target')} it: remove it from them`);
  if (d.recordings > 0)
    out.push(
      `${plural(d.recordings, 'recording is', 'recordings are')} kept with it: a node with ` +
        'recordings stays decommissioned',
    );
  return out;
}

export class NodeManagementService {
  constructor(
    private readonly deps: {
      db: Db;
      repo: NodesRepository;
      nodes: NodesService;
      audit: AuditWriter;
      link: AgentLink;
      results: CommandResultLog;
      log: Pick<Logger, 'warn'>;
      now: () => Date;
      /** `node.changed` after an edit, a decommission or a delete commits. */
      changes?: ChangeFeed;
    },
  ) {}

  /** Announces a committed change of the node (to its site's readers; a move to both sites'). */
  private changed(node: { id: string; siteId: string }, what: string, data: Record<string, unknown> = {}) {
    this.deps.changes?.publish({
      type: 'node.changed',
      at: this.deps.now(),
      scope: { siteId: node.siteId, nodeId: node.id },
      subject: { type: 'node', id: node.id },
      data: { change: what, ...data },
    });
  }

  async update(nodeId: string, body: UpdateNodeBody, ctx: CallContext): Promise<NodeRow> {
    const principal = userOf(ctx.principal);
    const { db, repo, nodes, audit } = this.deps;
    const node = await nodes.visibleNode(principal, 'node:manage', nodeId);
    await nodes.settings.check(body, node);
    const updated = await retryOnUniqueViolation(() =>
      db.$transaction(async (tx) => {
        const moving = body.site !== undefined && body.site !== node.site.name;
        const siteId = moving ? await this.siteFor(tx, principal, body.site!) : undefined;
        const row = await repo.update(tx, nodeId, {
          ...(body.name !== undefined ? { name: body.name } : {}),
          ...(siteId !== undefined ? { siteId } : {}),
          ...(body.tags !== undefined ? { tags: JSON.stringify(body.tags) } : {}),
          ...(body.location !== undefined ? { location: body.location } : {}),
          ...(body.notes !== undefined ? { notes: body.notes } : {}),
          ...(body.recordingProfileId !== undefined ? { recordingProfileId: body.recordingProfileId } : {}),
          ...(body.watchdogPolicyId !== undefined ? { watchdogPolicyId: body.watchdogPolicyId } : {}),
        });
        await audit.recordChange(tx, ctx, {
          permission: 'node:manage',
          action: 'node.update',
          target: { type: 'node', id: nodeId },
          before: editable(node),
          after: editable(row),
          // Where it was: a move is seen by the auditors of the site it leaves.
          scope: { siteId: node.siteId, nodeId },
        });
        return row;
      }),
    );
    if (updated.siteId !== node.siteId) this.changed(node, 'moved', { toSiteId: updated.siteId });
    this.changed(updated, 'updated', { name: updated.name });
    // The agent's config carries these; labels and notes it does not use.
    if (AGENT_FIELDS.some((field) => updated[field] !== node[field])) await this.nudge(updated);
    return updated;
  }

  /** The site named `name`, created when the caller may manage the whole fleet (as enroll does). */
  private async siteFor(tx: Tx, principal: UserPrincipal, name: string): Promise<string> {
    const site = await this.deps.repo.findSiteByName(tx, name);
    if (site && principal.access.allows('node:manage', { siteId: site.id })) return site.id;
    if (!principal.access.hasFleet('node:manage'))
      throw forbidden(
        `You cannot move nodes into site "${name}": you need node:manage there ` +
          '(creating a new site needs node:manage over the whole fleet).',
        { permission: 'node:manage', reason: `move into site "${name}" outside the caller's scope` },
      );
    return (site ?? (await this.deps.repo.createSite(tx, name))).id;
  }

  private async nudge(node: NodeRow): Promise<void> {
    if (node.decommissionedAt || !node.credentialHash) return;
    await this.deps.link.notify(node.id, 'config-changed');
  }

  /** What the caller can do with the node now, each with the reason when not. */
  async actions(nodeId: string, principal: Principal) {
    const node = await this.deps.nodes.visibleNode(principal, 'node:read', nodeId);
    const scope = { siteId: node.siteId, nodeId };
    const may = (p: Permission) => principal.kind === 'user' && principal.access.allows(p, scope);
    const gate = (permission: Permission, ok: boolean, why: string) =>
      may(permission)
        ? { allowed: ok, reason: ok ? null : why }
        : { allowed: false, reason: `needs ${permission} on this node` };
    const retired = node.decommissionedAt !== null;
    const blockers =
      retired && may('node:manage')
        ? blockersOf(await this.deps.repo.dependents(this.deps.db, nodeId, PENDING_JOB_STATES))
        : [];
    return {
      update: gate('node:manage', true, ''),
      rotateCredential: gate(
        'node:manage',
        !retired && node.credentialHash !== null,
        retired ? 'the node is decommissioned' : 'the node has not enrolled yet',
      ),
      decommission: gate('node:manage', !retired, 'already decommissioned'),
      delete: gate(
        'node:manage',
        retired && blockers.length === 0,
        retired ? blockers.join('; ') : 'decommission the node first',
      ),
      record: gate('recording:create', !retired, 'the node is decommissioned'),
      lifecycle: gate(
        'node:manage',
        !retired && node.credentialHash !== null,
        retired ? 'the node is decommissioned' : 'the node has not enrolled yet',
      ),
    };
  }

  /**
   * Retires the node: its credential is revoked (HTTP and MQTT refuse it from now on), its MQTT
   * connection is closed at once, its recordings are kept.
   */
  async decommission(nodeId: string, ctx: CallContext): Promise<NodeRow> {
    const { db, repo, nodes, audit, now } = this.deps;
    const node = await nodes.visibleNode(ctx.principal, 'node:manage', nodeId);
    if (node.decommissionedAt)
      throw conflict(`Node ${nodeId} was already decommissioned at ${node.decommissionedAt.toISOString()}.`);
    const at = now();
    await db.$transaction(async (tx) => {
      if (!(await repo.decommission(tx, nodeId, at)))
        throw conflict(`Node ${nodeId} was decommissioned concurrently.`);
      await audit.recordChange(tx, ctx, {
        permission: 'node:manage',
        action: 'node.decommission',
        target: { type: 'node', id: nodeId },
        before: { decommissionedAt: null, credentialHint: node.credentialHint },
        after: { decommissionedAt: at, credential: 'revoked' },
      });
    });
    this.changed(node, 'decommissioned');
    try {
      await this.deps.link.disconnect(nodeId);
    } catch (err) {
      this.deps.log.warn({ err, nodeId }, 'could not close the decommissioned node’s MQTT connection');
    }
    await nodes.setPresence(nodeId, false);
    return (await repo.find(nodeId))!;
  }

  /** Deletes a decommissioned node nothing depends on; a 409 names what still does. */
  async remove(nodeId: string, ctx: CallContext): Promise<void> {
    const { db, repo, nodes, audit } = this.deps;
    const node = await nodes.visibleNode(ctx.principal, 'node:manage', nodeId);
    if (!node.decommissionedAt)
      throw conflict(`Node ${nodeId} is in service: decommission it before deleting it.`);
    await db.$transaction(async (tx) => {
      const dependents = await repo.dependents(tx, nodeId, PENDING_JOB_STATES);
      const blockers = blockersOf(dependents);
      if (blockers.length > 0)
        throw conflict(`Node ${nodeId} cannot be deleted: ${blockers.join('; ')}.`, dependents);
      const removed = await repo.deleteDecommissioned(tx, nodeId);
      if (removed === undefined) throw conflict(`Node ${nodeId} changed meanwhile; fetch it and try again.`);
      await audit.recordChange(tx, ctx, {
        permission: 'node:manage',
        action: 'node.delete',
        target: { type: 'node', id: nodeId },
        before: { ...editable(node), decommissionedAt: node.decommissionedAt },
        after: { recordingsWithoutAudioRemoved: removed },
        scope: { siteId: node.siteId, nodeId },
      });
    });
    this.changed(node, 'deleted');
    this.deps.results.forget(nodeId);
  }

  listByIds(principal: Principal, ids: string[]): Promise<NodeRow[]> {
    return this.deps.repo.findMany(userOf(principal).access.filter('node:read'), ids);
  }

  /** An export leaves the controller: audited once, with how many nodes and the format. */
  async recordExport(ctx: CallContext, summary: ExportSummary): Promise<void> {
    await this.deps.audit.recordAlone(exportEvent(ctx, 'node:read', 'node.export', summary));
  }

  async commandResults(nodeId: string, principal: Principal) {
    await this.deps.nodes.visibleNode(principal, 'node:read', nodeId);
    return this.deps.results.of(nodeId);
  }
}

function userOf(principal: Principal): UserPrincipal {
  if (principal.kind !== 'user') throw forbidden('users only');
  return principal;
}
