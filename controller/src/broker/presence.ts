/**
 * Agent presence from the retained `status` topic (and the agent's last will, which is the
 * same message published by the broker when the connection drops), ordered by connection
 * epoch (connection-epochs.ts): a status of an older connection than one already seen, or an
 * `offline` of an older connection than the newest handed out, is stale and changes nothing.
 *
 * Two ways in: `report` for a status this replica received from its own connected agent (the
 * one writer: last seen in the database, the change feed, what waited for the agent), and
 * `observe` for a status any replica passed on (clustered: memory only, so every replica knows
 * every node's presence). Updates reach the node directory one at a time per node, in arrival
 * order, so a quick online → offline never lands as online.
 */

import type { NodeStatus } from '../../../shared/src/mqtt.js';
import type { Logger } from '../core/logger.js';
import type { NodeDirectory, NodeIdentity } from '../core/node-directory.js';
import type { ConnectionEpochs } from './connection-epochs.js';

export class PresenceTracker {
  private readonly pending = new Map<string, Promise<void>>();
  /** The newest epoch whose status this replica applied, and that status, by node. */
  private readonly applied = new Map<string, { epoch: number; online: boolean }>();

  constructor(
    private readonly directory: Pick<NodeDirectory, 'setPresence' | 'markPresence'>,
    private readonly epochs: ConnectionEpochs,
    private readonly log: Logger,
  ) {}

  /** A connection of the node was authenticated here: its epoch. */
  connected(nodeId: string): Promise<number> {
    return this.epochs.next(nodeId);
  }

  /**
   * Whether a status of connection `epoch` is stale: older than one applied here, an `online`
   * of a connection already seen offline (it ended), or an `offline` older than the node's
   * newest connection anywhere.
   */
  async isStale(nodeId: string, epoch: number, state: NodeStatus['state']): Promise<boolean> {
    const applied = this.applied.get(nodeId);
    if (applied && epoch < applied.epoch) return true;
    if (applied && epoch === applied.epoch && !applied.online && state === 'online') return true;
    return state === 'offline' && epoch < (await this.epochs.current(nodeId));
  }

  /** A status from an agent connected here (or its will): recorded, announced. */
  report(from: NodeIdentity, status: NodeStatus, epoch: number): Promise<void> {
    return this.apply(from.nodeId, status, epoch, () =>
      this.directory.setPresence(from.nodeId, status.state === 'online', status.agentVersion),
    );
  }

  /** A status passed on by any replica (clustered): this replica's memory only. */
  observe(nodeId: string, status: NodeStatus, epoch: number): Promise<void> {
    return this.apply(nodeId, status, epoch, async () =>
      this.directory.markPresence(nodeId, status.state === 'online'),
    );
  }

  private apply(
    nodeId: string,
    status: NodeStatus,
    epoch: number,
    write: () => Promise<void>,
  ): Promise<void> {
    const previous = this.pending.get(nodeId) ?? Promise.resolve();
    const next = previous
      .then(async () => {
        if (await this.isStale(nodeId, epoch, status.state)) return;
        this.applied.set(nodeId, { epoch, online: status.state === 'online' });
        await write();
      })
      .catch((err: unknown) => this.log.error({ err, nodeId }, 'recording node presence failed'));
    this.pending.set(nodeId, next);
    void next.then(() => {
      if (this.pending.get(nodeId) === next) this.pending.delete(nodeId);
    });
    return next;
  }

  /** Waits for presence writes still in flight (before the database closes). */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending.values()]);
  }
}
