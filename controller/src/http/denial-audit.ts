/**
 * The one place a refused HTTP request is audited: the error handler hands every error that
 * carries a `Denial` (every 403, every 404 that hides an object outside the caller's scope,
 * refused credentials) to this auditor, so a denial is recorded once whatever status the
 * caller sees. Services and hooks describe the denial on the error; they do not write it.
 */
import type { FastifyRequest } from 'fastify';
import type { Permission } from '../../../shared/src/permissions.js';
import type { AuditWriter } from '../core/audit.types.js';
import type { AppError, Denial } from '../core/errors.js';
import { ANONYMOUS, actorOf } from '../core/principal.js';
import type { DenialAuditor } from './error-handler.js';

/** The route's permission that applies to this caller (the agent one for a node). */
function routePermission(request: FastifyRequest): Permission | undefined {
  const access = request.routeOptions.config?.access;
  if (!access || access.public) return undefined;
  const user = access.user === 'authenticated' ? undefined : access.user;
  return request.principal?.kind === 'node' ? (access.agent ?? user) : (user ?? access.agent);
}

export function denialAuditor(audit: AuditWriter): DenialAuditor {
  return async (request, error: AppError & { denial: Denial }) => {
    const { denial } = error;
    try {
      await audit.recordAlone({
        actor: denial.actor ?? actorOf(request.principal ?? ANONYMOUS),
        permission: denial.permission ?? routePermission(request) ?? null,
        action:
          denial.action ??
          `http.${request.method.toLowerCase()} ${request.routeOptions.url ?? request.url.split('?')[0]}`,
        target: denial.target ?? null,
        outcome: 'denied',
        reason: denial.reason,
        after: denial.attempted,
        context: { requestId: request.id, sourceIp: request.ip },
      });
    } catch (err) {
      // The refusal stands either way; a lost denial event is an operator's problem to see.
      request.log.error({ err }, 'could not audit a denied request');
    }
  };
}
