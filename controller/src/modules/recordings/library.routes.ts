import type { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { BulkResult } from '../../core/bulk.js';
import { badRequest } from '../../core/errors.js';
import { Data, ErrorResponse } from '../../core/pagination.js';
import { exportRoutes } from '../../http/export-routes.js';
import { callContext } from '../../http/route-access.js';
import type { DownloadService } from './download.service.js';
import {
  BulkDeleteBody,
  BulkMetadataBody,
  DeletedRecording,
  DeleteQuery,
  DownloadBody,
  Facets,
  LibraryFilters,
  MetadataPatch,
  PreparedFile,
  RecordingActions,
} from './library.schemas.js';
import type { LibraryService } from './library.service.js';
import type { RecordingRow } from './recordings.repository.js';
import { ObjectId, RecordingParams, RecordingSchema } from './recordings.schemas.js';
import type { RecordingsService } from './recordings.service.js';

const read = { access: { user: 'recording:read', scope: 'scoped' } } as const;
const edit = { access: { user: 'recording:edit', scope: 'scoped' } } as const;
const remove = { access: { user: 'recording:delete', scope: 'scoped' } } as const;

const ZipArchive = Type.Unsafe<Readable>({
  type: 'string',
  format: 'binary',
  description: 'application/zip',
});

export function libraryRoutes(
  library: LibraryService,
  recordings: RecordingsService,
  downloads: DownloadService,
): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/recordings/facets',
      {
        config: read,
        schema: {
          tags: ['recordings'],
          summary: 'Counts of the library you may see (by state, node, site, container, tag), with totals',
          querystring: LibraryFilters,
          response: { 200: Data(Facets), 400: ErrorResponse },
        },
      },
      async (request) => {
        const facets = await library.facets(request.principal, request.query);
        return {
          data: {
            ...facets,
            oldestAt: facets.oldestAt?.toISOString() ?? null,
            newestAt: facets.newestAt?.toISOString() ?? null,
          },
        };
      },
    );

    await app.register(
      exportRoutes<RecordingRow, typeof LibraryFilters>({
        url: '/recordings/export',
        tags: ['recordings'],
        noun: 'recordings',
        access: read.access,
        filters: LibraryFilters,
        id: ObjectId,
        filtered: (principal, filter, limit, after) => library.filtered(principal, filter, limit, after),
        selected: (principal, ids) => library.selected(principal, ids),
        file: (rows, format) => library.exportFile(rows, format),
        audit: (ctx, summary) => library.recordExport(ctx, summary),
      }),
    );

    app.post(
      '/recordings/bulk-metadata',
      {
        config: edit,
        schema: {
          tags: ['recordings'],
          summary:
            'Organise many recordings at once: tags added or removed, notes, custom fields, hold (per item)',
          body: BulkMetadataBody,
          response: { 200: Data(BulkResult), 400: ErrorResponse },
        },
      },
      async (request) => ({
        data: await library.bulkMetadata(request.body.ids, request.body.set, callContext(request)),
      }),
    );

    app.post(
      '/recordings/bulk-delete',
      {
        config: remove,
        schema: {
          tags: ['recordings'],
          summary: 'Delete many finished recordings and their files (per item; held ones never)',
          body: BulkDeleteBody,
          response: { 200: Data(BulkResult), 400: ErrorResponse },
        },
      },
      async (request) => ({
        data: await library.bulkDelete(
          request.body.ids,
          request.body.allowTagged ?? false,
          callContext(request),
        ),
      }),
    );

    app.get(
      '/recordings/:id/actions',
      {
        config: read,
        schema: {
          tags: ['recordings'],
          summary: 'What you can do with the recording now, each with the reason when not',
          params: RecordingParams,
          response: { 200: Data(RecordingActions), 404: ErrorResponse },
        },
      },
      async (request) => ({ data: await library.actions(request.params.id, request.principal) }),
    );

    app.post(
      '/recordings/:id/download',
      {
        config: { access: { user: 'recording:download', scope: 'scoped' } },
        schema: {
          tags: ['recordings'],
          summary:
            'Prepare a download: this file (where, size, SHA-256), or a zip of it and others with a manifest of SHA-256 sums',
          params: RecordingParams,
          body: DownloadBody,
          response: {
            200: Type.Union([Data(PreparedFile), ZipArchive]),
            400: ErrorResponse,
            404: ErrorResponse,
            409: ErrorResponse,
          },
        },
      },
      async (request, reply) => {
        const { ids = [], format = ids.length > 0 ? 'zip' : 'file' } = request.body ?? {};
        const ctx = callContext(request);
        if (format === 'file') {
          const prepared = await downloads.prepareFile(request.params.id, ctx);
          if (ids.length > 0)
            throw badRequest('format "file" prepares this recording only: leave ids out, or ask for a zip.');
          return { data: prepared };
        }
        const archive = await downloads.archive(request.params.id, ids, ctx);
        return reply
          .headers({
            'content-type': 'application/zip',
            'content-disposition': `attachment; filename="${archive.filename}"`,
            'cache-control': 'no-store',
          })
          .send(archive.stream);
      },
    );

    app.patch(
      '/recordings/:id/metadata',
      {
        config: edit,
        schema: {
          tags: ['recordings'],
          summary: 'Edit the title, notes, tags (replaced), custom fields (merged) or legal hold',
          params: RecordingParams,
          body: MetadataPatch,
          response: { 200: Data(RecordingSchema), 400: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request) => ({
        data: recordings.present(
          await library.updateMetadata(request.params.id, request.body, callContext(request)),
        ),
      }),
    );

    app.delete(
      '/recordings/:id',
      {
        config: remove,
        schema: {
          tags: ['recordings'],
          summary: 'Delete a finished recording and its files (never one under legal hold)',
          params: RecordingParams,
          querystring: DeleteQuery,
          response: { 200: Data(DeletedRecording), 404: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request) => {
        const { freedBytes, copies } = await library.delete(
          request.params.id,
          request.query.allowTagged ?? false,
          callContext(request),
        );
        return { data: { id: request.params.id, deleted: true as const, freedBytes, copies } };
      },
    );
  };
}
