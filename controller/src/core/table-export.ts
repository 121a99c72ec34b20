/**
 * Exports of a list as CSV or NDJSON, the one shape every `GET|POST …/export` route returns:
 * a file with a content type, a filename and a body. CSV cells that a spreadsheet would run as
 * a formula are defused (OWASP: a leading apostrophe before = + - @ tab CR).
 */
import { pipeline, Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { Permission } from '../../../shared/src/permissions.js';
import type { AuditInput } from './audit.types.js';
import type { AuditAction } from './audit-actions.js';
import { actorOf, type CallContext } from './principal.js';

export type ExportFormat = 'csv' | 'ndjson';
type Cell = string | number | boolean | null;

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  ndjson: 'application/x-ndjson; charset=utf-8',
};

export interface ExportedFile {
  contentType: string;
  filename: string;
  stream: Readable;
}

export function csvSafe<T extends string | null>(value: T): T {
  return (value !== null && /^[=+\-@\t\r]/.test(value) ? `'${value}` : value) as T;
}

/** Headers of a file download (never cached: exports are scoped to the caller). */
export function attachmentHeaders(file: Pick<ExportedFile, 'contentType' | 'filename'>) {
  return {
    'content-type': file.contentType,
    'content-disposition': `attachment; filename="${file.filename}"`,
    'cache-control': 'no-store',
  };
}

/** What an export writes: rows in memory, or pages read one after another as the file is sent. */
export type ExportRows<R> = readonly R[] | AsyncIterable<readonly R[]>;

async function* pagesOf<R>(rows: ExportRows<R>): AsyncGenerator<readonly R[]> {
  if (Array.isArray(rows)) yield rows as readonly R[];
  else yield* rows as AsyncIterable<readonly R[]>;
}

/**
 * An export: NDJSON lines of `present(row)`, or CSV with `columns` from `flatten(row)`, written
 * page by page (each page's text at once), so a large export never sits whole in memory.
 */
export function exportTable<R>(options: {
  name: string;
  format: ExportFormat;
  rows: ExportRows<R>;
  present: (row: R) => unknown;
  columns: readonly string[];
  flatten: (row: R) => Record<string, Cell>;
  now: Date;
}): ExportedFile {
  const { format } = options;
  const pages = pagesOf(options.rows);
  const csvRow = (row: R) => {
    const flat = options.flatten(row);
    return options.columns.map((c) => {
      const v = flat[c] ?? null;
      return typeof v === 'string' ? csvSafe(v) : v;
    });
  };
  const stream =
    format === 'ndjson'
      ? Readable.from(
          (async function* () {
            for await (const page of pages)
              if (page.length > 0)
                yield page.map((row) => `${JSON.stringify(options.present(row))}\n`).join('');
          })(),
        )
      : pipeline(
          Readable.from(
            (async function* () {
              for await (const page of pages) yield* page.map(csvRow);
            })(),
            { objectMode: true },
          ),
          stringify({ header: true, columns: [...options.columns] }),
          () => undefined,
        );
  const stamp = options.now.toISOString().replace(/[:.]/g, '-');
  return {
    contentType: EXPORT_CONTENT_TYPES[format],
    filename: `${options.name}-${stamp}.${format === 'csv' ? 'csv' : 'ndjson'}`,
    stream,
  };
}

/**
 * What an export's audit event says of it, written before its first byte leaves: how many rows,
 * or, for a filtered export longer than one page (read while it streams), null and its filter.
 */
export interface ExportSummary {
  count: number | null;
  format: ExportFormat;
  filter?: Record<string, unknown>;
}

/** The one audit event of an export: the caller, what it took and in which format. */
export function exportEvent(
  ctx: CallContext,
  permission: Permission,
  action: AuditAction,
  after: ExportSummary,
): AuditInput {
  return {
    actor: actorOf(ctx.principal),
    permission,
    action,
    outcome: 'success',
    after,
    context: ctx.request,
  };
}
