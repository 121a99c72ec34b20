/**
 * Live meters: frames from agents into the store, and reads of them for users,
 * scoped like the node they belong to (a node outside the caller's scope is a 404).
 * Streams are audited once when they open, never per frame.
 */

import type { MeterFrame } from '../../../../shared/src/mqtt.js';
import type { AuditWriter } from '../../core/audit.types.js';
import { forbidden, notFound } from '../../core/errors.js';
import type { NodeDirectory, NodeIdentity } from '../../core/node-directory.js';
import { actorOf, type CallContext, type Principal, type UserPrincipal } from '../../core/principal.js';
import { visibleTo } from '../../core/visible.js';
import type { Metrics } from '../../metrics.js';
import { MeterReading, type MeterStore, type MeterSubscription } from './meters.store.js';

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
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** A frame an agent published (already validated against the shared schema). */
  record(from: NodeIdentity, frame: MeterFrame): void {
    this.store.put(new MeterReading(from.nodeId, from.siteId, frame, this.now().getTime()));
    this.metrics.meterFrames.inc();
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

  /** Frames of every node the caller may read (or of one node), from now on. */
  async openStream(ctx: CallContext, nodeId?: string): Promise<MeterSubscription> {
    const user = this.userOf(ctx.principal);
    if (nodeId !== undefined) await this.visibleNode(user, nodeId);
    await this.audit.recordAlone({
      actor: actorOf(user),
      permission: 'node:read',
      action: 'meters.stream_open',
      target: nodeId ? { type: 'node', id: nodeId } : null,
      outcome: 'success',
      context: ctx.request,
    });
    const access = user.access;
    // The answer per node, kept for the stream's life (its access set is fixed when it opens): a
    // fleet's frames ask it thousands of times a second.
    const allowed = new Map<string, { siteId: string; ok: boolean }>();
    return this.store.subscribe((reading) => {
      if (nodeId !== undefined) return reading.nodeId === nodeId;
      let known = allowed.get(reading.nodeId);
      if (known?.siteId !== reading.siteId) {
        // First frame of the node, or it moved to another site.
        const ok = access.allows('node:read', { siteId: reading.siteId, nodeId: reading.nodeId });
        known = { siteId: reading.siteId, ok };
        allowed.set(reading.nodeId, known);
      }
      return known.ok;
    });
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
