import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { parsePositionCursor } from '../../core/page-position.js';
import { clampLimit, Data, ErrorResponse, PageOf } from '../../core/pagination.js';
import { sendJsonText } from '../../http/json-text.js';
import { callContext } from '../../http/route-access.js';
import {
  AudioFile,
  CreatedRecording,
  CreateRecordingBody,
  DownloadHeaders,
  RecordingListQuery,
  RecordingParams,
  RecordingSchema,
} from './recordings.schemas.js';
import type { RecordingsService } from './recordings.service.js';

export function recordingsRoutes(recordings: RecordingsService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/recordings',
      {
        config: { access: { user: 'recording:create', scope: 'scoped' } },
        schema: {
          tags: ['recordings'],
          summary: 'Start an ad-hoc recording on a node (creates the recording and its queued job)',
          body: CreateRecordingBody,
          response: { 201: Data(CreatedRecording), 400: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request, reply) => {
        const { recording, channelGroups } = await recordings.create(request.body, callContext(request));
        return reply.status(201).send({ data: { ...recordings.present(recording), channelGroups } });
      },
    );

    app.get(
      '/recordings',
      {
        config: { access: { user: 'recording:read', scope: 'scoped' } },
        schema: {
          tags: ['recordings'],
          summary: 'Recording library you may see, newest first',
          querystring: RecordingListQuery,
          response: { 200: PageOf(RecordingSchema), 400: ErrorResponse },
        },
      },
      async (request, reply) => {
        const { cursor, limit, ...filters } = request.query;
        const take = clampLimit(limit);
        const page = await recordings.listPage(request.principal, filters, take, parsePositionCursor(cursor));
        return sendJsonText(reply, page); // written in the schema's order with its types (listed-json.ts)
      },
    );

    app.get(
      '/recordings/:id',
      {
        config: { access: { user: 'recording:read', scope: 'scoped' } },
        schema: {
          tags: ['recordings'],
          summary: 'One recording with its checksum, size, state and job',
          params: RecordingParams,
          response: { 200: Data(RecordingSchema), 404: ErrorResponse },
        },
      },
      async (request) => ({
        data: recordings.present(
          await recordings.visibleRecording(request.principal, 'recording:read', request.params.id),
        ),
      }),
    );

    app.post(
      '/recordings/:id/stop',
      {
        config: { access: { user: 'recording:control', scope: 'scoped' } },
        schema: {
          tags: ['recordings'],
          summary: 'Stop a recording: cancels a queued job, asks the agent to stop a running one',
          params: RecordingParams,
          response: { 200: Data(RecordingSchema), 404: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request) => ({
        data: recordings.present(await recordings.stop(request.params.id, callContext(request))),
      }),
    );

    app.get(
      '/recordings/:id/file',
      {
        config: { access: { user: 'recording:download', scope: 'scoped' } },
        schema: {
          tags: ['recordings'],
          summary: 'Download the WAV file; one HTTP Range (bytes=a-b, a-, -n) gives 206',
          params: RecordingParams,
          headers: DownloadHeaders,
          response: {
            200: AudioFile,
            206: AudioFile,
            404: ErrorResponse,
            409: ErrorResponse,
            416: ErrorResponse,
          },
        },
      },
      async (request, reply) => {
        const file = await recordings.openFile(
          request.params.id,
          request.headers.range,
          callContext(request),
        );
        return reply.status(file.statusCode).headers(file.headers).send(file.stream);
      },
    );
  };
}
