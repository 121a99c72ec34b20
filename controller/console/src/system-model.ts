/**
 * The system page's pure parts: the health history shaped into chart series, the page's state
 * in the URL (history range, operational log kind and cursor), and readable figures.
 */
import { OPS_EVENT_KINDS, type OpsEventKind } from '../../../shared/src/ops-kinds.js';

/** One stored health sample (`GET /api/v1/health/history`), as far as the chart reads it. */
export interface HealthSample {
  minute: string;
  nodes: { total: number; online: number };
  controller: {
    database: { latencyMs: number | null };
    disk: { freeBytes: number; totalBytes: number } | null;
  };
}

/** Columns as uPlot takes them: x in seconds, then one array per series (null: no sample). */
export interface HistorySeries {
  x: number[];
  online: (number | null)[];
  total: (number | null)[];
  latencyMs: (number | null)[];
  diskUsedPercent: (number | null)[];
}

const MINUTE_S = 60;

/**
 * The samples as series, oldest first, one point per sampled minute; where minutes are
 * missing (the controller was down) one empty point is put in, so the line breaks there
 * instead of joining across the gap. Duplicate minutes keep the first.
 */
export function historySeries(samples: readonly HealthSample[]): HistorySeries {
  const series: HistorySeries = { x: [], online: [], total: [], latencyMs: [], diskUsedPercent: [] };
  const sorted = [...samples].sort((a, b) => Date.parse(a.minute) - Date.parse(b.minute));
  let last: number | undefined;
  for (const sample of sorted) {
    const x = Math.floor(Date.parse(sample.minute) / 1000);
    if (!Number.isFinite(x) || x === last) continue;
    if (last !== undefined && x - last > MINUTE_S) push(series, last + MINUTE_S, null);
    push(series, x, sample);
    last = x;
  }
  return series;
}

function push(series: HistorySeries, x: number, sample: HealthSample | null): void {
  const disk = sample?.controller.disk;
  series.x.push(x);
  series.online.push(sample ? sample.nodes.online : null);
  series.total.push(sample ? sample.nodes.total : null);
  series.latencyMs.push(sample?.controller.database.latencyMs ?? null);
  series.diskUsedPercent.push(
    disk && disk.totalBytes > 0 ? Math.round((1 - disk.freeBytes / disk.totalBytes) * 1000) / 10 : null,
  );
}

/** The history ranges offered, in hours. */
export const RANGES = [1, 6, 24, 168] as const;
export type Range = (typeof RANGES)[number];

/** The operational log's kinds (the API's enum, `GET /api/v1/ops-events?kind=`). */
export const OPS_KINDS = OPS_EVENT_KINDS;
export type OpsKind = OpsEventKind;

export interface SystemView {
  range: Range;
  kind: OpsKind | undefined;
  cursor: string | undefined;
}

export function systemViewFrom(search: string): SystemView {
  const params = new URLSearchParams(search);
  const range = Number(params.get('range'));
  const kind = params.get('kind') ?? '';
  const cursor = params.get('cursor') ?? '';
  return {
    range: (RANGES as readonly number[]).includes(range) ? (range as Range) : 6,
    kind: (OPS_KINDS as readonly string[]).includes(kind) ? (kind as OpsKind) : undefined,
    cursor: cursor && cursor.length <= 200 ? cursor : undefined,
  };
}

/** The URL query of a view (the default range left out). */
export function systemSearch(view: Partial<SystemView>): string {
  const params = new URLSearchParams();
  if (view.range !== undefined && view.range !== 6) params.set('range', String(view.range));
  if (view.kind) params.set('kind', view.kind);
  if (view.cursor) params.set('cursor', view.cursor);
  const text = params.toString();
  return text ? `?${text}` : '';
}

/**
 * Whether a page of the log holds the entry of one settings change (the log writes it beside
 * the live event, so a page read on the event may come before it).
 */
export function logsChange(
  events: readonly { kind: string; data?: Record<string, unknown> }[],
  change: { id: string; revision: unknown },
): boolean {
  return events.some(
    (e) => e.kind === 'settings.changed' && e.data?.id === change.id && e.data?.revision === change.revision,
  );
}

/** `90061` s → `1 d 1 h 1 min`. */
export function uptime(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const parts = [d && `${d} d`, h && `${h} h`, `${m} min`].filter(Boolean);
  return seconds < 60 ? `${Math.max(0, Math.floor(seconds))} s` : parts.join(' ');
}
