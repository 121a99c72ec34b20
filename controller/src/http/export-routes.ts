/**
 * The pair of export routes every collection offers: `GET <url>` exports what the list's filters
 * select, `POST <url> {ids, format}` the chosen objects (those outside the caller's scope are
 * left out). Both answer a CSV or NDJSON file (core/table-export.ts) and audit the export once.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type, { type Static, type TObject } from 'typebox';
import { ErrorResponse } from '../core/pagination.js';
import type { CallContext, Principal } from '../core/principal.js';
import type { RouteAccess } from '../core/routes.js';
import { attachmentHeaders, type ExportedFile, type ExportFormat } from '../core/table-export.js';
import { callContext } from './route-access.js';

export const ExportFormatSchema = Type.Enum(['csv', 'ndjson']);

const ExportFile = Type.Unsafe({
  type: 'string',
  description: 'text/csv (with a header row) or application/x-ndjson (one object per line)',
});

export interface ExportRoutes<R, Q extends TObject> {
  url: string;
  tags: string[];
  /** What is exported, plural ("schedules"), for the summaries. */
  noun: string;
  access: RouteAccess;
  /** The list's filters (without cursor and limit); `format` is added here. */
  filters: Q;
  /** Ids as the objects' id schema says. */
  id: TObject['properties'][string];
  filtered: (principal: Principal, filter: Static<Q>) => Promise<R[]>;
  selected: (principal: Principal, ids: string[]) => Promise<R[]>;
  file: (rows: R[], format: ExportFormat) => ExportedFile;
  audit: (ctx: CallContext, count: number, format: ExportFormat) => Promise<void>;
}

/** Ids read per query of a selected export (with the caller's scope, well under 999 parameters). */
const SELECTION_CHUNK = 400;

export function exportRoutes<R, Q extends TObject>(options: ExportRoutes<R, Q>): FastifyPluginAsyncTypebox {
  const query = Type.Object(
    { ...options.filters.properties, format: Type.Optional(ExportFormatSchema) },
    { additionalProperties: false },
  );
  const body = Type.Object(
    {
      ids: Type.Array(options.id, { minItems: 1, maxItems: 1000 }),
      format: Type.Optional(ExportFormatSchema),
    },
    { additionalProperties: false },
  );
  const send = async (ctx: CallContext, rows: R[], format: ExportFormat) => {
    await options.audit(ctx, rows.length, format);
    return options.file(rows, format);
  };
  return async (app) => {
    app.get(
      options.url,
      {
        config: { access: options.access },
        schema: {
          tags: options.tags,
          summary: `The ${options.noun} you may see (filtered like the list) as CSV or NDJSON (audited)`,
          querystring: query,
          response: { 200: ExportFile, 400: ErrorResponse },
        },
      },
      async (request, reply) => {
        const { format = 'ndjson', ...filter } = request.query as Static<Q> & { format?: ExportFormat };
        const rows = await options.filtered(request.principal, filter as Static<Q>);
        const file = await send(callContext(request), rows, format);
        return reply.headers(attachmentHeaders(file)).send(file.stream);
      },
    );
    app.post(
      options.url,
      {
        config: { access: options.access },
        schema: {
          tags: options.tags,
          summary: `The selected ${options.noun} as CSV or NDJSON (audited; ids outside your scope are left out)`,
          body,
          response: { 200: ExportFile, 400: ErrorResponse },
        },
      },
      async (request, reply) => {
        const { ids, format = 'ndjson' } = request.body as { ids: string[]; format?: ExportFormat };
        // In chunks: SQLite's driver takes at most 999 parameters a statement, the selection up to 1,000.
        const rows: R[] = [];
        for (let i = 0; i < ids.length; i += SELECTION_CHUNK)
          rows.push(...(await options.selected(request.principal, ids.slice(i, i + SELECTION_CHUNK))));
        const file = await send(callContext(request), rows, format);
        return reply.headers(attachmentHeaders(file)).send(file.stream);
      },
    );
  };
}
