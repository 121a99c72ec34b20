/**
 * The one error handler: application and validation errors pass through with their code;
 * anything else is logged with the request id and hidden behind a generic 500. Errors that
 * carry a denial are audited first (http/denial-audit.ts).
 */
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { ERROR_CODES, type ErrorBody, type ErrorCode } from '../../../shared/src/errors.js';
import { AppError, type Denial } from '../core/errors.js';
import { trackAllowedMethods } from './allowed-methods.js';

function errorBody(code: string, message: string, requestId: string, details?: unknown): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details }, requestId };
}

/**
 * Ajv says only "must be equal to one of the allowed values" (an enum) or "must be equal to
 * constant" once per choice (a union of literals): name the choices, so the caller can fix it.
 */
function allowedValues(errors: NonNullable<FastifyError['validation']>): string {
  const byPath = new Map<string, unknown[]>();
  for (const v of errors) {
    const values =
      v.keyword === 'enum'
        ? (v.params.allowedValues as unknown[])
        : v.keyword === 'const'
          ? [v.params.allowedValue]
          : [];
    if (values.length > 0) byPath.set(v.instancePath, [...(byPath.get(v.instancePath) ?? []), ...values]);
  }
  return [...byPath]
    .map(([path, values]) => {
      const where = path === '' ? '' : ` for ${path.replace(/^\//, '').replaceAll('/', '.')}`;
      return ` (allowed${where}: ${[...new Set(values)].map((v) => JSON.stringify(v)).join(', ')})`;
    })
    .join('');
}

/** A body that arrived as text (`curl -d` sends form or plain text) fails the schema as a string. */
const NOT_SENT_AS_JSON = ' (the body arrived as text: send it with content-type: application/json)';

/** Fastify's own messages, with what the caller can do about them. */
function fastifyErrorMessage(error: FastifyError, request: FastifyRequest): string {
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    const limit = request.routeOptions.bodyLimit;
    return `Request body is too large${limit ? `: at most ${limit} bytes here` : ''} (the controller's EARSHOT_MAX_BODY_BYTES for JSON bodies).`;
  }
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    const type = request.headers['content-type'];
    return `Content type ${type ? `"${type}" ` : ''}is not accepted here: send the body as JSON with content-type: application/json.`;
  }
  return error.message;
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

/** Installed before any route, so the 405 knows every route's methods (allowed-methods.ts). */
export function installErrorHandler(app: FastifyInstance, auditDenial?: DenialAuditor): void {
  const allowedMethods = trackAllowedMethods(app);
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
      // Ajv says only "must NOT have additional properties": name the field the caller sent.
      const unknown = (fe.validation ?? []).flatMap((v) =>
        v.keyword === 'additionalProperties' ? [String(v.params.additionalProperty)] : [],
      );
      const named =
        (unknown.length > 0 ? ` (unknown: ${unknown.join(', ')})` : '') +
        allowedValues(fe.validation ?? []) +
        (fe.validationContext === 'body' && typeof request.body === 'string' ? NOT_SENT_AS_JSON : '');
      return reply
        .status(400)
        .send(
          errorBody(
            ERROR_CODES.validation,
            `Invalid ${fe.validationContext ?? 'request'}: ${fe.message}${named}`,
            request.id,
            details,
          ),
        );
    }
    const mapped = FASTIFY_CODES[(error as FastifyError).code ?? ''];
    if (mapped)
      return reply
        .status(mapped[0])
        .send(errorBody(mapped[1], fastifyErrorMessage(error as FastifyError, request), request.id));
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
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allow = allowedMethods(path);
    // A route that takes this method handed the request here (a missing file): a plain 404.
    if (allow.length > 0 && !allow.includes(request.method))
      return reply
        .status(405)
        .header('allow', allow.join(', '))
        .send(
          errorBody(
            ERROR_CODES.methodNotAllowed,
            `${path} does not take ${request.method}; it takes ${allow.join(', ')}.`,
            request.id,
          ),
        );
    return reply
      .status(404)
      .send(errorBody(ERROR_CODES.notFound, `No route ${request.method} ${path}`, request.id));
  });
}
