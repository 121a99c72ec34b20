/**
 * Health-event routes: scoped reads and export (`health:read`), manual events and the lifecycle
 * (`health:acknowledge`), and the agents' HTTP fallback of the MQTT `events` topic.
 */
import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { HealthEventSyncResult } from '../../../../shared/src/agent-api.js';
import { HealthEventId, HealthEventMessage } from '../../../../shared/src/mqtt.js';
import { parsePositionCursor, positionCursor } from '../../core/page-position.js';
import { clampLimit, Data, ErrorResponse, PageOf, pageOf } from '../../core/pagination.js';
import { type ExportFormat, type ExportRows, exportTable } from '../../core/table-export.js';
import { exportRoutes } from '../../http/export-routes.js';
import { callContext } from '../../http/route-access.js';
import { NodeId } from '../nodes/index.js';
import type { HealthEventRow } from './health.repository.js';
import {
  BulkLifecycleBody,
  BulkLifecycleResult,
  CreateHealthEventBody,
  HealthActions,
  HealthEventParams,
  HealthEventSchema,
  HealthFacets,
  HealthListQuery,
  type LifecycleAction,
  SuppressBody,
  TransitionBody,
} from './health.schemas.js';
import type { HealthService } from './health.service.js';
import type { HealthReports } from './health-reports.js';

const NodeParams = Type.Object({ id: NodeId });
const HealthFilters = Type.Omit(HealthListQuery, ['cursor', 'limit']);
const CSV_COLUMNS = [
  'id',
  'nodeId',
  'siteId',
  'type',
  'severity',
  'status',
  'channel',
  'message',
  'values',
  'firstSeenAt',
  'lastSeenAt',
  'count',
  'resolvedAt',
  'suppressedUntil',
  'acknowledgedBy',
  'acknowledgedAt',
  'source',
  'createdAt',
] as const;

const read = { access: { user: 'health:read', scope: 'scoped' } } as const;
const acknowledge = { access: { user: 'health:acknowledge', scope: 'scoped' } } as const;
const tags = ['health'];

const STEPS: [LifecycleAction, string, typeof TransitionBody | typeof SuppressBody][] = [
  ['acknowledge', 'Acknowledge an open event: someone is on it', TransitionBody],
  ['suppress', 'Suppress an event until a time; then it is open again', SuppressBody],
  ['resolve', 'Resolve an event', TransitionBody],
  ['reopen', 'Reopen a resolved, acknowledged or suppressed event', TransitionBody],
];

export function healthRoutes(health: HealthService, reports: HealthReports): FastifyPluginAsyncTypebox {
  const exportOf = (rows: ExportRows<HealthEventRow>, format: ExportFormat) =>
    exportTable({
      name: 'health-events',
      format,
      rows,
      present: (row) => health.present(row),
      columns: CSV_COLUMNS,
      flatten: (row) => {
        const { values, ...view } = health.present(row);
        return { ...view, values: JSON.stringify(values) };
      },
      now: new Date(),
    });

  return async (app) => {
    app.get(
      '/health-events',
      {
        config: read,
        schema: {
          tags,
          summary: 'Health events on the nodes you may see, newest first',
          querystring: HealthListQuery,
          response: { 200: PageOf(HealthEventSchema), 400: ErrorResponse },
        },
      },
      async (request) => {
        const { cursor, limit, ...filter } = request.query;
        const take = clampLimit(limit);
        const rows = await health.list(request.principal, filter, take, parsePositionCursor(cursor));
        return pageOf(rows, take, (row) => health.present(row), positionCursor);
      },
    );

    app.get(
      '/health-events/facets',
      {
        config: read,
        schema: {
          tags,
          summary: 'Counts per status, severity, type and node, for the events you may see',
          querystring: HealthFilters,
          response: { 200: Data(HealthFacets), 400: ErrorResponse },
        },
      },
      async (request) => ({ data: await health.facets(request.principal, request.query) }),
    );

    await app.register(
      exportRoutes({
        url: '/health-events/export',
        tags,
        noun: 'health events',
        access: read.access,
        filters: HealthFilters,
        id: HealthEventId,
        filtered: (principal, filter, limit, after) => health.list(principal, filter, limit, after),
        selected: (principal, ids) => health.listByIds(principal, ids),
        file: exportOf,
        audit: (ctx, summary) => health.recordExport(ctx, summary),
      }),
    );

    app.get(
      '/health-events/:id',
      {
        config: read,
        schema: {
          tags,
          summary: 'One health event',
          params: HealthEventParams,
          response: { 200: Data(HealthEventSchema), 404: ErrorResponse },
        },
      },
      async (request) => ({
        data: health.present(await health.visibleEvent(request.principal, 'health:read', request.params.id)),
      }),
    );

    app.get(
      '/health-events/:id/actions',
      {
        config: read,
        schema: {
          tags,
          summary: 'What you can do with the event now, each with the reason when not',
          params: HealthEventParams,
          response: { 200: Data(HealthActions), 404: ErrorResponse },
        },
      },
      async (request) => ({ data: await health.actions(request.params.id, request.principal) }),
    );

    app.post(
      '/health-events',
      {
        config: acknowledge,
        schema: {
          tags,
          summary: 'Enter a health event by hand on a node (open, source manual)',
          body: CreateHealthEventBody,
          response: { 201: Data(HealthEventSchema), 400: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request, reply) => {
        const row = await health.create(request.body, callContext(request));
        return reply.code(201).send({ data: health.present(row) });
      },
    );

    app.post(
      '/health-events/bulk-lifecycle',
      {
        config: acknowledge,
        schema: {
          tags,
          summary:
            'One lifecycle step on many events, all or nothing: 404 if one is not yours to see, 409 naming each event that does not allow it',
          body: BulkLifecycleBody,
          response: {
            200: Data(BulkLifecycleResult),
            400: ErrorResponse,
            404: ErrorResponse,
            409: ErrorResponse,
          },
        },
      },
      async (request) => {
        const rows = await health.bulk(request.body, callContext(request));
        return { data: { action: request.body.action, events: rows.map((row) => health.present(row)) } };
      },
    );

    for (const [action, summary, body] of STEPS) {
      app.post(
        `/health-events/:id/${action}`,
        {
          config: acknowledge,
          // No body at all reads as `{}`: `reason` is optional (suppress still needs `until`).
          preValidation: async (request) => {
            request.body ??= {};
          },
          schema: {
            tags,
            summary,
            params: HealthEventParams,
            body,
            response: {
              200: Data(HealthEventSchema),
              400: ErrorResponse,
              404: ErrorResponse,
              409: ErrorResponse,
            },
          },
        },
        async (request) => {
          const row = await health.apply(
            request.params.id,
            action,
            request.body as { until?: string; reason?: string },
            callContext(request),
          );
          return { data: health.present(row) };
        },
      );
    }

    app.post(
      '/nodes/:id/health-events',
      {
        config: { access: { agent: 'health:acknowledge' } },
        schema: {
          tags: ['agent'],
          summary:
            'The agent reports a health event (HTTP fallback of MQTT `events`; idempotent by event id)',
          params: NodeParams,
          body: HealthEventMessage,
          response: {
            200: Data(HealthEventSyncResult),
            400: ErrorResponse,
            404: ErrorResponse,
            409: ErrorResponse,
          },
        },
      },
      async (request) => ({
        data: await reports.report(request.params.id, request.body, callContext(request)),
      }),
    );
  };
}
