/**
 * Live meters: frames from agents into the store, and reads of them for users,
 * scoped like the node they belong to (a node outside the caller's scope is a 404).
 * Streams are audited once when they open, never per frame.
 */

import type { MeterFrame } from '../../../../shared/src/mqtt.js';
import { type AgentInbox, senderOf } from '../../core/agent-inbox.js';
import type { AuditWriter } from '../../core/audit.types.js';
import { badRequest, forbidden, notFound } from '../../core/errors.js';
import type { NodeDirectory, NodeIdentity } from '../../core/node-directory.js';
import { actorOf, type CallContext, type Principal, type UserPrincipal } from '../../core/principal.js';
import { visibleTo } from '../../core/visible.js';
import type { Metrics } from '../../metrics.js';
import { DecimatedSubscription, type MeterFrames } from './meters.rate.js';
import { MAX_METER_STREAM_NODES } from './meters.schemas.js';
import { MeterReading, type MeterStore } from './meters.store.js';

/** What a meter stream carries: which nodes (all the caller may read when absent), how often. */
export interface MeterStreamOptions {
  nodeIds?: string[];
  /** Frames per node per second: 1 folds each second's frames into one; 10 passes every frame. */
  rate?: 1 | 10;
}

export interface MeterSnapshot {
  nodeId: string;
  frame: MeterFrame | null;
  receivedAt: string | null;
}

export class MetersService {
  constructor(
    private readonly store: MeterStore,
    private readonly directory: Pick<NodeDirectory, 'scopeOf'>,
    private readonly audit: Pick<AuditWriter, 'recordAlone'>,
    private readonly metrics: Metrics,
    private readonly inbox: AgentInbox,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** A frame an agent published (already validated against the shared schema). */
  record(from: NodeIdentity, frame: MeterFrame): void {
    this.store.put(new MeterReading(from.nodeId, from.siteId, frame, this.now().getTime()));
    this.metrics.meterFrames.inc();
  }

  /**
   * A frame the agent sent over HTTP, its MQTT connection being down (AGENT_ROUTES.meterFrame):
   * its own node's only, then handled as one it published.
   */
  async ingest(ctx: CallContext, nodeId: string, frame: MeterFrame): Promise<void> {
    await this.inbox(senderOf(ctx.principal, nodeId, 'node:control'), 'meters', frame);
  }

  async latest(principal: Principal, nodeId: string): Promise<MeterSnapshot> {
    await this.visibleNode(principal, nodeId);
    const reading = this.store.latestOf(nodeId);
    return {
      nodeId,
      frame: reading?.frame ?? null,
      receivedAt: reading ? new Date(reading.receivedAtMs).toISOString() : null,
    };
  }

  /**
   * Frames of every node the caller may read (or of the nodes named, each checked: one outside
   * the caller's scope refuses the whole stream), from now on. At `rate: 1` a node's frames are
   * folded into one a second (meters.rate.ts); at 10 (the default) every frame is passed on.
   */
  async openStream(ctx: CallContext, options: MeterStreamOptions = {}): Promise<MeterFrames> {
    const user = this.userOf(ctx.principal);
    const nodeIds = options.nodeIds === undefined ? undefined : [...new Set(options.nodeIds)];
    if (nodeIds !== undefined && nodeIds.length > MAX_METER_STREAM_NODES)
      throw badRequest(`A meter stream names at most ${MAX_METER_STREAM_NODES} nodes.`);
    if (nodeIds !== undefined) for (const nodeId of nodeIds) await this.visibleNode(user, nodeId);
    await this.audit.recordAlone({
      actor: actorOf(user),
      permission: 'node:read',
      action: 'meters.stream_open',
      target: nodeIds?.length === 1 ? { type: 'node', id: nodeIds[0]! } : null,
      outcome: 'success',
      context: ctx.request,
    });
    const subscription = this.store.subscribe(this.acceptsFor(user, nodeIds));
    return options.rate === 1 ? new DecimatedSubscription(subscription) : subscription;
  }

  /** Which readings a stream passes: the nodes named, or every node the user may read. */
  private acceptsFor(user: UserPrincipal, nodeIds: string[] | undefined): (reading: MeterReading) => boolean {
    if (nodeIds !== undefined) {
      const wanted = new Set(nodeIds);
      return (reading) => wanted.has(reading.nodeId);
    }
    const access = user.access;
    // The answer per node, kept for the stream's life (its access set is fixed when it opens): a
    // fleet's frames ask it thousands of times a second.
    const allowed = new Map<string, { siteId: string; ok: boolean }>();
    return (reading) => {
      let known = allowed.get(reading.nodeId);
      if (known?.siteId !== reading.siteId) {
        // First frame of the node, or it moved to another site.
        const ok = access.allows('node:read', { siteId: reading.siteId, nodeId: reading.nodeId });
        known = { siteId: reading.siteId, ok };
        allowed.set(reading.nodeId, known);
      }
      return known.ok;
    };
  }

  private userOf(principal: Principal): UserPrincipal {
    if (principal.kind !== 'user') throw forbidden('Meter reads are for users.');
    return principal;
  }

  private async visibleNode(principal: Principal, nodeId: string): Promise<void> {
    const user = this.userOf(principal);
    const scope = await this.directory.scopeOf(nodeId);
    if (!scope) throw notFound('node');
    visibleTo(user, 'node:read', scope, scope, { name: 'node', target: { type: 'node', id: nodeId } });
  }
}
