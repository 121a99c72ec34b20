/**
 * The health events page's model, pure (test/unit/console-node-health-model.test.ts): its state in
 * the URL (status, a node and type narrowing, the list's page, the per-node timeline view), the suppression
 * lengths offered and the `until` each sends, and a node's events laid out as a timeline.
 */

export const HEALTH_STATUSES = ['open', 'acknowledged', 'suppressed', 'resolved'] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

export interface HealthView {
  status: HealthStatus;
  nodeId?: string;
  type?: string;
  /** `timeline`: the node's events over time, every status (needs a node). */
  view: 'list' | 'timeline';
  /** The list's page: the API's cursor of the page after the newest (none: the newest). */
  cursor?: string;
}

const SAFE = /^[A-Za-z0-9_.:-]{1,64}$/;
/** The API's cursors are base64url text. */
const CURSOR = /^[A-Za-z0-9_-]{1,512}$/;

export function healthViewFrom(search: string): HealthView {
  const q = new URLSearchParams(search);
  const status = q.get('status') ?? '';
  const nodeId = q.get('nodeId') ?? '';
  const type = q.get('type') ?? '';
  const out: HealthView = {
    status: (HEALTH_STATUSES as readonly string[]).includes(status) ? (status as HealthStatus) : 'open',
    view: 'list',
  };
  if (SAFE.test(nodeId)) out.nodeId = nodeId;
  if (SAFE.test(type)) out.type = type;
  if (q.get('view') === 'timeline' && out.nodeId) out.view = 'timeline';
  const cursor = q.get('cursor') ?? '';
  if (out.view === 'list' && CURSOR.test(cursor)) out.cursor = cursor;
  return out;
}

/**
 * The URL query of a view (`?status=…&nodeId=…&type=…&view=timeline`, or the list's `cursor`
 * last), `list` left out.
 */
export function searchFromHealthView(view: HealthView): string {
  const q = new URLSearchParams({ status: view.status });
  if (view.nodeId) q.set('nodeId', view.nodeId);
  if (view.type) q.set('type', view.type);
  if (view.view === 'timeline' && view.nodeId) q.set('view', 'timeline');
  else if (view.cursor) q.set('cursor', view.cursor);
  return `?${q.toString()}`;
}

/** The list's API query for a view: the timeline reads every status, newest first. */
export function healthQuery(view: HealthView, limit: number): string {
  const q = new URLSearchParams({ limit: String(limit) });
  if (view.view === 'list') q.set('status', view.status);
  if (view.nodeId) q.set('nodeId', view.nodeId);
  if (view.type) q.set('type', view.type);
  if (view.view === 'list' && view.cursor) q.set('cursor', view.cursor);
  return q.toString();
}

/** The view with its filters changed: back to the newest page (a cursor belongs to its filters). */
export function refiltered(view: HealthView, change: Partial<Omit<HealthView, 'cursor'>>): HealthView {
  const { cursor: _, ...rest } = view;
  const next: HealthView = { ...rest, ...change };
  for (const key of ['nodeId', 'type'] as const) if (!next[key]) delete next[key];
  return next;
}

/** The suppression lengths offered (the API takes up to 90 days ahead). */
export const SUPPRESS_FOR = [
  { key: '1h', label: '1 hour', ms: 3_600_000 },
  { key: '4h', label: '4 hours', ms: 4 * 3_600_000 },
  { key: '24h', label: '24 hours', ms: 86_400_000 },
  { key: '7d', label: '7 days', ms: 7 * 86_400_000 },
] as const;

/** `until` for a suppression of `key` from `nowMs` (ISO); undefined for an unknown key. */
export function suppressUntil(key: string, nowMs: number): string | undefined {
  const choice = SUPPRESS_FOR.find((c) => c.key === key);
  return choice ? new Date(nowMs + choice.ms).toISOString() : undefined;
}

/** The fields of a health event the timeline reads. */
export interface TimelineEvent {
  id: string;
  type: string;
  severity: string;
  status: string;
  message: string;
  firstSeenAt: string;
  lastSeenAt: string;
  resolvedAt: string | null;
  suppressedUntil: string | null;
}

export interface TimelineEntry<T extends TimelineEvent> {
  event: T;
  /** When it opened. */
  start: string;
  /** When it was resolved; null while it is not. */
  end: string | null;
  /** How long it lasted (or has lasted so far), in words. */
  lasted: string;
  /** Its place on the bar across the timeline's span, 0–1. */
  from: number;
  to: number;
}

/** "45 s", "12 min", "3 h 5 min", "2 d 4 h". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 24) return min % 60 ? `${h} h ${min % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/**
 * A node's events as a timeline, newest opening first: each from its first sighting to its
 * resolution (or now while unresolved), placed on a bar spanning the oldest opening to now.
 */
export function timelineOf<T extends TimelineEvent>(events: readonly T[], nowMs: number): TimelineEntry<T>[] {
  if (events.length === 0) return [];
  const startMs = Math.min(...events.map((e) => Date.parse(e.firstSeenAt)));
  const span = Math.max(1, nowMs - startMs);
  const place = (ms: number) => Math.min(1, Math.max(0, (ms - startMs) / span));
  return [...events]
    .sort((a, b) => b.firstSeenAt.localeCompare(a.firstSeenAt) || a.id.localeCompare(b.id))
    .map((event) => {
      const opened = Date.parse(event.firstSeenAt);
      const end = event.status === 'resolved' ? event.resolvedAt : null;
      const endMs = end ? Date.parse(end) : nowMs;
      return {
        event,
        start: event.firstSeenAt,
        end,
        lasted: duration(endMs - opened),
        from: place(opened),
        to: Math.max(place(opened) + 0.005, place(endMs)),
      };
    });
}
