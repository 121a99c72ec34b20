import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { ScopeFilter } from '../../core/access-set.js';
import { forbidden } from '../../core/errors.js';
import {
  clampLimit,
  Data,
  decodeCursor,
  ErrorResponse,
  encodeCursor,
  PageOf,
  pageOf,
} from '../../core/pagination.js';
import { refuseHeadOfExport } from '../../http/export-routes.js';
import { callContext } from '../../http/route-access.js';
import {
  AuditDetailSchema,
  AuditEventSchema,
  AuditExportBody,
  AuditExportQuery,
  AuditFacetsQuery,
  AuditFacetsSchema,
  AuditIdParams,
  AuditQuery,
  ChainReportSchema,
  ExportFile,
  presentAuditDetail,
  presentAuditEvent,
  toAuditFilter,
} from './audit.schemas.js';
import type { AuditExport, AuditService } from './audit.service.js';
import type { AuditChainWatch } from './chain-watch.js';

/** The events this auditor may read: those of its sites, nodes and guilds (all, over the fleet). */
function auditScope(request: FastifyRequest): ScopeFilter {
  const { principal } = request;
  if (principal.kind !== 'user') throw forbidden('The audit trail is for users.');
  return principal.access.filter('audit:read');
}

const attachment = (file: AuditExport) => ({
  'content-type': file.contentType,
  'content-disposition': `attachment; filename="${file.filename}"`,
  'cache-control': 'no-store',
});

export function auditRoutes(
  audit: AuditService,
  chain: Pick<AuditChainWatch, 'verify'>,
): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/audit-events',
      {
        config: { access: { user: 'audit:read', scope: 'scoped' } },
        schema: {
          tags: ['audit'],
          summary: 'List and filter audit events, newest first',
          querystring: AuditQuery,
          response: { 200: PageOf(AuditEventSchema), 400: ErrorResponse },
        },
      },
      async (request) => {
        const { cursor, limit, ...filter } = request.query;
        const take = clampLimit(limit);
        const rows = await audit.list(
          toAuditFilter(filter, auditScope(request)),
          take,
          decodeCursor<number>(cursor, 'sequence'),
        );
        return pageOf(rows, take, presentAuditEvent, (row) => encodeCursor(row.seq));
      },
    );

    app.get(
      '/audit-events/facets',
      {
        config: { access: { user: 'audit:read', scope: 'scoped' } },
        schema: {
          tags: ['audit'],
          summary: 'Event counts per action, outcome, actor type, permission and target type',
          querystring: AuditFacetsQuery,
          response: { 200: Data(AuditFacetsSchema), 400: ErrorResponse },
        },
      },
      async (request) => ({ data: await audit.facets(toAuditFilter(request.query, auditScope(request))) }),
    );

    refuseHeadOfExport(app, '/audit-events/export', { user: 'audit:read', scope: 'scoped' });
    app.get(
      '/audit-events/export',
      {
        exposeHeadRoute: false,
        config: { access: { user: 'audit:read', scope: 'scoped' } },
        schema: {
          tags: ['audit'],
          summary: 'Stream the filtered events as CSV or NDJSON (audited)',
          querystring: AuditExportQuery,
          response: { 200: ExportFile, 400: ErrorResponse },
        },
      },
      async (request, reply) => {
        const { format = 'ndjson', ...filter } = request.query;
        const file = await audit.export(
          { filter: toAuditFilter(filter, auditScope(request)) },
          format,
          callContext(request),
        );
        return reply.headers(attachment(file)).send(file.stream);
      },
    );

    app.post(
      '/audit-events/export',
      {
        config: { access: { user: 'audit:read', scope: 'scoped' } },
        schema: {
          tags: ['audit'],
          summary: 'Stream the selected events as CSV or NDJSON (audited)',
          body: AuditExportBody,
          response: { 200: ExportFile, 400: ErrorResponse },
        },
      },
      async (request, reply) => {
        const { ids, format = 'ndjson' } = request.body;
        const file = await audit.export({ ids, scope: auditScope(request) }, format, callContext(request));
        return reply.headers(attachment(file)).send(file.stream);
      },
    );

    app.get(
      '/audit-events/verify',
      {
        config: { access: { user: 'audit:read', scope: 'fleet' } },
        schema: {
          tags: ['audit'],
          summary: 'Walk the hash chain and report the first broken link',
          response: { 200: Data(ChainReportSchema) },
        },
      },
      async () => ({ data: await chain.verify() }),
    );

    app.get(
      '/audit-events/:id',
      {
        config: { access: { user: 'audit:read', scope: 'scoped' } },
        schema: {
          tags: ['audit'],
          summary: 'One audit event with before/after',
          params: AuditIdParams,
          response: { 200: Data(AuditDetailSchema), 404: ErrorResponse },
        },
      },
      async (request) => {
        const row = await audit.get(request.params.id, auditScope(request));
        return { data: presentAuditDetail(row) };
      },
    );
  };
}
