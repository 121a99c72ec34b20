/**
 * The lifecycle of a health event, as pure rules: open → acknowledged → resolved, suppressed
 * until a time (then open again by itself), reopened. A transition the event's status does not
 * allow is a 409 that says why; the routes and the bulk action share these rules.
 */
import { badRequest, conflict } from '../../core/errors.js';
import type { Prisma } from '../../db/rows.js';
import type { HealthStatus, LifecycleAction, TransitionInput } from './health.schemas.js';

/** A suppression may last this long at most. */
export const MAX_SUPPRESS_MS = 90 * 24 * 3600_000;

type LifecycleRow = { status: string; suppressedUntil: Date | null; acknowledgedBy: string | null };

/** The status now: a suppression whose time has passed reads as open. */
export function effectiveStatus(
  row: Pick<LifecycleRow, 'status' | 'suppressedUntil'>,
  now: Date,
): HealthStatus {
  if (row.status === 'suppressed' && (!row.suppressedUntil || row.suppressedUntil <= now)) return 'open';
  return row.status as HealthStatus;
}

/** Which statuses each action starts from. */
const FROM: Record<LifecycleAction, readonly HealthStatus[]> = {
  acknowledge: ['open'],
  suppress: ['open', 'acknowledged', 'suppressed'],
  resolve: ['open', 'acknowledged', 'suppressed'],
  reopen: ['acknowledged', 'suppressed', 'resolved'],
};

/** Why `action` is not allowed now; null when it is. */
export function refusal(row: LifecycleRow, action: LifecycleAction, now: Date): string | null {
  const status = effectiveStatus(row, now);
  if (FROM[action].includes(status)) return null;
  if (action === 'reopen') return 'The event is already open.';
  if (status === 'resolved') return `The event is resolved: reopen it before you ${action} it.`;
  if (status === 'acknowledged')
    return `The event is already acknowledged${row.acknowledgedBy ? ` by ${row.acknowledgedBy}` : ''}.`;
  return `The event is suppressed until ${row.suppressedUntil?.toISOString()}: reopen it first, or resolve it.`;
}

/** The columns a transition sets; throws 409 when not allowed now, 400 for a bad `until`. */
export function transition(
  row: LifecycleRow,
  action: LifecycleAction,
  input: TransitionInput,
  now: Date,
  actorName: string | null,
): Prisma.HealthEventUpdateInput {
  const refused = refusal(row, action, now);
  if (refused) throw conflict(refused, { status: effectiveStatus(row, now), action });
  switch (action) {
    case 'acknowledge':
      return { status: 'acknowledged', acknowledgedBy: actorName, acknowledgedAt: now };
    case 'suppress':
      return { status: 'suppressed', suppressedUntil: suppressUntil(input.until, now) };
    case 'resolve':
      return { status: 'resolved', resolvedAt: now, suppressedUntil: null };
    case 'reopen':
      return {
        status: 'open',
        resolvedAt: null,
        suppressedUntil: null,
        acknowledgedBy: null,
        acknowledgedAt: null,
      };
  }
}

function suppressUntil(until: string | undefined, now: Date): Date {
  if (!until) throw badRequest('`until` is required to suppress an event');
  const at = new Date(until);
  if (at <= now) throw badRequest('`until` must be in the future');
  if (at.getTime() - now.getTime() > MAX_SUPPRESS_MS) throw badRequest('`until` is at most 90 days ahead');
  return at;
}
