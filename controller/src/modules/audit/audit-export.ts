/**
 * Audit exports as streams: rows come from an async iterator that pages through the
 * database; `Readable.from` pulls the next page only when the consumer (the HTTP
 * response) asks for more, so memory stays at about one page whatever the size.
 */
import { pipeline, Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import { csvSafe, type ExportFormat } from '../../core/table-export.js';
import type { AuditRow } from './audit.repository.js';
import { presentAuditDetail } from './audit.schemas.js';

export { EXPORT_CONTENT_TYPES } from '../../core/table-export.js';
export type AuditExportFormat = ExportFormat;

/** CSV columns, in order; also the header row. */
export const CSV_COLUMNS = [
  'seq',
  'id',
  'at',
  'actorType',
  'actorId',
  'actorName',
  'permission',
  'action',
  'targetType',
  'targetId',
  'outcome',
  'reason',
  'requestId',
  'sourceIp',
  'before',
  'after',
  'prevHash',
  'hash',
] as const;

// Actor names of failed logins are whatever an anonymous caller typed: cells are defused (csvSafe).

function csvRecord(row: AuditRow): Record<(typeof CSV_COLUMNS)[number], string | number | null> {
  return {
    seq: row.seq,
    id: row.id,
    at: row.at.toISOString(),
    actorType: row.actorType,
    actorId: csvSafe(row.actorId),
    actorName: csvSafe(row.actorName),
    permission: row.permission,
    action: csvSafe(row.action),
    targetType: csvSafe(row.targetType),
    targetId: csvSafe(row.targetId),
    outcome: row.outcome,
    reason: csvSafe(row.reason),
    requestId: csvSafe(row.requestId),
    sourceIp: csvSafe(row.sourceIp),
    // JSON text as stored (the hashed form), so a CSV export can be re-verified.
    before: row.before,
    after: row.after,
    prevHash: row.prevHash,
    hash: row.hash,
  };
}

function ndjsonLine(row: AuditRow): string {
  return `${JSON.stringify(presentAuditDetail(row))}\n`;
}

/** CSV records one at a time, fetched a page at a time. */
async function* csvRecords(pages: AsyncIterable<AuditRow[]>) {
  for await (const page of pages) for (const row of page) yield csvRecord(row);
}

export function exportStream(format: AuditExportFormat, pages: AsyncIterable<AuditRow[]>): Readable {
  if (format === 'ndjson') {
    return Readable.from(
      (async function* () {
        for await (const page of pages) yield page.map(ndjsonLine).join('');
      })(),
      { objectMode: false },
    );
  }
  // pipeline() carries backpressure both ways and destroys the source (ending the
  // paging) when the response is closed early; errors surface on the returned stream.
  return pipeline(
    Readable.from(csvRecords(pages), { objectMode: true }),
    stringify({ header: true, columns: [...CSV_COLUMNS] }),
    () => undefined,
  );
}
