/**
 * The library list's page, written as JSON text straight from the rows its query reads
 * (`RecordingsRepository.list`), in `RecordingSchema`'s order with its types: byte for byte what
 * the schema's serialiser writes for `present` of each recording
 * (test/integration/list-answers.test.ts), without building the objects in between. The list is
 * the API's hottest read; building, then serialising, ~45 values per recording was most of its
 * cost (docs/architecture.md, "The raw driver").
 */
import {
  jsonBool as bool,
  jsonDate as date,
  jsonPage,
  jsonNumber as num,
  jsonText as str,
} from '../../core/json-text.js';
import { positionCursor } from '../../core/page-position.js';
import { customFieldsOf } from './custom-fields.js';
import { isActive } from './jobs.service.js';
import { CELL, type ListedRow } from './recordings.repository.js';

function jobJson(c: readonly unknown[], nowMs: number): string {
  if (c[CELL.jobId] === null) return 'null'; // the outer join found no job
  const lease = c[CELL.leaseExpiresAt] as string | null;
  const leaseExpired = isActive(c[CELL.jobState] as string) && lease !== null && Date.parse(lease) <= nowMs;
  return (
    `{"id":${str(c[20])},"recordingId":${str(c[21])},"nodeId":${str(c[22])},"state":${str(c[23])},` +
    `"epoch":${num(c[24])},"leaseExpiresAt":${date(c[25])},"leaseExpired":${bool(leaseExpired)},` +
    `"durationSeconds":${num(c[26])},"stopRequested":${bool(c[27])},"failureReason":${str(c[28])},` +
    `"requestedBy":${str(c[29])},"scheduleId":${str(c[30])},"occurrenceStart":${date(c[31])},` +
    `"plannedStartAt":${date(c[32])},"plannedEndAt":${date(c[33])},"part":${num(c[34])},` +
    `"parentJobId":${str(c[35])},"createdAt":${date(c[36])},"claimedAt":${date(c[37])},` +
    `"startedAt":${date(c[38])},"finishedAt":${date(c[39])}}`
  );
}

function loudnessJson(row: ListedRow): string {
  if (row.truePeakDbtp === null) return 'null';
  return `{"integratedLufs":${num(row.integratedLufs)},"loudnessRangeLu":${num(row.loudnessRangeLu)},"truePeakDbtp":${num(row.truePeakDbtp)}}`;
}

/** One listed recording's JSON: what `RecordingsService.present` answers for it. */
export function listedRecordingJson(row: ListedRow, nowMs: number): string {
  const c = row.cells;
  const fields = c[CELL.customFields] as string;
  return (
    `{"id":${str(c[0])},"nodeId":${str(c[1])},"siteId":${str(c[2])},"title":${str(c[3])},` +
    `"state":${str(c[4])},"sampleRate":${num(c[5])},"channels":${num(c[6])},"bitDepth":${num(c[7])},` +
    `"container":${str(c[8])},"sizeBytes":${num(c[9])},"receivedBytes":${num(c[10])},` +
    `"sha256":${str(c[11])},"durationMs":${num(c[12])},"plannedStartAt":${date(c[13])},` +
    `"firstSampleAt":${date(c[14])},"clockOffsetMs":${num(c[15])},"partial":${bool(c[16])},` +
    `"partialReason":${str(c[17])},"loudness":${loudnessJson(row)},"notes":${str(c[CELL.notes])},` +
    // PostgreSQL writes `["a", "b"]`: what JSON.stringify writes is the answer.
    `"tags":${row.tags === '[]' ? '[]' : JSON.stringify(JSON.parse(row.tags))},` +
    `"customFields":${fields === '{}' ? '{}' : JSON.stringify(customFieldsOf(fields))},` +
    `"legalHold":${bool(c[CELL.legalHold])},"createdAt":${date(c[18])},"completedAt":${date(c[19])},` +
    `"job":${jobJson(c, nowMs)}}`
  );
}

/** `{ data, nextCursor }` for a page read with `limit`, as JSON text. */
export function listedPageJson(rows: readonly ListedRow[], limit: number, nowMs: number): string {
  const last = rows.at(-1);
  const cursor =
    rows.length === limit && last
      ? positionCursor({
          createdAt: new Date(last.cells[CELL.createdAt] as string),
          id: last.cells[CELL.id] as string,
        })
      : null;
  return jsonPage(
    rows.map((row) => listedRecordingJson(row, nowMs)),
    cursor,
  );
}
