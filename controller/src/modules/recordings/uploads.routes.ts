import type { Readable } from 'node:stream';
import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { UploadStatus } from '../../../../shared/src/agent-api.js';
import { Data, ErrorResponse } from '../../core/pagination.js';
import { callContext } from '../../http/route-access.js';
import { MAX_UPLOAD_BYTES, RecordingParams, UploadHeaders } from './recordings.schemas.js';
import type { UploadsService } from './uploads.service.js';

/**
 * The cache-file upload. Registered as its own plugin so the pass-through
 * octet-stream parser and the large body limit apply here only; every other route
 * keeps the small JSON limit.
 */
export function uploadsRoutes(uploads: UploadsService): FastifyPluginAsyncTypebox {
  return async (app) => {
    // Only raw bytes here (JSON under an 8 GiB limit would be buffered); the stream goes
    // to the service, which writes it to disk. Any other content type is a 415.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));

    app.get(
      '/recordings/:id/cache-file',
      {
        config: { access: { agent: 'recording:control' } },
        schema: {
          tags: ['agent'],
          summary: 'How many bytes of the upload the controller holds (where to resume)',
          params: RecordingParams,
          response: { 200: Data(UploadStatus), 404: ErrorResponse },
        },
      },
      async (request) => ({ data: await uploads.status(request.params.id, callContext(request)) }),
    );

    app.put(
      '/recordings/:id/cache-file',
      {
        config: { access: { agent: 'recording:control' } },
        bodyLimit: MAX_UPLOAD_BYTES,
        schema: {
          tags: ['agent'],
          summary: 'Upload the recording (application/octet-stream), resumable with content-range',
          params: RecordingParams,
          headers: Type.Object({
            ...UploadHeaders.properties,
            'content-length': Type.Optional(Type.Integer({ minimum: 0 })),
          }),
          response: {
            200: Data(UploadStatus),
            400: ErrorResponse,
            404: ErrorResponse,
            409: ErrorResponse,
            413: ErrorResponse,
            415: ErrorResponse,
            422: ErrorResponse,
          },
        },
      },
      async (request) => ({
        data: await uploads.receive(
          request.params.id,
          request.headers,
          request.body as Readable,
          callContext(request),
        ),
      }),
    );
  };
}
