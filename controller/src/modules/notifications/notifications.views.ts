/**
 * How an integration and a delivery are shown: to API callers (no URL path, the secret only as
 * set-or-not and a hint) and to the audit trail (less still). The service and the outbox both
 * record integration changes, so both read these.
 */
import type { NotificationDelivery, NotificationIntegration } from './notifications.repository.js';
import { parseRules } from './notifications.rules.js';
import type { IntegrationKind, IntegrationStatus, IntegrationView } from './notifications.schemas.js';

const iso = (d: Date | null) => d?.toISOString() ?? null;

export function presentIntegration(row: NotificationIntegration): IntegrationView {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind as IntegrationKind,
    status: row.status as IntegrationStatus,
    url: row.urlHint,
    secret: { set: row.secret !== null, hint: row.secret === null ? null : row.secretHint },
    rules: parseRules(row.rules),
    quietSeconds: row.quietSeconds,
    verifiedAt: iso(row.verifiedAt),
    lastVerification: row.lastVerifyAt
      ? {
          ok: row.lastVerifyError === null,
          at: row.lastVerifyAt.toISOString(),
          status: row.lastVerifyStatus,
          error: row.lastVerifyError,
          durationMs: row.lastVerifyMs ?? 0,
        }
      : null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** What the audit trail keeps: no URL path, no secret (only whether one is set). */
export function auditView(row: NotificationIntegration) {
  const { secret, lastVerification: _l, createdAt: _c, updatedAt: _u, ...rest } = presentIntegration(row);
  return { ...rest, secretSet: secret.set };
}

export function presentDelivery(row: NotificationDelivery) {
  return {
    id: row.id,
    event: row.event,
    status: row.status as 'pending' | 'delivered' | 'failed',
    attempts: row.attempts,
    nextAttemptAt: row.status === 'pending' ? row.nextAttemptAt.toISOString() : null,
    lastStatus: row.lastStatus,
    lastError: row.lastError,
    createdAt: row.createdAt.toISOString(),
    deliveredAt: iso(row.deliveredAt),
    body: row.body,
  };
}
