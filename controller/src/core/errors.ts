/**
 * Typed application errors and the one error handler (STYLE.md "One error handler"):
 * application and validation errors pass through with their code; anything else is
 * logged with the request id and hidden behind a generic 500.
 */
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { ERROR_CODES, type ErrorBody, type ErrorCode } from '../../../shared/src/errors.js';
import type { Actor } from '../modules/audit/audit.types.js';

/**
 * What the denial audit (http/denial-audit.ts) records for a refused request. Every 403, and
 * every 404 that hides an object the caller may not see, carries one: the one place that
 * audits denials reads it, whatever status the caller is shown.
 */
export interface Denial {
  /** Why, for the audit trail (not shown to the caller). */
  reason: string;
  /** The audited action; default `http.<method> <route>`. */
  action?: string;
  /** The permission the caller lacked; default the route's declared permission. */
  permission?: string;
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
export const hidden = (what: string, target: { type: string; id: string }, permission?: string): AppError =>
  notFound(what).deny({
    reason: `${target.type} outside the caller's scope`,
    target,
    ...(permission ? { permission } : {}),
  });
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

function errorBody(code: string, message: string, requestId: string, details?: unknown): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details }, requestId };
}

/** Fastify's own client errors, mapped to our codes. */
const FASTIFY_CODES: Record<string, [number, ErrorCode]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, ERROR_CODES.payloadTooLarge],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, ERROR_CODES.unsupportedMediaType],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, ERROR_CODES.badRequest],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, ERROR_CODES.badRequest],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, ERROR_CODES.badRequest],
};

/** Records a refused request in the audit trail (http/denial-audit.ts). */
export type DenialAuditor = (request: FastifyRequest, error: AppError & { denial: Denial }) => Promise<void>;

export function installErrorHandler(app: FastifyInstance, auditDenial?: DenialAuditor): void {
  app.setErrorHandler(async (error: FastifyError | AppError, request, reply) => {
    if (error instanceof AppError) {
      if (error.denial && auditDenial) await auditDenial(request, error as AppError & { denial: Denial });
      if (error.headers) reply.headers(error.headers);
      return reply
        .status(error.statusCode)
        .send(errorBody(error.code, error.message, request.id, error.details));
    }
    if ((error as FastifyError).validation) {
      const fe = error as FastifyError;
      const details = fe.validation?.map((v) => ({
        where: fe.validationContext,
        path: v.instancePath || '/',
        message: v.message,
      }));
      return reply
        .status(400)
        .send(
          errorBody(
            ERROR_CODES.validation,
            `Invalid ${fe.validationContext ?? 'request'}: ${fe.message}`,
            request.id,
            details,
          ),
        );
    }
    const mapped = FASTIFY_CODES[(error as FastifyError).code ?? ''];
    if (mapped) return reply.status(mapped[0]).send(errorBody(mapped[1], error.message, request.id));
    const status = (error as FastifyError).statusCode;
    if (status && status >= 400 && status < 500) {
      return reply.status(status).send(errorBody(ERROR_CODES.badRequest, error.message, request.id));
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply
      .status(500)
      .send(
        errorBody(
          ERROR_CODES.internal,
          'Internal error; the request id identifies it in the logs.',
          request.id,
        ),
      );
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send(
        errorBody(
          ERROR_CODES.notFound,
          `No route ${request.method} ${request.url.split('?')[0]}`,
          request.id,
        ),
      ),
  );
}
