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
import { callContext } from '../../http/route-access.js';
import type { JobsService } from './jobs.service.js';
import { JobListQuery, JobParams, JobSchema, NodeJobParams } from './recordings.schemas.js';

export function jobsRoutes(jobs: JobsService): FastifyPluginAsyncTypebox {
  return async (app) => {
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
        config: { access: { user: 'recording:read', scope: 'scoped' } },
        schema: {
          tags: ['recordings'],
          summary: 'Recording jobs you may see, newest first',
          querystring: JobListQuery,
          response: { 200: PageOf(JobSchema), 400: ErrorResponse },
        },
      },
      async (request) => {
        const { cursor, limit, ...filters } = request.query;
        const take = clampLimit(limit);
        const rows = await jobs.list(request.principal, filters, take, parsePositionCursor(cursor));
        return pageOf(rows, take, (row) => jobs.present(row), positionCursor);
      },
    );
  };
}
