/**
 * JSON values written as text, for the pages written straight from database cells
 * (modules/recordings/listed-json.ts, modules/nodes/listed-json.ts): each writes what
 * JSON.stringify writes for the value the model would hold.
 */

/** What JSON.stringify escapes in a string: `"`, `\`, control characters, lone surrogates (any surrogate here). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what it finds
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** Text (escaped as JSON.stringify escapes it: most list text, ids and states, needs nothing) or null. */
export const jsonText = (v: unknown): string =>
  v === null ? 'null' : NEEDS_ESCAPE.test(v as string) ? JSON.stringify(v) : `"${v as string}"`;

/** A number (a BigInt column read through JSON is one) or null. */
export const jsonNumber = (v: unknown): string => (v === null ? 'null' : String(Number(v)));

/** ISO-8601 text (already normalised: nothing to escape) or null. */
export const jsonDate = (v: unknown): string => (v === null ? 'null' : `"${v as string}"`);

/** A boolean from SQLite's 0/1 or PostgreSQL's true/false. */
export const jsonBool = (v: unknown): string => (v ? 'true' : 'false');

const PAGE_OPEN = '{"data":[';
/** What closes a page after its items. */
const pageClose = (nextCursor: string | null): string =>
  `],"nextCursor":${nextCursor === null ? 'null' : JSON.stringify(nextCursor)}}`;

/** `{"data":[…],"nextCursor":…}` from items already written as JSON. */
export const jsonPage = (items: readonly string[], nextCursor: string | null): string =>
  `${PAGE_OPEN}${items.join(',')}${pageClose(nextCursor)}`;

const PAGE_OPEN_BYTES = Buffer.from(PAGE_OPEN);
const COMMA = Buffer.from(',');

/** `jsonPage` from items already written as JSON bytes (UTF-8): the page's bytes. */
export function jsonPageBytes(items: readonly Buffer[], nextCursor: string | null): Buffer {
  const parts: Buffer[] = [PAGE_OPEN_BYTES];
  items.forEach((item, i) => {
    if (i > 0) parts.push(COMMA);
    parts.push(item);
  });
  parts.push(Buffer.from(pageClose(nextCursor)));
  return Buffer.concat(parts);
}
