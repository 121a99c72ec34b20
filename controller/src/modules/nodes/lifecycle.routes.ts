/**
 * Node lifecycle actions: operators ask (`POST /nodes/:id/lifecycle/:action`) and follow the
 * jobs; agents fetch a rotated credential and upload diagnostics (lifecycle.service.ts).
 */
import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import {
  DIAGNOSTICS_MAX_BYTES,
  Diagnostics,
  LIFECYCLE_ACTIONS,
  LIFECYCLE_JOB_STATES,
  RotatedCredential,
} from '../../../../shared/src/lifecycle.js';
import {
  clampLimit,
  Data,
  ErrorResponse,
  encodeCursor,
  NoContent,
  PageOf,
  PageQuery,
} from '../../core/pagination.js';
import { callContext } from '../../http/route-access.js';
import type { LifecycleService } from './lifecycle.service.js';
import { NodeId, NodeParams } from './nodes.schemas.js';

const LifecycleJob = Type.Object({
  id: Type.String(),
  nodeId: Type.String(),
  action: Type.String(),
  state: Type.Enum(LIFECYCLE_JOB_STATES),
  requestedBy: Type.String(),
  message: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  sentAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  expiresAt: Type.String({ format: 'date-time' }),
  hasDiagnostics: Type.Boolean(),
});
const JobId = Type.String({ minLength: 1, maxLength: 64 });
const ActionParams = Type.Object({
  id: NodeId,
  action: Type.String({
    minLength: 1,
    maxLength: 200,
    description: `One of ${LIFECYCLE_ACTIONS.join(', ')}`,
  }),
});
const JobParams = Type.Object({ id: NodeId, jobId: JobId });

export function lifecycleRoutes(lifecycle: LifecycleService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/nodes/:id/lifecycle/:action',
      {
        config: { access: { user: 'node:manage', scope: 'scoped' } },
        schema: {
          tags: ['nodes'],
          summary: `Ask the node's agent for a lifecycle action (${LIFECYCLE_ACTIONS.join(', ')})`,
          description:
            'Answers 202 with the lifecycle job: sent at once when the agent is connected, otherwise ' +
            'when it returns before the action expires. Follow it at /nodes/:id/lifecycle-jobs/:jobId.',
          params: ActionParams,
          response: { 202: Data(LifecycleJob), 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request, reply) => {
        const job = await lifecycle.request(request.params.id, request.params.action, callContext(request));
        return reply.code(202).send({ data: job });
      },
    );

    app.get(
      '/nodes/:id/lifecycle-jobs',
      {
        config: { access: { user: 'node:read', scope: 'scoped' } },
        schema: {
          tags: ['nodes'],
          summary: 'Lifecycle jobs of a node, newest first',
          params: NodeParams,
          querystring: Type.Object(PageQuery),
          response: { 200: PageOf(LifecycleJob), 400: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request) => {
        const limit = clampLimit(request.query.limit);
        const data = await lifecycle.list(request.params.id, request.principal, limit, request.query.cursor);
        const last = data.at(-1);
        return { data, nextCursor: data.length === limit && last ? encodeCursor(last.id) : null };
      },
    );

    app.get(
      '/nodes/:id/lifecycle-jobs/:jobId',
      {
        config: { access: { user: 'node:read', scope: 'scoped' } },
        schema: {
          tags: ['nodes'],
          summary: 'One lifecycle job',
          params: JobParams,
          response: { 200: Data(LifecycleJob), 404: ErrorResponse },
        },
      },
      async (request) => ({
        data: await lifecycle.get(request.params.id, request.params.jobId, request.principal),
      }),
    );

    app.get(
      '/nodes/:id/lifecycle-jobs/:jobId/diagnostics',
      {
        config: { access: { user: 'node:manage', scope: 'scoped' } },
        schema: {
          tags: ['nodes'],
          summary: 'The diagnostics a collect-diagnostics job brought back (a JSON file)',
          params: JobParams,
          response: { 200: Diagnostics, 404: ErrorResponse },
        },
      },
      async (request, reply) => {
        const diagnostics = await lifecycle.diagnostics(
          request.params.id,
          request.params.jobId,
          request.principal,
        );
        reply.header(
          'content-disposition',
          `attachment; filename="${request.params.id}-${request.params.jobId}-diagnostics.json"`,
        );
        return diagnostics;
      },
    );

    // The agent's side --------------------------------------------------------------------------

    app.post(
      '/nodes/:id/credential',
      {
        config: { access: { agent: 'node:control' } },
        schema: {
          tags: ['agent'],
          summary:
            'A new credential for a rotate-credential job (the old one works until the new one is used)',
          params: NodeParams,
          body: Type.Object({ jobId: JobId }, { additionalProperties: false }),
          response: { 200: Data(RotatedCredential), 404: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request) => ({
        data: await lifecycle.issueCredential(request.params.id, request.body.jobId, callContext(request)),
      }),
    );

    app.put(
      '/nodes/:id/lifecycle-jobs/:jobId/diagnostics',
      {
        bodyLimit: DIAGNOSTICS_MAX_BYTES,
        config: { access: { agent: 'node:control' } },
        schema: {
          tags: ['agent'],
          summary: 'Upload the diagnostics a collect-diagnostics job asked for',
          params: JobParams,
          body: Diagnostics,
          response: { 204: NoContent, 404: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request, reply) => {
        await lifecycle.storeDiagnostics(
          request.params.id,
          request.params.jobId,
          request.body,
          callContext(request),
        );
        return reply.code(204).send(null);
      },
    );
  };
}
