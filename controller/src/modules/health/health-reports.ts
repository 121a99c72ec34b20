/**
 * Agents' health reports, from the MQTT `events` topic (the broker's dispatch) and the HTTP
 * fallback: upserted by event id (health-ingest.ts), so a re-sent report is stored once. A new
 * event, and one that clears or comes back, is audited with the node as actor; a report that
 * only moves last-seen and the count is telemetry. A bad report is refused over HTTP (400/409)
 * and dropped over MQTT (logged, never stored).
 */
import type { HealthEventSyncResult } from '../../../../shared/src/agent-api.js';
import type { HealthEventMessage } from '../../../../shared/src/mqtt.js';
import { AppError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { NodeIdentity } from '../../core/node-directory.js';
import { type CallContext, SYSTEM } from '../../core/principal.js';
import type { Db } from '../../db/client.js';
import { retryOnUniqueViolation } from '../../db/unique.js';
import type { NodesService } from '../nodes/index.js';
import type { HealthEventRow, HealthRepository } from './health.repository.js';
import type { HealthChangeType, HealthService } from './health.service.js';
import { planIngest } from './health-ingest.js';

export class HealthReports {
  constructor(
    private readonly deps: {
      db: Db;
      repo: HealthRepository;
      health: HealthService;
      nodes: NodesService;
      log: Logger;
    },
  ) {}

  /** The HTTP fallback: the agent may report only for its own node (another is a hidden 404). */
  async report(nodeId: string, report: HealthEventMessage, ctx: CallContext): Promise<HealthEventSyncResult> {
    await this.deps.nodes.visibleNode(ctx.principal, 'health:acknowledge', nodeId);
    return this.upsert(nodeId, report, ctx);
  }

  /** A validated message on `earshot/v1/nodes/{id}/events` (the ACL made sure it is the node's own). */
  async onMessage(from: NodeIdentity, report: HealthEventMessage): Promise<void> {
    const ctx: CallContext = { principal: { kind: 'node', ...from }, request: {} };
    try {
      await this.upsert(from.nodeId, report, ctx);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      this.deps.log.warn(
        { nodeId: from.nodeId, eventId: report.id, err: err.message },
        'health event report dropped',
      );
    }
  }

  /**
   * An event the controller raises or clears itself (node offline…): audited as the system.
   * `nodeId` null: a condition of the controller itself (audit_chain), fleet-wide.
   */
  raise(nodeId: string | null, report: HealthEventMessage): Promise<HealthEventSyncResult> {
    return this.upsert(nodeId, report, { principal: SYSTEM, request: {} }, 'controller');
  }

  private async upsert(
    nodeId: string | null,
    report: HealthEventMessage,
    ctx: CallContext,
    source: 'agent' | 'controller' = 'agent',
  ): Promise<HealthEventSyncResult> {
    const { db, repo, health } = this.deps;
    let committed: { type: HealthChangeType; row: HealthEventRow; why: string } | undefined;
    // Two deliveries racing to create the same event: the loser runs again and finds it.
    const result = await retryOnUniqueViolation(() =>
      db.$transaction(async (tx) => {
        committed = undefined;
        await health.lock(tx, report.id);
        const existing = await repo.find(report.id, tx);
        const plan = planIngest(nodeId, existing, report, source);
        if (plan.kind === 'unchanged')
          return { id: report.id, outcome: 'unchanged' as const, status: health.present(existing!).status };
        const row =
          plan.kind === 'create'
            ? await repo.create(tx, { ...plan.data, nodeId })
            : await repo.update(tx, report.id, plan.data);
        if (plan.kind === 'create' || plan.change) {
          const why = plan.kind === 'create' ? 'reported' : plan.change === 'resolved' ? 'cleared' : 'back';
          await health.recordAudit(tx, ctx, 'health_event.report', row, existing ?? undefined, why);
          const type = row.status === 'resolved' ? 'health.resolved' : 'health.opened';
          committed = { type, row, why };
        }
        const outcome = plan.kind === 'create' ? ('created' as const) : ('updated' as const);
        return { id: row.id, outcome, status: health.present(row).status };
      }),
    );
    // A new event, one that cleared or came back: announced once committed (telemetry is not).
    if (committed) health.publish(committed.type, [committed.row], committed.why);
    return result;
  }
}
