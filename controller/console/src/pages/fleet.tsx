/**
 * Fleet overview: one tile per node the caller may see (`GET /api/v1/nodes`, every page),
 * grouped by site, problems first, kept live by the tab's events stream (a `node.*` or
 * `health.*` event or a `reset` reads the list again: one read at a time, the next at the
 * animation frame after it). A read is applied in place: each node has its own signal, written
 * only when the node changed, so only its tile renders again; the page (sites, order, counts)
 * renders again only when a node's place changed (its site, state, name or tags, a node added
 * or gone). Each online tile shows a 1 Hz level per channel while on screen (fleet-levels.tsx).
 */

import { type Signal, signal, useSignal } from '@preact/signals';
import { Fragment } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { allPages, api } from '../api.js';
import { subscribe } from '../events.js';
import {
  applyFilter,
  clockSkew,
  diskFree,
  type FleetFilter,
  type FleetNode,
  facetsOf,
  filterFromSearch,
  groupTiles,
  headroom,
  problems,
  searchFromFilter,
  stateChanges,
  tileState,
  withAlerts,
} from '../fleet-model.js';
import { location, navigate } from '../router.js';
import { can } from '../session.js';
import { TileLevels } from './fleet-levels.js';
import './fleet.css';
import { Ago } from '../time-ago.js';

const STATE_LABEL = { offline: 'Offline', degraded: 'Degraded', recording: 'Recording', online: 'Online' };

const allNodes = () => allPages<FleetNode>('/nodes');

/** The nodes, with their open alerts when the role reads health events. */
async function fleet(): Promise<FleetNode[]> {
  if (!can('health:read')) return allNodes();
  const [nodes, facets] = await Promise.all([
    allNodes(),
    api<{ data: { nodeId: { value: string; count: number }[] } }>('GET', '/health-events/facets?status=open'),
  ]);
  return withAlerts(nodes, facets.data.nodeId);
}

/** Whether two values read from the API (plain JSON) are the same. */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka)
    if (!same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  return true;
}

/** What places a node's tile on the page (its site and place there, the filters' facets). */
const placeOf = (node: FleetNode) =>
  `${node.site.id}\u0000${node.site.name}\u0000${tileState(node)}\u0000${node.name}\u0000${(node.tags ?? []).join(',')}\u0000${node.decommissionedAt ?? ''}`;

/**
 * The nodes as last read, one signal per node. `apply` writes a read into them in place and
 * answers whether the page must render again (a node's place changed, one added or gone).
 */
class FleetStore {
  readonly byId = new Map<string, Signal<FleetNode>>();
  list: FleetNode[] | undefined;

  apply(next: FleetNode[]): boolean {
    let placed = this.list === undefined || next.length !== this.list.length;
    for (let i = 0; i < next.length; i++) {
      const node = next[i]!;
      const tile = this.byId.get(node.id);
      if (!tile) {
        this.byId.set(node.id, signal(node));
        placed = true;
        continue;
      }
      const was = tile.peek();
      if (same(was, node)) {
        next[i] = was; // the same object: what reads it sees no change
        continue;
      }
      if (placeOf(was) !== placeOf(node)) placed = true;
      tile.value = node;
    }
    if (placed) {
      const ids = new Set(next.map((node) => node.id));
      for (const id of this.byId.keys()) if (!ids.has(id)) this.byId.delete(id);
    }
    this.list = next;
    return placed;
  }
}

export default function FleetPage() {
  const nodes = useSignal<FleetNode[] | undefined>(undefined);
  const error = useSignal<string | undefined>(undefined);
  const nowMs = useSignal(Date.now());
  const announcement = useSignal('');
  const store = useRef<FleetStore | null>(null);
  store.current ??= new FleetStore();
  const tiles = store.current;

  useEffect(() => {
    let stale = false;
    let frame: number | undefined;
    /** A read in flight, and whether another is wanted after it. */
    let reading = false;
    let again = false;
    const load = () => {
      frame = undefined;
      reading = true;
      fleet().then(
        (list) => {
          reading = false;
          if (stale) return;
          const changes = stateChanges(tiles.list, list);
          if (changes.length > 0) announcement.value = changes.join('. ');
          if (tiles.apply(list)) nodes.value = list;
          error.value = undefined;
          if (again) reload();
        },
        (err: Error) => {
          reading = false;
          if (!stale) error.value = err.message;
          if (again) reload();
        },
      );
    };
    const reload = () => {
      again = reading;
      if (!reading && frame === undefined) frame = requestAnimationFrame(load);
    };
    load();
    const unsubscribe = subscribe('node.', reload);
    const unsubscribeHealth = subscribe('health.', reload);
    // "Last seen" ages while the page is open.
    const tick = setInterval(() => {
      if (!document.hidden) nowMs.value = Date.now(); // nothing is painted in a hidden tab
    }, 10_000);
    return () => {
      stale = true;
      unsubscribe();
      unsubscribeHealth();
      clearInterval(tick);
      if (frame !== undefined) cancelAnimationFrame(frame);
    };
  }, []);

  if (error.value && !nodes.value)
    return (
      <section class="page">
        <h1>Fleet</h1>
        <p class="error" role="alert">
          {error.value}
        </p>
      </section>
    );
  if (!nodes.value)
    return (
      <section class="page">
        <h1>Fleet</h1>
        <p class="loading">Loading nodes…</p>
      </section>
    );
  const filter = filterFromSearch(location.value.search);
  const groups = groupTiles(applyFilter(nodes.value, filter), filter.group ?? 'site');
  return (
    <section class="page">
      <h1>Fleet</h1>
      <p class="visually-hidden" aria-live="polite" data-testid="fleet-announcement">
        {announcement.value}
      </p>
      <FleetFilters nodes={nodes.value} filter={filter} />
      {nodes.value.length === 0 && (
        <p class="empty">No nodes yet: enroll one (POST /api/v1/nodes/enroll, then earshot-agent enroll).</p>
      )}
      {nodes.value.length > 0 && groups.length === 0 && <p class="empty">No node matches these filters.</p>}
      {groups.map((group, i) => (
        <section class="site" key={group.key} aria-labelledby={`tile-group-${i}`}>
          <h2 id={`tile-group-${i}`}>
            {group.name}{' '}
            <small>
              {group.nodes.length} node{group.nodes.length === 1 ? '' : 's'}
              {group.counts.offline > 0 && `, ${group.counts.offline} offline`}
              {group.counts.degraded > 0 && `, ${group.counts.degraded} degraded`}
            </small>
          </h2>
          <ul class="tiles">
            {group.nodes.map((node) => (
              <Tile key={node.id} node={tiles.byId.get(node.id)!} nowMs={nowMs} />
            ))}
          </ul>
        </section>
      ))}
    </section>
  );
}

interface TileProps {
  node: Signal<FleetNode>;
  nowMs: Signal<number>;
}

/**
 * A node's tile: renders again when its node's signal changes (or the clock for "last seen"),
 * not when the page does (its props are the same signals: @preact/signals skips it).
 */
function Tile({ node: tile, nowMs }: TileProps) {
  const node = tile.value;
  const state = tileState(node);
  const seen = node.presence.lastSeenAt;
  return (
    <li class={`tile tile-${state}`} data-node-id={node.id} data-state={state}>
      <a class="tile-name" href={`/nodes/${encodeURIComponent(node.id)}`}>
        {node.name}
      </a>
      <span class="tile-state">{STATE_LABEL[state]}</span>
      <span class="tile-seen">
        Last seen <Ago iso={seen} now={nowMs.value} />
      </span>
      <span class="tile-facts" title="Disk space, recording time it holds at the present rate, clock offset">
        {[diskFree(node.diskFreeBytes), headroom(node.headroomHours), clockSkew(node.clockOffsetMs)]
          .filter(Boolean)
          .map((fact, i) => (
            // Each fact kept on one line: the tile wraps between them.
            <Fragment key={fact}>
              {i > 0 && ' · '}
              <span class="tile-fact">{fact}</span>
            </Fragment>
          ))}
      </span>
      {problems(node).map((p) => (
        <span class="tile-problem" key={p}>
          {p}
        </span>
      ))}
      {node.presence.online && <TileLevels nodeId={node.id} channels={node.capture.channels ?? 0} />}
    </li>
  );
}

/** Site, tag, grouping and "only problems": kept in the URL (deep links; back and forward step through them). */
function FleetFilters({ nodes, filter }: { nodes: FleetNode[]; filter: FleetFilter }) {
  const { sites, tags } = facetsOf(nodes);
  const set = (change: Partial<FleetFilter>) =>
    navigate(`${location.value.path}${searchFromFilter({ ...filter, ...change })}`);
  return (
    <form class="filters" aria-label="Filter nodes" onSubmit={(e) => e.preventDefault()}>
      <label for="fleet-site">Site</label>
      <select
        id="fleet-site"
        value={filter.site ?? ''}
        onChange={(e) => set({ site: e.currentTarget.value || undefined })}
      >
        <option value="">All sites</option>
        {sites.map((site) => (
          <option key={site.id} value={site.id}>
            {site.name}
          </option>
        ))}
      </select>
      {tags.length > 0 && (
        <>
          <label for="fleet-tag">Tag</label>
          <select
            id="fleet-tag"
            value={filter.tag ?? ''}
            onChange={(e) => set({ tag: e.currentTarget.value || undefined })}
          >
            <option value="">All tags</option>
            {tags.map((tag) => (
              <option key={tag} value={tag}>
                {tag}
              </option>
            ))}
          </select>
        </>
      )}
      <label for="fleet-group">Group by</label>
      <select
        id="fleet-group"
        value={filter.group ?? 'site'}
        onChange={(e) => set({ group: e.currentTarget.value === 'tag' ? 'tag' : undefined })}
      >
        <option value="site">site</option>
        <option value="tag">tag</option>
      </select>
      <label>
        <input
          type="checkbox"
          checked={Boolean(filter.problems)}
          onChange={(e) => set({ problems: e.currentTarget.checked })}
        />{' '}
        Only problems
      </label>
    </form>
  );
}
