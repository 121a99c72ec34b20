/**
 * Fleet overview: one tile per node the caller may see (`GET /api/v1/nodes`, every page),
 * grouped by site, problems first, kept live by the tab's events stream (a `node.*` event or a
 * `reset` reads the list again, at most once per animation frame).
 */
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { api } from '../api.js';
import { subscribe } from '../events.js';
import { type FleetNode, groupBySite, problems, relativeTime, tileState } from '../fleet-model.js';

const STATE_LABEL = { offline: 'Offline', degraded: 'Degraded', recording: 'Recording', online: 'Online' };

async function allNodes(): Promise<FleetNode[]> {
  const nodes: FleetNode[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    const page: { data: FleetNode[]; nextCursor: string | null } = await api(
      'GET',
      `/nodes?limit=200${query}`,
    );
    nodes.push(...page.data);
    cursor = page.nextCursor;
  } while (cursor);
  return nodes;
}

export function FleetPage() {
  const nodes = useSignal<FleetNode[] | undefined>(undefined);
  const error = useSignal<string | undefined>(undefined);
  const nowMs = useSignal(Date.now());

  useEffect(() => {
    let stale = false;
    let frame: number | undefined;
    const load = () => {
      frame = undefined;
      allNodes().then(
        (list) => {
          if (stale) return;
          nodes.value = list;
          nowMs.value = Date.now();
          error.value = undefined;
        },
        (err: Error) => {
          if (!stale) error.value = err.message;
        },
      );
    };
    const reload = () => {
      if (frame === undefined) frame = requestAnimationFrame(load);
    };
    load();
    const unsubscribe = subscribe('node.', reload);
    // "Last seen" ages while the page is open.
    const tick = setInterval(() => {
      nowMs.value = Date.now();
    }, 10_000);
    return () => {
      stale = true;
      unsubscribe();
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
  const groups = groupBySite(nodes.value);
  return (
    <section class="page">
      <h1>Fleet</h1>
      {groups.length === 0 && <p class="empty">No nodes yet. Enroll one with `earshot-controller`.</p>}
      {groups.map((group) => (
        <section class="site" key={group.site.id} aria-labelledby={`site-${group.site.id}`}>
          <h2 id={`site-${group.site.id}`}>
            {group.site.name}{' '}
            <small>
              {group.nodes.length} node{group.nodes.length === 1 ? '' : 's'}
              {group.counts.offline > 0 && `, ${group.counts.offline} offline`}
              {group.counts.degraded > 0 && `, ${group.counts.degraded} degraded`}
            </small>
          </h2>
          <ul class="tiles">
            {group.nodes.map((node) => {
              const state = tileState(node);
              const seen = node.presence.lastSeenAt;
              return (
                <li class={`tile tile-${state}`} key={node.id} data-node-id={node.id} data-state={state}>
                  <span class="tile-name">{node.name}</span>
                  <span class="tile-state">{STATE_LABEL[state]}</span>
                  <span class="tile-seen">
                    Last seen{' '}
                    <time dateTime={seen ?? undefined} title={seen ? new Date(seen).toString() : undefined}>
                      {relativeTime(seen, nowMs.value)}
                    </time>
                  </span>
                  {problems(node).map((p) => (
                    <span class="tile-problem" key={p}>
                      {p}
                    </span>
                  ))}
                </li>
              );
            })}
          </ul>
        </section>
      ))}
    </section>
  );
}
