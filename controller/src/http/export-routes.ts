/**
 * The pair of export routes every collection offers: `GET <url>` exports what the list's filters
 * select, `POST <url> {ids, format}` the chosen objects (those outside the caller's scope are
 * left out). Both answer a CSV or NDJSON file (core/table-export.ts) and audit the export once.
 *
 * A filtered export has no cap: it reads the list page after page in the list's own order (its
 * keyset, as a client following `nextCursor` would) while the file is sent, so its size is the
 * collection's, not the controller's memory. The first page is read before the answer starts (a
 * bad filter is still a 400). Every export is audited before its first byte leaves: with its row
 * count, or, for a filtered export longer than one page, with its filter (`ExportSummary`).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type, { type Static, type TObject } from 'typebox';
import { methodNotAllowed } from '../core/errors.js';
import { ErrorResponse } from '../core/pagination.js';
import type { CallContext, Principal } from '../core/principal.js';
import type { RouteAccess } from '../core/routes.js';
import {
  attachmentHeaders,
  type ExportedFile,
  type ExportFormat,
  type ExportRows,
  type ExportSummary,
} from '../core/table-export.js';
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
  /**
   * A page of what the list's filters select, in the list's order, after `after` (the last row of
   * the page before; undefined: the first page).
   */
  filtered: (principal: Principal, filter: Static<Q>, limit: number, after: R | undefined) => Promise<R[]>;
  selected: (principal: Principal, ids: string[]) => Promise<R[]>;
  file: (rows: ExportRows<R>, format: ExportFormat) => ExportedFile;
  audit: (ctx: CallContext, summary: ExportSummary) => Promise<void>;
}

/** Ids read per query of a selected export (with the caller's scope, well under 999 parameters). */
const SELECTION_CHUNK = 400;
/** Rows read per query of a filtered export. */
export const EXPORT_PAGE = 500;

/** The pages of a filtered export: `first`, then the next ones until a short page. */
async function* filteredPages<R>(first: R[], next: (after: R) => Promise<R[]>): AsyncGenerator<R[]> {
  let page = first;
  for (;;) {
    yield page;
    const last = page.at(-1);
    if (page.length < EXPORT_PAGE || last === undefined) return;
    page = await next(last);
  }
}

/**
 * No HEAD for an export: Fastify answers a HEAD by running the GET, which would read the rows and
 * audit an export nobody receives. GET and POST: registered with `exposeHeadRoute: false`.
 */
export function refuseHeadOfExport(app: FastifyInstance, url: string, access: RouteAccess): void {
  app.route({
    method: 'HEAD',
    url,
    config: { access },
    schema: { hide: true },
    handler: async () => {
      throw methodNotAllowed(
        ['GET', 'POST'],
        `An export is a GET or a POST of ${url}: HEAD would run it for nothing.`,
      );
    },
  });
}

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
  /** Audited before the first byte leaves: an export whose audit event cannot be written does not start. */
  const send = async (ctx: CallContext, rows: ExportRows<R>, summary: ExportSummary) => {
    await options.audit(ctx, summary);
    return options.file(rows, summary.format);
  };
  return async (app) => {
    refuseHeadOfExport(app, options.url, options.access);
    app.get(
      options.url,
      {
        exposeHeadRoute: false,
        config: { access: options.access },
        schema: {
          tags: options.tags,
          summary: `The ${options.noun} you may see (filtered like the list) as CSV or NDJSON (audited)`,
          querystring: query,
          response: { 200: ExportFile, 400: ErrorResponse },
        },
      },
      async (request, reply) => {
        const { format = 'ndjson', ...rest } = request.query as Static<Q> & { format?: ExportFormat };
        const filter = rest as Static<Q>;
        const page = (after: R | undefined) =>
          options.filtered(request.principal, filter, EXPORT_PAGE, after);
        const first = await page(undefined);
        // One page is the whole export, counted; a longer one is read while it streams.
        const file =
          first.length < EXPORT_PAGE
            ? await send(callContext(request), first, { count: first.length, format })
            : await send(callContext(request), filteredPages(first, page), { count: null, format, filter });
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
        const file = await send(callContext(request), rows, { count: rows.length, format });
        return reply.headers(attachmentHeaders(file)).send(file.stream);
      },
    );
  };
}
