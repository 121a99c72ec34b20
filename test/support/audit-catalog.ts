/**
 * Checks stored audit events against the action catalog (controller/src/core/audit-actions.ts):
 * every action is catalogued (under its name or an old one) or is a central HTTP denial, and
 * its target is of the catalogued type (or absent).
 */
import {
  AUDIT_ACTIONS,
  type AuditActionInfo,
  canonicalAuditAction,
  HTTP_DENIAL_ACTION,
  isCatalogAuditAction,
} from '../../controller/src/core/audit-actions.js';
import type { Db } from '../../controller/src/db/client.js';

/** One line per distinct (action, target type) stored that the catalog does not allow. */
export async function uncataloguedEvents(db: Db): Promise<string[]> {
  const groups = await db.auditEvent.groupBy({ by: ['action', 'targetType'] });
  const problems: string[] = [];
  for (const { action, targetType } of groups) {
    if (HTTP_DENIAL_ACTION.test(action)) continue;
    const name = canonicalAuditAction(action);
    if (!isCatalogAuditAction(name)) {
      problems.push(`${action}: not in the audit action catalog`);
      continue;
    }
    const { target } = AUDIT_ACTIONS[name] as AuditActionInfo;
    const allowed: readonly (string | null)[] =
      target === null ? [] : typeof target === 'string' ? [target] : target;
    if (targetType !== null && !allowed.includes(targetType))
      problems.push(`${action}: target type ${targetType}, catalogued as ${JSON.stringify(target)}`);
  }
  return problems;
}
