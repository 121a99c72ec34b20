/**
 * The controller's own health event for a node that went away: every few seconds, each
 * enrolled node in service that is neither connected (its last will marks it offline at once)
 * nor heard from by heartbeat within 45 s gets one open `node_offline` event; once it is back,
 * the event resolves. The event id is made of the node and its last sign of life, so replicas
 * watching the same node raise the same event, and it is stored once.
 */
import type { Logger } from '../../core/logger.js';
import type { OpsLog } from '../../core/ops-log.js';
import { PeriodicTask } from '../../platform/periodic-task.js';
import type { NodesService } from '../nodes/index.js';
import type { HealthRepository } from './health.repository.js';
import type { HealthReports } from './health-reports.js';

export const NODE_WATCH_MS = 5000;

export class NodeOfflineWatch {
  private readonly task: PeriodicTask;

  constructor(
    private readonly deps: {
      nodes: NodesService;
      repo: HealthRepository;
      reports: HealthReports;
      now: () => Date;
      log: Logger;
      /** Failed passes for the operational event log. */
      ops?: OpsLog;
    },
  ) {
    this.task = new PeriodicTask({
      what: 'node offline watch',
      pass: () => this.pass(),
      log: deps.log,
      ops: deps.ops,
      intervalMs: NODE_WATCH_MS,
      passAtStart: false,
    });
  }

  start(): void {
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  /** One pass over the nodes (single-flight); failures are logged, the next pass tries again. */
  sweep(): Promise<void> {
    return this.task.tick();
  }

  private async pass(): Promise<void> {
    const { nodes, repo, reports } = this.deps;
    const now = this.deps.now();
    // Two queries a pass, whatever the fleet's size: a query per node every 5 s held the event
    // loop for half a second at 1,000 nodes.
    const unresolved = await repo.unresolvedByNode('node_offline');
    for (const node of await nodes.presences()) {
      const open = unresolved.get(node.id) ?? [];
      if (!node.online && open.length === 0 && node.lastSeenAt) {
        const since = node.lastSeenAt;
        await reports.raise(node.id, {
          id: `node-offline-${node.id}-${since.getTime()}`.slice(0, 64),
          type: 'node_offline',
          severity: 'critical',
          state: 'open',
          message: `node ${node.name} is offline: not connected, last heard from at ${since.toISOString()}`,
          values: { lastSeenAt: since.toISOString() },
          firstSeenAt: since.toISOString(),
          lastSeenAt: now.toISOString(),
          count: 1,
        });
      }
      if (node.online)
        for (const event of open)
          await reports.raise(node.id, {
            id: event.id,
            type: 'node_offline',
            severity: 'critical',
            state: 'resolved',
            message: `node ${node.name} is back online`,
            firstSeenAt: event.firstSeenAt.toISOString(),
            lastSeenAt: now.toISOString(),
            count: event.count,
          });
    }
  }
}
