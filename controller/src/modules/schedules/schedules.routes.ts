import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { parsePositionCursor, positionCursor } from '../../core/page-position.js';
import { clampLimit, Data, ErrorResponse, NoContent, PageOf, pageOf } from '../../core/pagination.js';
import { type ExportFormat, type ExportRows, exportTable } from '../../core/table-export.js';
import { exportRoutes } from '../../http/export-routes.js';
import { callContext } from '../../http/route-access.js';
import type { ScheduleRow } from './schedules.repository.js';
import {
  CreateScheduleBody,
  OccurrencesQuery,
  OccurrencesResult,
  RunNowResult,
  ScheduleActions,
  ScheduleFacets,
  ScheduleListQuery,
  ScheduleParams,
  ScheduleSchema,
  SkipBody,
  UpdateScheduleBody,
} from './schedules.schemas.js';
import type { SchedulesService } from './schedules.service.js';

const ScheduleFilters = Type.Omit(ScheduleListQuery, ['cursor', 'limit']);
const CSV_COLUMNS = [
  'id',
  'name',
  'enabled',
  'timeZone',
  'start',
  'recurrence',
  'durationSeconds',
  'preRollSeconds',
  'postRollSeconds',
  'nodeIds',
  'nextOccurrence',
  'voiceGuildId',
  'voiceChannelId',
  'createdAt',
  'updatedAt',
] as const;

const read = { access: { user: 'schedule:read', scope: 'scoped' } } as const;
const manage = { access: { user: 'schedule:manage', scope: 'scoped' } } as const;

export function schedulesRoutes(schedules: SchedulesService): FastifyPluginAsyncTypebox {
  const exportOf = (rows: ExportRows<ScheduleRow>, format: ExportFormat) =>
    exportTable({
      name: 'schedules',
      format,
      rows,
      present: (row) => schedules.present(row),
      columns: CSV_COLUMNS,
      flatten: (row) => {
        const { targets, profile: _p, voiceChannel, skipped: _s, ...v } = schedules.present(row);
        return {
          ...v,
          nodeIds: targets.map((t) => t.nodeId).join(' '),
          voiceGuildId: voiceChannel?.guildId ?? null,
          voiceChannelId: voiceChannel?.channelId ?? null,
        };
      },
      now: new Date(),
    });

  return async (app) => {
    app.get(
      '/schedules',
      {
        config: read,
        schema: {
          tags: ['schedules'],
          summary: 'Schedules you may see (every target node in your scope), newest first',
          querystring: ScheduleListQuery,
          response: { 200: PageOf(ScheduleSchema), 400: ErrorResponse },
        },
      },
      async (request) => {
        const { cursor, limit, ...filter } = request.query;
        const take = clampLimit(limit);
        const rows = await schedules.list(request.principal, filter, take, parsePositionCursor(cursor));
        return pageOf(rows, take, (row) => schedules.present(row), positionCursor);
      },
    );

    app.get(
      '/schedules/facets',
      {
        config: read,
        schema: {
          tags: ['schedules'],
          summary: 'Counts per filter value, for the schedules you may see',
          querystring: ScheduleFilters,
          response: { 200: Data(ScheduleFacets), 400: ErrorResponse },
        },
      },
      async (request) => ({ data: await schedules.facets(request.principal, request.query) }),
    );

    await app.register(
      exportRoutes({
        url: '/schedules/export',
        tags: ['schedules'],
        noun: 'schedules',
        access: read.access,
        filters: ScheduleFilters,
        id: Type.String({ format: 'uuid' }),
        filtered: (principal, filter, limit, after) => schedules.list(principal, filter, limit, after),
        selected: (principal, ids) => schedules.listByIds(principal, ids),
        file: exportOf,
        audit: (ctx, summary) => schedules.recordExport(ctx, summary),
      }),
    );

    app.get(
      '/schedules/:id',
      {
        config: read,
        schema: {
          tags: ['schedules'],
          summary: 'One schedule',
          params: ScheduleParams,
          response: { 200: Data(ScheduleSchema), 404: ErrorResponse },
        },
      },
      async (request) => ({
        data: schedules.present(
          await schedules.visibleSchedule(request.principal, 'schedule:read', request.params.id),
        ),
      }),
    );

    app.get(
      '/schedules/:id/actions',
      {
        config: read,
        schema: {
          tags: ['schedules'],
          summary: 'What you can do with the schedule now, each with the reason when not',
          params: ScheduleParams,
          response: { 200: Data(ScheduleActions), 404: ErrorResponse },
        },
      },
      async (request) => ({ data: await schedules.actions(request.params.id, request.principal) }),
    );

    app.get(
      '/schedules/:id/occurrences',
      {
        config: read,
        schema: {
          tags: ['schedules'],
          summary: 'The occurrences in a window (default: the next 7 days) with their jobs',
          params: ScheduleParams,
          querystring: OccurrencesQuery,
          response: { 200: Data(OccurrencesResult), 400: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request) => ({
        data: await schedules.occurrencesIn(request.params.id, request.principal, request.query),
      }),
    );

    app.post(
      '/schedules',
      {
        config: manage,
        schema: {
          tags: ['schedules'],
          summary: 'Create a schedule; its occurrences of the next days become jobs at once',
          body: CreateScheduleBody,
          response: { 201: Data(ScheduleSchema), 400: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request, reply) => {
        const row = await schedules.create(request.body, callContext(request));
        return reply.code(201).send({ data: schedules.present(row) });
      },
    );

    app.patch(
      '/schedules/:id',
      {
        config: manage,
        schema: {
          tags: ['schedules'],
          summary: 'Change a schedule; occurrences not yet begun are re-planned',
          params: ScheduleParams,
          body: UpdateScheduleBody,
          response: { 200: Data(ScheduleSchema), 400: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request) => ({
        data: schedules.present(
          await schedules.update(request.params.id, request.body, callContext(request)),
        ),
      }),
    );

    app.delete(
      '/schedules/:id',
      {
        config: manage,
        schema: {
          tags: ['schedules'],
          summary: 'Delete a schedule and its occurrences not yet begun (recordings made are kept)',
          params: ScheduleParams,
          response: { 204: NoContent, 404: ErrorResponse },
        },
      },
      async (request, reply) => {
        await schedules.delete(request.params.id, callContext(request));
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/schedules/:id/run-now',
      {
        config: manage,
        schema: {
          tags: ['schedules'],
          summary: 'Record the schedule now on every target node (for its duration)',
          params: ScheduleParams,
          response: { 202: Data(RunNowResult), 404: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request, reply) => {
        const result = await schedules.runNow(request.params.id, callContext(request));
        return reply.code(202).send({ data: result });
      },
    );

    const simple = [
      [
        'skip-next',
        'Skip the next occurrence not yet begun',
        (id: string, r: Parameters<typeof callContext>[0]) => schedules.skipNext(id, callContext(r)),
      ],
      [
        'pause',
        'Pause: future occurrences are removed until resumed',
        (id: string, r: Parameters<typeof callContext>[0]) => schedules.setEnabled(id, false, callContext(r)),
      ],
      [
        'resume',
        'Resume a paused schedule',
        (id: string, r: Parameters<typeof callContext>[0]) => schedules.setEnabled(id, true, callContext(r)),
      ],
    ] as const;
    for (const [path, summary, run] of simple) {
      app.post(
        `/schedules/:id/${path}`,
        {
          config: manage,
          schema: {
            tags: ['schedules'],
            summary,
            params: ScheduleParams,
            response: { 200: Data(ScheduleSchema), 404: ErrorResponse, 409: ErrorResponse },
          },
        },
        async (request) => ({ data: schedules.present(await run(request.params.id, request)) }),
      );
    }

    app.post(
      '/schedules/:id/unskip',
      {
        config: manage,
        schema: {
          tags: ['schedules'],
          summary: 'Bring back a skipped occurrence',
          params: ScheduleParams,
          body: SkipBody,
          response: { 200: Data(ScheduleSchema), 404: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request) => ({
        data: schedules.present(
          await schedules.unskip(request.params.id, request.body.occurrenceStart, callContext(request)),
        ),
      }),
    );
  };
}
