/**
 * Bulk actions answer per item: each id is acted on in turn, in its own transaction, and one
 * item's refusal does not stop the others. An application error is that item's answer, with the
 * status it alone would have had; an item outside the caller's scope answers like one that does
 * not exist. Every refusal is audited per item (`refusalEvent`): a denial, or a failure.
 */
import Type from 'typebox';
import type { Permission } from '../../../shared/src/permissions.js';
import type { AuditInput } from './audit.types.js';
import type { AuditAction } from './audit-actions.js';
import { AppError } from './errors.js';
import { actorOf, type CallContext } from './principal.js';

export interface BulkItem<T> {
  id: string;
  ok: boolean;
  status: number;
  error?: { code: string; message: string };
  /** What the action returned for the item, when it succeeded. */
  value?: T;
}

/**
 * Runs `act` on each id in turn. An `AppError` becomes that item's answer after `refused` has
 * recorded it; any other error (the database gone) is thrown: the items before it stay done.
 */
export async function eachItem<T>(
  ids: readonly string[],
  act: (id: string) => Promise<T>,
  refused: (id: string, error: AppError) => Promise<void>,
): Promise<BulkItem<T>[]> {
  const results: BulkItem<T>[] = [];
  for (const id of ids) {
    try {
      results.push({ id, ok: true, status: 200, value: await act(id) });
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      await refused(id, error);
      results.push({
        id,
        ok: false,
        status: error.statusCode,
        error: { code: error.code, message: error.message },
      });
    }
  }
  return results;
}

/** The audit event of one refused item: a denial when it was outside the scope, else a failure. */
export function refusalEvent(
  ctx: CallContext,
  permission: Permission,
  action: AuditAction,
  target: { type: string; id: string },
  error: AppError,
): AuditInput {
  return {
    actor: actorOf(ctx.principal),
    permission,
    action,
    target,
    outcome: error.denial ? 'denied' : 'failure',
    reason: error.denial?.reason ?? error.message,
    context: ctx.request,
  };
}

/** The answer of a bulk route: each item's outcome, in the order asked, and the counts. */
export const BulkResult = Type.Object({
  results: Type.Array(
    Type.Object({
      id: Type.String(),
      ok: Type.Boolean(),
      /** The HTTP status the item alone would have had (200, 404, 409…). */
      status: Type.Integer(),
      error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
    }),
  ),
  succeeded: Type.Integer(),
  failed: Type.Integer(),
});

/** `BulkResult` of `eachItem`'s outcomes (each item's value left out: the caller reads what it needs). */
export function bulkResult<T>(items: readonly BulkItem<T>[]) {
  const succeeded = items.filter((r) => r.ok).length;
  return {
    results: items.map(({ id, ok, status, error }) => ({ id, ok, status, ...(error ? { error } : {}) })),
    succeeded,
    failed: items.length - succeeded,
  };
}
