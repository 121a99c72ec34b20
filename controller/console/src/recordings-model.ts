/**
 * The Recordings pages' model: the library's filters read from and written to the URL (the
 * API's own query names, so the list and its facets read one query string), sizes and
 * durations as people read them, and the waveform's drawing maths (server peaks to pixel
 * columns, a click's x to a time and back).
 */

/** The API's library filters (`GET /recordings`, `/recordings/facets`), in the form's order. */
export const LIBRARY_FILTER_KEYS = [
  'q',
  'siteId',
  'nodeId',
  'state',
  'tag',
  'container',
  'from',
  'to',
] as const;
export type LibraryFilterKey = (typeof LIBRARY_FILTER_KEYS)[number];
export type LibraryFilters = Partial<Record<LibraryFilterKey, string>>;

export const RECORDING_STATES = [
  'pending',
  'recording',
  'uploading',
  'completed',
  'failed',
  'cancelled',
  'lost_contact',
] as const;

const ID = /^[A-Za-z0-9_-]{1,64}$/;
/** The file formats the library filters by (the API's `container`). */
export const CONTAINERS: readonly string[] = ['wav', 'flac'];

/** The filters in a URL query; unknown or malformed values are left out (the API would refuse them). */
export function libraryFiltersFromSearch(search: string): LibraryFilters {
  const params = new URLSearchParams(search);
  const filters: LibraryFilters = {};
  for (const key of LIBRARY_FILTER_KEYS) {
    const value = params.get(key)?.trim();
    if (!value) continue;
    if ((key === 'nodeId' || key === 'siteId') && !ID.test(value)) continue;
    if (key === 'container' && !CONTAINERS.includes(value)) continue;
    if (key === 'q' && value.length > 200) continue;
    if (key === 'state' && !(RECORDING_STATES as readonly string[]).includes(value)) continue;
    if (key === 'tag' && value.length > 64) continue;
    if ((key === 'from' || key === 'to') && Number.isNaN(Date.parse(value))) continue;
    filters[key] = key === 'from' || key === 'to' ? new Date(value).toISOString() : value;
  }
  return filters;
}

/** A URL query (with `?`, or empty) for these filters, in a stable order. */
export function searchFromLibraryFilters(filters: LibraryFilters): string {
  const params = new URLSearchParams();
  for (const key of LIBRARY_FILTER_KEYS) {
    const value = filters[key]?.trim();
    if (value) params.set(key, value);
  }
  const query = params.toString();
  return query ? `?${query}` : '';
}

/** The filters with one changed (an empty value removes it). */
export function withFilter(filters: LibraryFilters, key: LibraryFilterKey, value: string | undefined) {
  const next: LibraryFilters = { ...filters };
  if (value) next[key] = value;
  else delete next[key];
  return next;
}

/**
 * "Jump to" a moment in a newest-first library: the recordings created up to and including
 * that minute (`to` is exclusive, so the minute's end). `from` stays as set.
 */
export function jumpTo(filters: LibraryFilters, instantIso: string | undefined): LibraryFilters {
  if (!instantIso) return withFilter(filters, 'to', undefined);
  const ms = Date.parse(instantIso);
  if (Number.isNaN(ms)) return filters;
  return withFilter(filters, 'to', new Date(ms + 60_000).toISOString());
}

/** The minute `to` was set from by `jumpTo` (what its input shows), or undefined. */
export function jumpedMinute(filters: LibraryFilters): string | undefined {
  if (!filters.to) return undefined;
  return new Date(Date.parse(filters.to) - 60_000).toISOString();
}

/** The query the API takes for these filters and a page (`limit`, `cursor`). */
/** The list's page in a URL query: the API's cursor of the page after the newest (none: the newest). */
export function pageCursorFromSearch(search: string): string | undefined {
  const cursor = new URLSearchParams(search).get('cursor') ?? '';
  return /^[A-Za-z0-9_-]{1,512}$/.test(cursor) ? cursor : undefined;
}

/** A URL query (with `?`, or empty) for these filters and a page's cursor (last). */
export function searchFromLibraryPage(filters: LibraryFilters, cursor: string | undefined): string {
  const query = searchFromLibraryFilters(filters);
  if (!cursor) return query;
  return `${query ? `${query}&` : '?'}cursor=${encodeURIComponent(cursor)}`;
}

/** The API's query (with `?`, or empty) for these filters, a page of the list, or an export's format. */
export function apiQuery(
  filters: LibraryFilters,
  page: { limit?: number; cursor?: string; format?: 'csv' | 'ndjson' } = {},
): string {
  const params = new URLSearchParams(searchFromLibraryFilters(filters));
  if (page.limit) params.set('limit', String(page.limit));
  if (page.cursor) params.set('cursor', page.cursor);
  if (page.format) params.set('format', page.format);
  const query = params.toString();
  return query ? `?${query}` : '';
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** 0:07, 12:03, 2:00:00. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

/** Tags as typed in one field (commas or new lines), trimmed, empty ones and repeats left out. */
export function parseTags(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/[,\n]/)
        .map((t) => t.trim())
        .filter((t) => t.length > 0),
    ),
  ];
}

/** One pixel column of a waveform: from `top` to `bottom` (canvas y, 0 at the top). */
export interface PeakColumn {
  top: number;
  bottom: number;
}

/**
 * Peaks (fractions −1…1 of full scale) as `width` pixel columns of a canvas `height` high, the
 * centre line at zero: each column spans the extremes of the peaks falling in it, at least one
 * pixel tall (silence draws as the centre line).
 */
export function peakColumns(min: readonly number[], max: readonly number[], width: number, height: number) {
  const columns: PeakColumn[] = [];
  const n = Math.min(min.length, max.length);
  if (n === 0 || width < 1 || height < 1) return columns;
  const mid = height / 2;
  for (let x = 0; x < width; x++) {
    const from = Math.floor((x * n) / width);
    const to = Math.max(from + 1, Math.floor(((x + 1) * n) / width));
    let lo = 1;
    let hi = -1;
    for (let i = from; i < to && i < n; i++) {
      if (min[i]! < lo) lo = min[i]!;
      if (max[i]! > hi) hi = max[i]!;
    }
    const top = Math.floor(mid - Math.max(-1, Math.min(1, hi)) * mid);
    const bottom = Math.ceil(mid - Math.max(-1, Math.min(1, lo)) * mid);
    columns.push({ top, bottom: Math.max(bottom, top + 1) });
  }
  return columns;
}

/** How many peaks to ask for a canvas of `cssWidth` CSS pixels (one per device pixel, within the API's limit). */
export function peakPointsFor(cssWidth: number, devicePixelRatio: number): number {
  return Math.max(1, Math.min(8192, Math.round(cssWidth * Math.max(1, devicePixelRatio))));
}

/** The time (s) a click at `x` of `width` means in a recording of `durationS` seconds. */
export function timeAtX(x: number, width: number, durationS: number): number {
  if (width <= 0 || !(durationS > 0)) return 0;
  return Math.max(0, Math.min(durationS, (x / width) * durationS));
}

/** Where the playhead at `timeS` is drawn on a canvas `width` wide. */
export function xAtTime(timeS: number, width: number, durationS: number): number {
  if (!(durationS > 0)) return 0;
  return Math.max(0, Math.min(width, (timeS / durationS) * width));
}

/** An instant as a `datetime-local` input shows it (the operator's time zone, to the minute). */
export function localInputOf(iso: string | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A `datetime-local` value (the operator's time zone) as an instant; empty or invalid: undefined. */
export function instantOfLocalInput(value: string): string | undefined {
  if (!value) return undefined;
  const date = new Date(value); // no zone in the string: read as local time
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
