/** Cursors of newest-first lists (recordings, jobs, schedules): the last row's (createdAt, id). */
import { badRequest } from './errors.js';
import { decodeCursor, encodeCursor, MAX_CURSOR_MS } from './pagination.js';

/** Newest first; the cursor is the last row's (createdAt, id). */
export interface PagePosition {
  createdAt: Date;
  id: string;
}

export function positionCursor(row: PagePosition): string {
  return encodeCursor(`${row.createdAt.getTime()}.${row.id}`);
}

export function parsePositionCursor(cursor: string | undefined): PagePosition | undefined {
  const value = decodeCursor<string>(cursor, 'string');
  if (value === undefined) return undefined;
  const match = /^(\d{1,15})\.([A-Za-z0-9_-]{1,64})$/.exec(value);
  if (!match || Number(match[1]) > MAX_CURSOR_MS)
    throw badRequest('cursor is not valid: pass the nextCursor of a previous page');
  return { createdAt: new Date(Number(match[1])), id: match[2]! };
}

/** Where a newest-first page goes on: the rows strictly after `position` in (createdAt, id) order. */
export type OlderThan = { OR?: ({ createdAt: { lt: Date } } | { createdAt: Date; id: { lt: string } })[] };

/** The condition for the rows after `position` (none for the first page), for any model keyed so. */
export function olderThan(position: PagePosition | undefined): OlderThan {
  if (!position) return {};
  return {
    OR: [
      { createdAt: { lt: position.createdAt } },
      { createdAt: position.createdAt, id: { lt: position.id } },
    ],
  };
}
