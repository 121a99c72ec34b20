/**
 * Typed application errors: services throw these, and the one error handler
 * (http/error-handler.ts) answers them with their status and code.
 */
import { ERROR_CODES, type ErrorCode } from '../../../shared/src/errors.js';
import type { Permission } from '../../../shared/src/permissions.js';
import type { Actor } from './audit.types.js';
import type { AuditAction } from './audit-actions.js';

/**
 * What the denial audit (http/denial-audit.ts) records for a refused request. Every 403, and
 * every 404 that hides an object the caller may not see, carries one: the one place that
 * audits denials reads it, whatever status the caller is shown.
 */
export interface Denial {
  /** Why, for the audit trail (not shown to the caller). */
  reason: string;
  /** The audited action (from the catalog); default `http.<method> <route>`. */
  action?: AuditAction;
  /** The permission the caller lacked; default the route's declared permission. */
  permission?: Permission;
  /** The object the caller was refused (its scope decides which auditors see the event). */
  target?: { type: string; id?: string | null } | null;
  /** Who, when not the request's principal (e.g. an enrollment token's node, a webhook). */
  actor?: Actor;
  /** The change that was refused. */
  attempted?: unknown;
}

export class AppError extends Error {
  /** Set on refusals: the denial audit records it. */
  denial?: Denial;

  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'AppError';
  }

  /** Marks this error as a denial to be audited (merging with what is already known). */
  deny(denial: Denial): this {
    this.denial = { ...this.denial, ...denial };
    return this;
  }
}

export const badRequest = (message: string, details?: unknown) =>
  new AppError(400, ERROR_CODES.badRequest, message, details);
export const unauthenticated = (
  message = 'Sign in first: send a session cookie or an Authorization: Bearer token.',
) => new AppError(401, ERROR_CODES.unauthenticated, message);
/** A refusal of something the caller can see; audited as a denial. */
export const forbidden = (message: string, denial?: Omit<Denial, 'reason'> & { reason?: string }) =>
  new AppError(403, ERROR_CODES.forbidden, message).deny({ reason: message, ...denial });
/** Nothing by that id exists (not a denial: see `hidden`). */
export const notFound = (what: string) => new AppError(404, ERROR_CODES.notFound, `${what} not found`);
/**
 * An object exists but is outside the caller's scope: answered exactly like `notFound`, so
 * nothing is revealed, and audited as a denial.
 */
export const hidden = (
  what: string,
  target: { type: string; id: string },
  permission?: Permission,
): AppError =>
  notFound(what).deny({
    reason: `${target.type} outside the caller's scope`,
    target,
    ...(permission ? { permission } : {}),
  });
/** The route exists, but not for this method; `allow` lists the ones it takes. */
export const methodNotAllowed = (allow: string[], message: string) =>
  new AppError(405, ERROR_CODES.methodNotAllowed, message, undefined, { allow: allow.join(', ') });
export const conflict = (message: string, details?: unknown) =>
  new AppError(409, ERROR_CODES.conflict, message, details);
export const staleLease = (message: string) => new AppError(409, ERROR_CODES.staleLease, message);
export const rateLimited = (retryAfterSeconds: number) =>
  new AppError(
    429,
    ERROR_CODES.rateLimited,
    `Too many attempts; try again in ${retryAfterSeconds} s.`,
    undefined,
    {
      'retry-after': String(retryAfterSeconds),
    },
  );
