/** Cursor pagination (README, "API conventions"): opaque cursor, limit clamped to 1..200. */
import Type, { type TSchema } from 'typebox';
import { badRequest } from './errors.js';

export const MAX_PAGE = 200;
export const DEFAULT_PAGE = 50;

export const PageQuery = {
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'Opaque cursor from a previous page' })),
  // Any whole number: a script asking for more than a page gets a full page, not a 400.
  limit: Type.Optional(
    Type.Integer({ description: `Items per page (default ${DEFAULT_PAGE}), clamped to 1–${MAX_PAGE}` }),
  ),
};

/** The query of a list with no filters: a page and nothing else. */
export const PageOnlyQuery = Type.Object(PageQuery, { additionalProperties: false });

export function clampLimit(limit: number | undefined): number {
  return Math.min(Math.max(limit ?? DEFAULT_PAGE, 1), MAX_PAGE);
}

export function encodeCursor(value: string | number): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/**
 * What a cursor holds: a `string` key (no NUL: PostgreSQL cannot compare one); a `sequence` (an
 * audit seq, a revision number: a whole number an Int column holds); a `time` in ms (a whole
 * number of a date from 1970 to the year 9999, which every database and Date hold).
 */
export type CursorKind = 'string' | 'sequence' | 'time';

const MAX_SEQUENCE = 2 ** 31 - 1;
/** The last millisecond of the year 9999: the latest time a cursor names. */
export const MAX_CURSOR_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

const fits: Record<CursorKind, (value: unknown) => boolean> = {
  string: (value) => typeof value === 'string' && !value.includes('\0'),
  sequence: (value) => Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_SEQUENCE,
  time: (value) => Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_CURSOR_MS,
};

/** The position a cursor names; a 400 when it is not one a page of this list ends on. */
export function decodeCursor<T extends string | number>(
  cursor: string | undefined,
  kind: CursorKind,
): T | undefined {
  if (cursor === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (fits[kind](value)) return value as T;
  } catch {
    // fall through
  }
  throw badRequest('cursor is not valid: pass the nextCursor of a previous page');
}

/** `{ data: [...], nextCursor }` response schema for a list of items. */
export function PageOf<T extends TSchema>(item: T) {
  return Type.Object({ data: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });
}

export function Data<T extends TSchema>(item: T) {
  return Type.Object({ data: item });
}

export const ErrorResponse = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }),
  requestId: Type.String(),
});

/** 204 responses. */
export const NoContent = Type.Null({ description: 'No content' });

/** `{ data, nextCursor }` for a page of rows fetched with `limit`; `cursorOf` names the last row's position. */
export function pageOf<R, T>(rows: R[], limit: number, present: (row: R) => T, cursorOf: (row: R) => string) {
  const last = rows[rows.length - 1];
  return {
    data: rows.map(present),
    nextCursor: rows.length === limit && last !== undefined ? cursorOf(last) : null,
  };
}

/** One entry of an object's `/actions`: whether the caller may do it now, and why not. */
export const AllowedAction = Type.Object({
  allowed: Type.Boolean(),
  reason: Type.Union([Type.String(), Type.Null()], { description: 'Why not, when not allowed' }),
});
