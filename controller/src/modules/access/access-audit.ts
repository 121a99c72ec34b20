/**
 * The audit event of a successful access-management change (a group, a role): made
 * by the caller under auth:manage, written inside the change's transaction so the two
 * commit or roll back together. Refusals are audited as denials by the error handler (`AccessGuard.refusalsAsDenials`).
 */

import type { AuditWriter } from '../../core/audit.types.js';
import type { AuditAction } from '../../core/audit-actions.js';
import type { CallContext } from '../../core/principal.js';
import type { Tx } from '../../db/client.js';

export interface AccessChange {
  action: AuditAction;
  target: { type: 'group' | 'role'; id: string };
  /** What the change replaced and what it made; absent where there is none (a creation, a deletion). */
  before?: unknown;
  after?: unknown;
}

export function recordAccessChange(
  audit: AuditWriter,
  tx: Tx,
  ctx: CallContext,
  change: AccessChange,
): Promise<string> {
  return audit.recordChange(tx, ctx, {
    permission: 'auth:manage',
    action: change.action,
    target: change.target,
    before: change.before,
    after: change.after,
  });
}
