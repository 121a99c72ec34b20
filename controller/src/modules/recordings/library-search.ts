/**
 * The library's text search (`q` on the list, its facets and export): each word must appear in
 * the title or the notes, in any case. The list reads through the raw driver and the facets and
 * export through Prisma; both match the same way here. Case: PostgreSQL's ILIKE and Prisma's
 * insensitive mode there; SQLite's LIKE ignores the case of ASCII letters by itself.
 */
import type { Provider } from '../../db/client.js';
import type { RawDb, SqlValue } from '../../db/raw.js';
import type { Prisma } from '../../db/rows.js';

/** Words past this many are not matched. */
export const MAX_SEARCH_WORDS = 8;

/** A search's words: split on white space, at most MAX_SEARCH_WORDS. */
export function searchWords(q: string | undefined): string[] {
  if (q === undefined) return [];
  return q.split(/\s+/).filter(Boolean).slice(0, MAX_SEARCH_WORDS);
}

/** Prisma conditions: each word in the title or the notes. */
export function searchWhere(q: string | undefined, provider: Provider): Prisma.RecordingWhereInput[] {
  // The SQLite client's types have no `mode`; PostgreSQL's takes it.
  const mode = (provider === 'postgresql' ? { mode: 'insensitive' } : {}) as object;
  return searchWords(q).map((word) => ({
    OR: [{ title: { contains: word, ...mode } }, { notes: { contains: word, ...mode } }],
  }));
}

/** SQL conditions on the recording aliased `r`: each word in the title or the notes. */
export function searchSql(raw: RawDb, param: (value: SqlValue) => string, q: string | undefined): string[] {
  const like = raw.provider === 'postgresql' ? 'ILIKE' : 'LIKE';
  return searchWords(q).map((word) => {
    const pattern = param(`%${word}%`);
    return `(r."title" ${like} ${pattern} OR r."notes" ${like} ${pattern})`;
  });
}
