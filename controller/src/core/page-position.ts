/** Cursors of the newest-first recording and job lists: the last row's (createdAt, id). */
import { badRequest } from '../../core/errors.js';
import { decodeCursor, encodeCursor } from '../../core/pagination.js';
import type { PagePosition } from './jobs.repository.js';

export function positionCursor(row: PagePosition): string {
  return encodeCursor(`${row.createdAt.getTime()}.${row.id}`);
}

export function parsePositionCursor(cursor: string | undefined): PagePosition | undefined {
  const value = decodeCursor<string>(cursor, 'string');
  if (value === undefined) return undefined;
  const match = /^(\d{1,15})\.([A-Za-z0-9_-]{1,64})$/.exec(value);
  if (!match) throw badRequest('cursor is not valid: pass the nextCursor of a previous page');
  return { createdAt: new Date(Number(match[1])), id: match[2]! };
}
