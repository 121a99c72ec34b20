/**
 * The library list keeps each row's JSON while the row is unchanged (listed-json.ts). These pin
 * what it may keep and for how long: any change to what a row was read as writes it again, a job
 * holding a lease is written each time (it runs out with the clock, not with the row), and what is
 * kept is bounded. The bytes themselves are pinned against the schema's serialiser in
 * test/integration/list-answers.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { parsePositionCursor } from '../../controller/src/core/page-position.js';
import { ListedRecordingsJson } from '../../controller/src/modules/recordings/listed-json.js';
import { CELL, type ListedRow } from '../../controller/src/modules/recordings/recordings.repository.js';

const CELL_COUNT = 43;
const CREATED = '2026-12-01T10:00:00.000Z';

/** A listed row as the repository reads it, with its job in `jobState` and a lease until `lease`. */
function row(
  id: string,
  change: { title?: string; jobState?: string; lease?: string | null } = {},
): ListedRow {
  const cells: unknown[] = Array(CELL_COUNT).fill(null);
  Object.assign(cells, {
    [CELL.id]: id,
    1: 'node-1',
    2: 'site-1',
    3: change.title ?? `take ${id}`,
    4: 'recording',
    5: 48_000,
    6: 2,
    7: 16,
    8: 'wav',
    10: 0,
    16: 0,
    [CELL.createdAt]: CREATED,
    [CELL.jobId]: `job-${id}`,
    21: id,
    22: 'node-1',
    [CELL.jobState]: change.jobState ?? 'queued',
    24: 1,
    [CELL.leaseExpiresAt]: change.lease ?? null,
    27: 0,
    34: 1,
    36: CREATED,
    [CELL.customFields]: '{}',
    [CELL.legalHold]: 0,
  });
  return {
    id,
    cells: JSON.stringify(cells),
    tags: '[]',
    integratedLufs: null,
    loudnessRangeLu: null,
    truePeakDbtp: null,
  };
}

/** A writer whose parses are counted (each parse is a row written anew). */
function writer(kept?: number) {
  const parsed: string[] = [];
  const listed = new ListedRecordingsJson((r) => {
    parsed.push(r.id);
    return JSON.parse(r.cells) as unknown[];
  }, kept);
  const page = (rows: ListedRow[], nowMs = Date.parse(CREATED), limit = 50) =>
    JSON.parse(listed.page(rows, limit, nowMs).toString('utf8')) as {
      data: {
        id: string;
        title: string;
        tags: string[];
        loudness: unknown;
        job: { leaseExpired: boolean };
      }[];
      nextCursor: string | null;
    };
  return { parsed, page };
}

describe('ListedRecordingsJson', () => {
  it('writes a row listed again unchanged from what it kept, the same bytes', () => {
    const { parsed, page } = writer();
    const first = page([row('a'), row('b')]);
    const again = page([row('a'), row('b')]);
    expect(again).toEqual(first);
    expect(first.data.map((r) => r.title)).toEqual(['take a', 'take b']);
    expect(parsed).toEqual(['a', 'b']);
  });

  it('writes a row again when anything it was read as changed: its cells, its tags, its loudness', () => {
    const { parsed, page } = writer();
    page([row('a')]);
    expect(page([row('a', { title: 'renamed' })]).data[0]?.title).toBe('renamed');
    expect(page([{ ...row('a', { title: 'renamed' }), tags: '["x"]' }]).data[0]?.tags).toEqual(['x']);
    const measured = {
      ...row('a', { title: 'renamed' }),
      tags: '["x"]',
      truePeakDbtp: -1,
      integratedLufs: -23,
      loudnessRangeLu: 5,
    };
    expect(page([measured]).data[0]?.loudness).toEqual({
      integratedLufs: -23,
      loudnessRangeLu: 5,
      truePeakDbtp: -1,
    });
    expect(page([{ ...measured, integratedLufs: -24 }]).data[0]?.loudness).toMatchObject({
      integratedLufs: -24,
    });
    expect(parsed).toEqual(['a', 'a', 'a', 'a', 'a']);
  });

  it('writes a job holding a lease each time: it runs out with the clock, the row unchanged', () => {
    const { parsed, page } = writer();
    const lease = '2026-12-01T10:00:30.000Z';
    const leased = row('a', { jobState: 'recording', lease });
    expect(page([leased], Date.parse(lease) - 1).data[0]?.job.leaseExpired).toBe(false);
    expect(page([leased], Date.parse(lease)).data[0]?.job.leaseExpired).toBe(true);
    expect(parsed).toEqual(['a', 'a']);
    // Finished, its lease no longer counts: kept like any other row.
    const done = row('a', { jobState: 'completed', lease });
    expect(page([done], Date.parse(lease) + 1).data[0]?.job.leaseExpired).toBe(false);
    page([done], Date.parse(lease) + 2);
    expect(parsed).toEqual(['a', 'a', 'a']);
  });

  it('keeps at most its bound of rows, the one kept longest going first', () => {
    const { parsed, page } = writer(2);
    page([row('a'), row('b'), row('c')]); // c pushes out a
    page([row('b'), row('c')]);
    expect(parsed).toEqual(['a', 'b', 'c']);
    page([row('a')]); // written again; pushes out b
    page([row('c')]);
    page([row('b')]);
    expect(parsed).toEqual(['a', 'b', 'c', 'a', 'b']);
  });

  it('gives a full page the cursor of its last row, kept or not', () => {
    const { page } = writer();
    page([row('b')]);
    const full = page([row('b'), row('a')], undefined, 2);
    expect(full.nextCursor).not.toBeNull();
    expect(parsePositionCursor(full.nextCursor!)).toEqual({ createdAt: new Date(CREATED), id: 'a' });
    expect(page([row('b'), row('a')], undefined, 3).nextCursor).toBeNull();
  });
});
