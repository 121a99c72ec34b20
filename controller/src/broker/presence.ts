/**
 * Agent presence from the retained `status` topic (and the agent's last will, which
 * is the same message published by the broker when the connection drops). Updates
 * reach the node directory one at a time per node, in arrival order, so a quick
 * online → offline never lands as online.
 */

import type { NodeStatus } from '../../../shared/src/mqtt.js';
import type { Logger } from '../core/logger.js';
import type { NodeDirectory, NodeIdentity } from '../core/node-directory.js';

export class PresenceTracker {
  private readonly pending = new Map<string, Promise<void>>();

  constructor(
    private readonly directory: Pick<NodeDirectory, 'setPresence'>,
    private readonly log: Logger,
  ) {}

  report(from: NodeIdentity, status: NodeStatus): Promise<void> {
    const { nodeId } = from;
    const online = status.state === 'online';
    const previous = this.pending.get(nodeId) ?? Promise.resolve();
    const next = previous
      .then(() => this.directory.setPresence(nodeId, online, status.agentVersion))
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
