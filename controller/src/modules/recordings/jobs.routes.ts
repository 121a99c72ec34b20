import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import {
  JobHeartbeatBody,
  JobHeartbeatResult,
  JobLease,
  JobTerminalBody,
} from '../../../../shared/src/agent-api.js';
import { parsePositionCursor, positionCursor } from '../../core/page-position.js';
import { clampLimit, Data, ErrorResponse, PageOf, pageOf } from '../../core/pagination.js';
import { type ExportFormat, type ExportRows, exportTable } from '../../core/table-export.js';
import { exportRoutes } from '../../http/export-routes.js';
import { callContext } from '../../http/route-access.js';
import type { JobBulkItem, JobControlService } from './job-control.service.js';
import type { JobRow } from './jobs.repository.js';
import type { JobsService } from './jobs.service.js';
import {
  BulkJobResults,
  BulkJobsBody,
  JobActions,
  JobExportFilters,
  JobFacets,
  JobListQuery,
  JobParams,
  JobSchema,
  NodeJobParams,
  ObjectId,
} from './recordings.schemas.js';

const read = { access: { user: 'recording:read', scope: 'scoped' } } as const;
const control = { access: { user: 'recording:control', scope: 'scoped' } } as const;

/** The export's CSV columns: the job as the API shows it, with its node's site. */
const CSV_COLUMNS = [
  'id',
  'recordingId',
  'nodeId',
  'siteId',
  'state',
  'epoch',
  'leaseExpiresAt',
  'leaseExpired',
  'durationSeconds',
  'stopRequested',
  'failureReason',
  'requestedBy',
  'scheduleId',
  'occurrenceStart',
  'plannedStartAt',
  'plannedEndAt',
  'part',
  'parentJobId',
  'createdAt',
  'claimedAt',
  'startedAt',
  'finishedAt',
] as const;

function bulkAnswer(results: JobBulkItem[]) {
  const succeeded = results.filter((r) => r.ok).length;
  return { data: { results, succeeded, failed: results.length - succeeded } };
}

export function jobsRoutes(jobs: JobsService, jobControl: JobControlService): FastifyPluginAsyncTypebox {
  const present = (row: JobRow) => ({ ...jobs.present(row), siteId: row.node.siteId });
  const exportOf = (rows: ExportRows<JobRow>, format: ExportFormat) =>
    exportTable({
      name: 'recording-jobs',
      format,
      rows,
      present,
      columns: CSV_COLUMNS,
      flatten: present,
      now: new Date(),
    });

  return async (app) => {
    await app.register(
      exportRoutes({
        url: '/recording-jobs/export',
        tags: ['recordings'],
        noun: 'recording jobs',
        access: read.access,
        filters: JobExportFilters,
        id: ObjectId,
        filtered: (principal, filter, limit, after) => jobControl.list(principal, filter, limit, after),
        selected: (principal, ids) => jobControl.listByIds(principal, ids),
        file: exportOf,
        audit: (ctx, summary) => jobControl.recordExport(ctx, summary),
      }),
    );

    app.post(
      '/nodes/:id/recording-jobs/claim-next',
      {
        config: { access: { agent: 'recording:control' } },
        schema: {
          tags: ['agent'],
          summary: "Claim the node's oldest queued job: a lease with a new epoch, or null",
          params: NodeJobParams,
          response: { 200: Data(Type.Union([JobLease, Type.Null()])), 404: ErrorResponse },
        },
      },
      async (request) => ({ data: await jobs.claimNext(request.params.id, callContext(request)) }),
    );

    app.post(
      '/recording-jobs/:jid/heartbeat',
      {
        config: { access: { agent: 'recording:control' } },
        schema: {
          tags: ['agent'],
          summary: 'Extend the lease and report progress; 409 stale_lease when the epoch is not current',
          params: JobParams,
          body: JobHeartbeatBody,
          response: { 200: Data(JobHeartbeatResult), 404: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request) => ({
        data: await jobs.heartbeat(request.params.jid, request.body, callContext(request)),
      }),
    );

    for (const outcome of ['failed', 'cancelled'] as const) {
      app.post(
        `/recording-jobs/:jid/${outcome}`,
        {
          config: { access: { agent: 'recording:control' } },
          schema: {
            tags: ['agent'],
            summary: `The agent reports the job ${outcome} (terminal)`,
            params: JobParams,
            body: JobTerminalBody,
            response: { 200: Data(JobSchema), 404: ErrorResponse, 409: ErrorResponse },
          },
        },
        async (request) => ({
          data: jobs.present(
            await jobs.finish(request.params.jid, outcome, request.body, callContext(request)),
          ),
        }),
      );
    }

    app.get(
      '/recording-jobs/:jid',
      {
        config: { access: { user: 'recording:read', scope: 'scoped', agent: 'recording:control' } },
        schema: {
          tags: ['recordings', 'agent'],
          summary: 'One recording job (an agent sees only its own)',
          params: JobParams,
          response: { 200: Data(JobSchema), 404: ErrorResponse },
        },
      },
      async (request) => ({
        data: jobs.present(await jobs.visibleJob(request.principal, 'recording:read', request.params.jid)),
      }),
    );

    app.get(
      '/recording-jobs',
      {
        config: read,
        schema: {
          tags: ['recordings'],
          summary: 'Recording jobs you may see, newest first (by node, state, site, created from/to)',
          querystring: JobListQuery,
          response: { 200: PageOf(JobSchema), 400: ErrorResponse },
        },
      },
      async (request) => {
        const { cursor, limit, ...filters } = request.query;
        const take = clampLimit(limit);
        const rows = await jobControl.list(request.principal, filters, take, parsePositionCursor(cursor));
        return pageOf(rows, take, (row) => jobs.present(row), positionCursor);
      },
    );

    app.get(
      '/recording-jobs/facets',
      {
        config: read,
        schema: {
          tags: ['recordings'],
          summary: 'How many jobs the list’s filters select, by state and by node',
          querystring: JobExportFilters,
          response: { 200: Data(JobFacets), 400: ErrorResponse },
        },
      },
      async (request) => ({ data: await jobControl.facets(request.principal, request.query) }),
    );

    app.get(
      '/recording-jobs/:jid/actions',
      {
        config: read,
        schema: {
          tags: ['recordings'],
          summary: 'What you can do with the job now (retry, stop, download), each with the reason when not',
          params: JobParams,
          response: { 200: Data(JobActions), 404: ErrorResponse },
        },
      },
      async (request) => ({ data: await jobControl.actions(request.params.jid, request.principal) }),
    );

    app.post(
      '/recording-jobs/:jid/retry',
      {
        config: control,
        schema: {
          tags: ['recordings'],
          summary:
            'Queue a new attempt of a failed or cancelled job that captured nothing (409 says why not: window ended, audio captured, still running…)',
          params: JobParams,
          response: { 200: Data(JobSchema), 404: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request) => ({
        data: jobs.present(await jobControl.retry(request.params.jid, callContext(request))),
      }),
    );

    app.post(
      '/recording-jobs/bulk-retry',
      {
        config: control,
        schema: {
          tags: ['recordings'],
          summary:
            'Retry many jobs: one result per id (404 for a job you cannot see, 409 with the reason), audited per job',
          body: BulkJobsBody,
          response: { 200: Data(BulkJobResults), 400: ErrorResponse },
        },
      },
      async (request) => bulkAnswer(await jobControl.bulkRetry(request.body.ids, callContext(request))),
    );

    app.post(
      '/recording-jobs/bulk-stop',
      {
        config: control,
        schema: {
          tags: ['recordings'],
          summary:
            'Stop many jobs (queued: cancelled; running: the agent is asked to stop): one result per id, audited per job',
          body: BulkJobsBody,
          response: { 200: Data(BulkJobResults), 400: ErrorResponse },
        },
      },
      async (request) => bulkAnswer(await jobControl.bulkStop(request.body.ids, callContext(request))),
    );
  };
}
