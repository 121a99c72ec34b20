/**
 * The fleet overview's model, pure (test/unit/console-fleet-model.test.ts): a node's state
 * from its presence, capture state and clock, and the tiles grouped by site or tag with problems first.
 */

/** The fields of `GET /api/v1/nodes` the overview reads. */
export interface FleetNode {
  id: string;
  name: string;
  site: { id: string; name: string };
  presence: { online: boolean; lastSeenAt: string | null };
  capture: { state: string | null; channels?: number };
  clockOffsetMs: number | null;
  diskFreeBytes?: number | null;
  /** Hours of recording its free space holds (its last heartbeat). */
  headroomHours?: number | null;
  tags?: string[];
  decommissionedAt?: string | null;
  /** Open health events on it (from `GET /health-events/facets?status=open`, when readable). */
  openAlerts?: number;
}

/** The nodes with their open alert counts (`nodeId` facet counts) merged in. */
export function withAlerts(
  nodes: readonly FleetNode[],
  counts: readonly { value: string; count: number }[],
): FleetNode[] {
  const byNode = new Map(counts.map((c) => [c.value, c.count]));
  return nodes.map((node) => ({ ...node, openAlerts: byNode.get(node.id) ?? 0 }));
}

/** What the overview shows, from its URL (`?site=…&tag=…&problems=1`). */
export interface FleetFilter {
  site?: string;
  tag?: string;
  /** Only offline and degraded nodes. */
  problems?: boolean;
  /** Tiles grouped by tag (a node under each of its tags); by site when not said. */
  group?: 'tag';
}

export function filterFromSearch(search: string): FleetFilter {
  const query = new URLSearchParams(search);
  return {
    site: query.get('site') || undefined,
    tag: query.get('tag') || undefined,
    problems: query.get('problems') === '1',
    ...(query.get('group') === 'tag' && { group: 'tag' as const }),
  };
}

/** The URL query for a filter (empty values left out), with `?` when not empty. */
export function searchFromFilter(filter: FleetFilter): string {
  const query = new URLSearchParams();
  if (filter.site) query.set('site', filter.site);
  if (filter.tag) query.set('tag', filter.tag);
  if (filter.problems) query.set('problems', '1');
  if (filter.group === 'tag') query.set('group', 'tag');
  const text = query.toString();
  return text ? `?${text}` : '';
}

export function applyFilter(nodes: readonly FleetNode[], filter: FleetFilter): FleetNode[] {
  return nodes.filter(
    (node) =>
      (!filter.site || node.site.id === filter.site) &&
      (!filter.tag || (node.tags ?? []).includes(filter.tag)) &&
      (!filter.problems || ['offline', 'degraded'].includes(tileState(node))),
  );
}

/** The sites and tags to filter by, sorted, from the nodes in service. */
export function facetsOf(nodes: readonly FleetNode[]): {
  sites: { id: string; name: string }[];
  tags: string[];
} {
  const sites = new Map<string, { id: string; name: string }>();
  const tags = new Set<string>();
  for (const node of nodes) {
    if (node.decommissionedAt) continue;
    sites.set(node.site.id, node.site);
    for (const tag of node.tags ?? []) tags.add(tag);
  }
  return {
    sites: [...sites.values()].sort((a, b) => a.name.localeCompare(b.name)),
    tags: [...tags].sort(),
  };
}

export type TileState = 'offline' | 'degraded' | 'recording' | 'online';

/** Past this, an agent's clock is far enough off to say so (timestamps of its recordings drift). */
export const CLOCK_SKEW_LIMIT_MS = 1000;

/** Problems first: the order tiles sort in within a site, and sites by their worst tile. */
const RANK: Record<TileState, number> = { offline: 0, degraded: 1, recording: 2, online: 3 };

export function tileState(node: FleetNode): TileState {
  if (!node.presence.online) return 'offline';
  if (node.capture.state === 'error' || (node.openAlerts ?? 0) > 0) return 'degraded';
  if (node.clockOffsetMs !== null && Math.abs(node.clockOffsetMs) > CLOCK_SKEW_LIMIT_MS) return 'degraded';
  if (node.capture.state === 'capturing') return 'recording';
  return 'online';
}

/** Why a tile is degraded, in words (empty when it is not). */
export function problems(node: FleetNode): string[] {
  const out: string[] = [];
  if (node.presence.online && node.capture.state === 'error') out.push('capture error');
  const alerts = node.openAlerts ?? 0;
  if (alerts > 0) out.push(`${alerts} open alert${alerts === 1 ? '' : 's'}`);
  if (
    node.presence.online &&
    node.clockOffsetMs !== null &&
    Math.abs(node.clockOffsetMs) > CLOCK_SKEW_LIMIT_MS
  )
    out.push(`clock off by ${(node.clockOffsetMs / 1000).toFixed(1)} s`);
  return out;
}

export interface TileGroup {
  /** The site's id, or the tag (`untagged` for the nodes without one). */
  key: string;
  name: string;
  nodes: FleetNode[];
  counts: Record<TileState, number>;
}

/** The group of the nodes without a tag, when grouped by tag. */
export const UNTAGGED = 'No tag';

/**
 * The tiles by site, or by tag (a node under each of its tags; those without one under
 * UNTAGGED): groups with a problem first (then by name); within a group, problems first, then
 * by name. Decommissioned nodes are left out.
 */
export function groupTiles(nodes: readonly FleetNode[], by: 'site' | 'tag' = 'site'): TileGroup[] {
  const groups = new Map<string, TileGroup>();
  const add = (key: string, name: string, node: FleetNode) => {
    let group = groups.get(key);
    if (!group) {
      group = { key, name, nodes: [], counts: { offline: 0, degraded: 0, recording: 0, online: 0 } };
      groups.set(key, group);
    }
    group.nodes.push(node);
    group.counts[tileState(node)] += 1;
  };
  for (const node of nodes) {
    if (node.decommissionedAt) continue;
    if (by === 'site') add(`site:${node.site.id}`, node.site.name, node);
    else if ((node.tags ?? []).length === 0) add('untagged', UNTAGGED, node);
    else for (const tag of node.tags ?? []) add(`tag:${tag}`, tag, node);
  }
  const byRankThenName = (a: FleetNode, b: FleetNode) =>
    RANK[tileState(a)] - RANK[tileState(b)] || a.name.localeCompare(b.name) || a.id.localeCompare(b.id);
  const sorted = [...groups.values()];
  for (const group of sorted) group.nodes.sort(byRankThenName);
  const worst = (g: TileGroup) => Math.min(...g.nodes.map((n) => RANK[tileState(n)]));
  return sorted.sort((a, b) => worst(a) - worst(b) || a.name.localeCompare(b.name));
}

/** "12 s ago", "5 min ago", "3 h ago", "2 d ago"; "never" without a time. */
export function relativeTime(iso: string | null, nowMs: number): string {
  if (!iso) return 'never';
  const seconds = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

/**
 * What a screen reader hears when the list is read again: the nodes whose state changed,
 * in words ("Hall A is offline"). Levels and ages are never announced, only state changes.
 */
export function stateChanges(
  before: readonly FleetNode[] | undefined,
  after: readonly FleetNode[],
): string[] {
  if (!before) return [];
  const was = new Map(before.map((node) => [node.id, tileState(node)]));
  return after.flatMap((node) => {
    const previous = was.get(node.id);
    const state = tileState(node);
    return previous !== undefined && previous !== state ? [`${node.name} is ${state}`] : [];
  });
}

/** "12.3 GB free", "850 MB free"; undefined when not reported. */
export function diskFree(bytes: number | null | undefined): string | undefined {
  if (bytes === null || bytes === undefined) return undefined;
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]} free`;
}

/**
 * The recording headroom: "31 h left", "6 d left", "< 1 h left" (of recording at the node's
 * present rate); undefined when not reported.
 */
export function headroom(hours: number | null | undefined): string | undefined {
  if (hours === null || hours === undefined) return undefined;
  if (hours < 1) return '< 1 h left';
  if (hours < 72) return `${Math.floor(hours)} h left`;
  return `${Math.floor(hours / 24)} d left`;
}

/** "clock +0.2 s" (the agent ahead) or "clock −1.5 s"; undefined when not reported. */
export function clockSkew(offsetMs: number | null): string | undefined {
  if (offsetMs === null) return undefined;
  const seconds = (Math.abs(offsetMs) / 1000).toFixed(1);
  // No sign on what rounds to nothing (a −40 ms offset is "±0.0 s", not "−0.0 s").
  const sign = seconds === '0.0' ? '±' : offsetMs < 0 ? '−' : '+';
  return `clock ${sign}${seconds} s`;
}

/** At or under this peak a tile's channel reads "silent" (meter-model.ts NO_SIGNAL_DBFS). */
const SILENT_DBFS = -90;

/**
 * A tile's channel levels in words, for its accessible name (refreshed with the 1 Hz frames,
 * never announced): "Levels: 1 −12 dBFS, 2 silent"; "No levels yet" before a frame.
 */
export function levelsText(peaks: ArrayLike<number>, channels: number): string {
  if (channels === 0) return 'No levels yet';
  const parts: string[] = [];
  for (let i = 0; i < channels; i++) {
    const db = peaks[i] ?? Number.NaN;
    parts.push(
      `${i + 1} ${Number.isNaN(db) ? '—' : db <= SILENT_DBFS ? 'silent' : `${Math.round(db)} dBFS`.replace('-', '−')}`,
    );
  }
  return `Levels: ${parts.join(', ')}`;
}
