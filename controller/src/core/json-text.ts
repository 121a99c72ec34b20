/**
 * JSON values written as text, for the pages written straight from database cells
 * (modules/recordings/listed-json.ts, modules/nodes/listed-json.ts): each writes what
 * JSON.stringify writes for the value the model would hold.
 */

/** Text (escaped as JSON.stringify escapes it) or null. */
export const jsonText = (v: unknown): string => (v === null ? 'null' : JSON.stringify(v));

/** A number (a BigInt column read through JSON is one) or null. */
export const jsonNumber = (v: unknown): string => (v === null ? 'null' : String(Number(v)));

/** ISO-8601 text (already normalised: nothing to escape) or null. */
export const jsonDate = (v: unknown): string => (v === null ? 'null' : `"${v as string}"`);

/** A boolean from SQLite's 0/1 or PostgreSQL's true/false. */
export const jsonBool = (v: unknown): string => (v ? 'true' : 'false');

/** `{"data":[…],"nextCursor":…}` from items already written as JSON. */
export const jsonPage = (items: readonly string[], nextCursor: string | null): string =>
  `{"data":[${items.join(',')}],"nextCursor":${nextCursor === null ? 'null' : JSON.stringify(nextCursor)}}`;
