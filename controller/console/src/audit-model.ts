/**
 * The audit trail page's model: its filters read from and written to the URL (the same names
 * as the API's query, so the list, the facets and the export read one query string), the
 * cursor of the page shown, and the before/after diff of one event, key by key.
 */

/** The API's filters (`GET /audit-events`) the page offers, in the order of the form. */
export const FILTER_KEYS = [
  'actorName',
  'action',
  'outcome',
  'targetType',
  'targetId',
  'from',
  'to',
] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];
export type AuditFilters = Partial<Record<FilterKey, string>>;

export const OUTCOMES = ['success', 'denied', 'failure'] as const;

/** The filters (and the page's cursor) in a URL query; unknown or malformed values are left out. */
export function filtersFromSearch(search: string): { filters: AuditFilters; cursor?: string } {
  const params = new URLSearchParams(search);
  const filters: AuditFilters = {};
  for (const key of FILTER_KEYS) {
    const value = params.get(key)?.trim();
    if (!value) continue;
    if (key === 'outcome' && !(OUTCOMES as readonly string[]).includes(value)) continue;
    if ((key === 'from' || key === 'to') && Number.isNaN(Date.parse(value))) continue;
    filters[key] = value;
  }
  const cursor = params.get('cursor') ?? undefined;
  return cursor ? { filters, cursor } : { filters };
}

/** A URL query (with `?`, or empty) for these filters, in a stable order; the cursor last. */
export function searchFromFilters(filters: AuditFilters, cursor?: string): string {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const value = filters[key]?.trim();
    if (value) params.set(key, value);
  }
  if (cursor) params.set('cursor', cursor);
  const query = params.toString();
  return query ? `?${query}` : '';
}

/** An instant as a `datetime-local` input shows it (the operator's time zone, to the minute). */
export function toLocalInput(iso: string | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A `datetime-local` value (the operator's time zone) as an instant for the API; empty stays empty. */
export function fromLocalInput(value: string): string | undefined {
  if (!value) return undefined;
  const date = new Date(value); // no zone in the string: read as local time
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

export type DiffChange = 'added' | 'removed' | 'changed' | 'same';
export interface DiffRow {
  /** Dotted path of the key (`scope.id`); `(value)` when before or after is not an object. */
  key: string;
  before?: string;
  after?: string;
  change: DiffChange;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Nested objects flattened to dotted keys; arrays and scalars are leaves (shown as JSON). */
function flatten(value: unknown, prefix: string, into: Map<string, string>): void {
  if (isPlainObject(value) && Object.keys(value).length > 0) {
    for (const [key, inner] of Object.entries(value)) flatten(inner, prefix ? `${prefix}.${key}` : key, into);
    return;
  }
  into.set(prefix || '(value)', JSON.stringify(value) ?? 'undefined');
}

/**
 * Before and after side by side, one row per key (nested keys dotted), sorted by key: added,
 * removed, changed or the same. A missing side (null: nothing before a create, nothing after
 * a delete) has no keys.
 */
export function auditDiff(before: unknown, after: unknown): DiffRow[] {
  const left = new Map<string, string>();
  const right = new Map<string, string>();
  if (before !== null && before !== undefined) flatten(before, '', left);
  if (after !== null && after !== undefined) flatten(after, '', right);
  const keys = [...new Set([...left.keys(), ...right.keys()])].sort();
  return keys.map((key) => {
    const b = left.get(key);
    const a = right.get(key);
    const change: DiffChange =
      b === undefined ? 'added' : a === undefined ? 'removed' : a === b ? 'same' : 'changed';
    return { key, ...(b !== undefined && { before: b }), ...(a !== undefined && { after: a }), change };
  });
}
