/**
 * What an agent's report does to the stored event of its id, as a pure plan: create it, update
 * it (a later report: last seen, count, values; cleared or back again), or nothing (a re-send or
 * an older report arriving late). Reports are keyed by the reporter's event id, so the MQTT topic
 * and the HTTP fallback can both deliver one, any number of times.
 */
import type { HealthEventMessage } from '../../../../shared/src/mqtt.js';
import { badRequest, conflict } from '../../core/errors.js';
import type { HealthEvent, Prisma } from '../../db/rows.js';

export type IngestPlan =
  | { kind: 'create'; data: Omit<Prisma.HealthEventUncheckedCreateInput, 'nodeId'> }
  | { kind: 'update'; data: Prisma.HealthEventUpdateInput; change: 'resolved' | 'reopened' | null }
  | { kind: 'unchanged' };

/** Refuses a report that contradicts itself or its node (400), or names another node's event (409). */
export function checkReport(nodeId: string | null, report: HealthEventMessage): void {
  if (report.nodeId !== undefined && report.nodeId !== nodeId)
    throw badRequest(`the report names node ${report.nodeId}, but comes from node ${nodeId}`);
  if (new Date(report.firstSeenAt) > new Date(report.lastSeenAt))
    throw badRequest('firstSeenAt is after lastSeenAt');
}

function reported(report: HealthEventMessage) {
  return {
    severity: report.severity,
    channel: report.channel ?? null,
    message: report.message,
    measured: JSON.stringify(report.values ?? {}),
    lastSeenAt: new Date(report.lastSeenAt),
  };
}

export function planIngest(
  nodeId: string | null,
  existing: HealthEvent | null,
  report: HealthEventMessage,
  source: 'agent' | 'controller' = 'agent',
): IngestPlan {
  checkReport(nodeId, report);
  const resolved = report.state === 'resolved';
  if (!existing)
    return {
      kind: 'create',
      data: {
        id: report.id,
        type: report.type,
        ...reported(report),
        status: resolved ? 'resolved' : 'open',
        resolvedAt: resolved ? new Date(report.lastSeenAt) : null,
        firstSeenAt: new Date(report.firstSeenAt),
        count: report.count,
        source,
      },
    };
  if (existing.nodeId !== nodeId) throw conflict(`health event ${report.id} belongs to another node`);
  if (existing.type !== report.type)
    throw conflict(`health event ${report.id} is a ${existing.type} event, not ${report.type}`);
  const at = new Date(report.lastSeenAt).getTime();
  const stored = existing.lastSeenAt.getTime();
  const wasResolved = existing.status === 'resolved';
  // Older than what is stored, or the same report again: nothing to change.
  if (at < stored || (at === stored && report.count <= existing.count && resolved === wasResolved))
    return { kind: 'unchanged' };
  const change = resolved && !wasResolved ? 'resolved' : !resolved && wasResolved ? 'reopened' : null;
  return {
    kind: 'update',
    change,
    data: {
      ...reported(report),
      count: Math.max(report.count, existing.count),
      ...(change === 'resolved'
        ? { status: 'resolved', resolvedAt: new Date(report.lastSeenAt), suppressedUntil: null }
        : {}),
      ...(change === 'reopened' ? { status: 'open', resolvedAt: null } : {}),
    },
  };
}
