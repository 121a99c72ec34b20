import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Data, ErrorResponse } from '../../core/pagination.js';
import { RecordingContext, RecordingContextParams } from './recording-context.schemas.js';
import type { RecordingContextService } from './recording-context.service.js';

export function recordingContextRoutes(context: RecordingContextService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/recordings/:id/context',
      {
        config: { access: { user: 'recording:read', scope: 'scoped' } },
        schema: {
          tags: ['recordings'],
          summary:
            'A recording in context: node, schedule and occurrence, its parts, checksums and upload, capture ' +
            'facts, and who attended the schedule’s voice channel meanwhile (signed receipts)',
          params: RecordingContextParams,
          response: { 200: Data(RecordingContext), 400: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request) => ({ data: await context.context(request.principal, request.params.id) }),
    );
  };
}
