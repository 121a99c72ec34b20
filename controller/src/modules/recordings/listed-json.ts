/**
 * The library list's page, written as JSON text straight from the rows its query reads
 * (`RecordingsRepository.list`), in `RecordingSchema`'s order with its types: byte for byte what
 * the schema's serialiser writes for `present` of each recording
 * (test/integration/list-answers.test.ts), without building the objects in between. The list is
 * the API's hottest read; building, then serialising, ~45 values per recording was most of its
 * cost (docs/architecture.md, "The raw driver").
 *
 * A recording's JSON is a function of its row alone, the text the database wrote (and, while its
 * job holds a lease, the time: `leaseExpired`). So `ListedRecordingsJson` keeps what it wrote for
 * the rows it saw last, with the whole row it wrote it from: a row read again unchanged is not
 * parsed and written again, and a changed one is. Nothing to invalidate, nothing stale.
 */
import {
  jsonBool as bool,
  jsonDate as date,
  jsonPageBytes,
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
export function listedRecordingJson(c: readonly unknown[], row: ListedRow, nowMs: number): string {
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

/**
 * `text` as UTF-8 in a buffer of its own: `Buffer.from` puts a small one in a shared 8 kB slab,
 * which one kept row would hold on to after the others in it were let go.
 */
function ownBytes(text: string): Buffer {
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
  bytes.write(text);
  return bytes;
}

/** How many rows' JSON `ListedRecordingsJson` keeps (~2–3 kB each with its row): a few pages of many callers. */
const WRITTEN_ROWS_KEPT = 2_048;

/**
 * A row's JSON, with the row it was written from (the same row again is the same JSON). Kept as
 * UTF-8 bytes: a string built by `+` is a tree of its pieces, walked again each time a page that
 * holds it is joined and encoded; the bytes are copied into the page as they are.
 */
interface Written extends ListedRow {
  json: Buffer;
  createdAt: string;
}

/** Whether `row` is the row `known` was written from: every value the query read, the same. */
function sameRow(known: Written, row: ListedRow): boolean {
  for (const key of Object.keys(row) as (keyof ListedRow)[]) if (known[key] !== row[key]) return false;
  return true;
}

/** Writes the library list's pages, keeping each row's JSON for the next time it is listed unchanged. */
export class ListedRecordingsJson {
  private readonly written = new Map<string, Written>();

  constructor(
    /** A row's cells parsed (`RecordingsRepository.cells`). */
    private readonly cellsOf: (row: ListedRow) => unknown[],
    private readonly kept = WRITTEN_ROWS_KEPT,
  ) {}

  /** `{ data, nextCursor }` for a page read with `limit`, as JSON (UTF-8). */
  page(rows: readonly ListedRow[], limit: number, nowMs: number): Buffer {
    const items = rows.map((row) => this.row(row, nowMs));
    const last = items.at(-1);
    const cursor =
      rows.length === limit && last
        ? positionCursor({ createdAt: new Date(last.createdAt), id: last.id })
        : null;
    return jsonPageBytes(
      items.map((item) => item.json),
      cursor,
    );
  }

  private row(row: ListedRow, nowMs: number): Written {
    const known = this.written.get(row.id);
    if (known && sameRow(known, row)) return known;
    const cells = this.cellsOf(row);
    const written: Written = {
      ...row,
      json: ownBytes(listedRecordingJson(cells, row, nowMs)),
      createdAt: cells[CELL.createdAt] as string,
    };
    // A job holding a lease reads as expired once the time passes it: written anew each time.
    const timeless = !isActive(cells[CELL.jobState] as string) || cells[CELL.leaseExpiresAt] === null;
    if (timeless) {
      this.written.delete(row.id); // (re)inserted last: the first key is the one kept longest
      if (this.written.size >= this.kept) this.written.delete(this.written.keys().next().value as string);
      this.written.set(row.id, written);
    }
    return written;
  }
}
