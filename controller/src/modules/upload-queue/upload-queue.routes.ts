import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { BulkResult } from '../../core/bulk.js';
import { parsePositionCursor, positionCursor } from '../../core/page-position.js';
import { clampLimit, Data, ErrorResponse, PageOf, pageOf } from '../../core/pagination.js';
import { callContext } from '../../http/route-access.js';
import {
  BulkEnqueueBody,
  EnqueueBody,
  QueueFacets,
  QueueFacetsQuery,
  QueueItemActions,
  QueueItemParams,
  QueueItemSchema,
  QueueListQuery,
  RecordingParams,
  RunnerActions,
  RunnerStatusSchema,
} from './upload-queue.schemas.js';
import { presentQueueItem, type UploadQueueService } from './upload-queue.service.js';

const read = { access: { user: 'recording:read', scope: 'scoped' } } as const;
const control = { access: { user: 'recording:control', scope: 'scoped' } } as const;
const tags = ['upload queue'];

export function uploadQueueRoutes(queue: UploadQueueService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/upload-queue',
      {
        config: read,
        schema: {
          tags,
          summary: 'Copies of recordings to upload providers you may see, newest first',
          querystring: QueueListQuery,
          response: { 200: PageOf(QueueItemSchema), 400: ErrorResponse },
        },
      },
      async (request) => {
        const { cursor, limit, ...filters } = request.query;
        const take = clampLimit(limit);
        const rows = await queue.list(request.principal, filters, take, parsePositionCursor(cursor));
        return pageOf(rows, take, presentQueueItem, positionCursor);
      },
    );

    app.get(
      '/upload-queue/facets',
      {
        config: read,
        schema: {
          tags,
          summary: 'How many copies the list’s filters select, by state and by provider',
          querystring: QueueFacetsQuery,
          response: { 200: Data(QueueFacets), 400: ErrorResponse },
        },
      },
      async (request) => ({ data: await queue.facets(request.principal, request.query) }),
    );

    app.get(
      '/upload-queue/:id',
      {
        config: read,
        schema: {
          tags,
          summary: 'One copy: its state, attempts, bytes sent, how it was verified, its last error',
          params: QueueItemParams,
          response: { 200: Data(QueueItemSchema), 404: ErrorResponse },
        },
      },
      async (request) => ({ data: presentQueueItem(await queue.get(request.params.id, request.principal)) }),
    );

    app.get(
      '/upload-queue/:id/actions',
      {
        config: read,
        schema: {
          tags,
          summary: 'What you can do with the copy now, with the reason when not',
          params: QueueItemParams,
          response: { 200: Data(QueueItemActions), 404: ErrorResponse },
        },
      },
      async (request) => ({ data: await queue.actions(request.params.id, request.principal) }),
    );

    app.post(
      '/upload-queue/:id/retry',
      {
        config: control,
        schema: {
          tags,
          summary: 'Queue a failed copy again, from its first attempt',
          params: QueueItemParams,
          response: { 200: Data(QueueItemSchema), 404: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request) => ({
        data: presentQueueItem(await queue.retry(request.params.id, callContext(request))),
      }),
    );

    app.post(
      '/upload-queue/:id/verify',
      {
        config: control,
        schema: {
          tags,
          summary: 'Read a verified copy back from its provider: changed or gone, it is copied again',
          params: QueueItemParams,
          response: {
            200: Data(QueueItemSchema),
            404: ErrorResponse,
            409: ErrorResponse,
            503: ErrorResponse,
          },
        },
      },
      async (request) => ({
        data: presentQueueItem(await queue.verify(request.params.id, callContext(request))),
      }),
    );

    app.post(
      '/recordings/:id/upload-queue',
      {
        config: control,
        schema: {
          tags,
          summary: 'Queue a copy of a complete recording to an upload provider',
          params: RecordingParams,
          body: EnqueueBody,
          response: { 201: Data(QueueItemSchema), 404: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request, reply) => {
        const { providerId, maxAttempts } = request.body;
        const row = await queue.enqueue(request.params.id, providerId, maxAttempts, callContext(request));
        return reply.status(201).send({ data: presentQueueItem(row) });
      },
    );

    app.post(
      '/recordings/bulk-upload-queue',
      {
        config: control,
        schema: {
          tags,
          summary: 'Queue copies of many recordings to an upload provider (answered per item)',
          body: BulkEnqueueBody,
          response: { 200: Data(BulkResult), 400: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request) => {
        const { ids, providerId, maxAttempts } = request.body;
        return { data: await queue.bulkEnqueue(ids, providerId, maxAttempts, callContext(request)) };
      },
    );

    app.get(
      '/upload-runner',
      {
        config: { access: { user: 'recording:read', scope: 'fleet' } },
        schema: {
          tags,
          summary: "This controller's upload runner, and the queue's items by provider and state",
          response: { 200: Data(RunnerStatusSchema) },
        },
      },
      async () => ({ data: await queue.runnerStatus() }),
    );

    app.get(
      '/upload-runner/actions',
      {
        config: { access: { user: 'recording:read', scope: 'fleet' } },
        schema: {
          tags,
          summary: 'What you can do with the runner now',
          response: { 200: Data(RunnerActions) },
        },
      },
      async (request) => ({ data: queue.runnerActions(request.principal) }),
    );

    app.post(
      '/upload-runner/run',
      {
        config: { access: { user: 'recording:control', scope: 'fleet' } },
        schema: {
          tags,
          summary: 'A runner pass now (queue, then copy what is due); answers once it ended',
          response: { 200: Data(RunnerStatusSchema) },
        },
      },
      async (request) => ({ data: await queue.run(callContext(request)) }),
    );
  };
}
