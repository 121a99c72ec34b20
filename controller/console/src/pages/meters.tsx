/**
 * The live meters wall: the nodes chosen (kept in the URL, `?nodes=a,b`), each with its
 * channels' meters at 10 Hz (meter-widget.tsx), and a full-screen button for a wall display.
 * Only nodes on screen are metered; a node in the URL that is not found (or not the
 * operator's to see) is named, never asked for (it would refuse the whole stream). Presence
 * comes from the tab's events stream (`node.*`: the list is read again).
 */
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { allPages } from '../api.js';
import { subscribe } from '../events.js';
import type { FleetNode } from '../fleet-model.js';
import { nodesFromSearch, searchFromNodes } from '../meter-model.js';
import { meterStreamState } from '../meter-stream.js';
import { NodeMeterWidget } from '../meter-widget.js';
import { location, navigate } from '../router.js';
import './meters.css';

const allNodes = () => allPages<FleetNode>('/nodes');

/** The wall alone on the screen (a wall display), or back. */
function toggleFullScreen(this: void, event: Event): void {
  const wall = (event.currentTarget as HTMLElement).closest('.meters-page')?.querySelector('.meters-wall');
  const done = document.fullscreenElement ? document.exitFullscreen() : wall?.requestFullscreen();
  done?.catch(() => {});
}

function choose(ids: string[]): void {
  navigate(`/meters${searchFromNodes(ids)}`);
}

export default function MetersPage() {
  const chosen = nodesFromSearch(location.value.search);
  const nodes = useSignal<FleetNode[] | undefined>(undefined);
  const error = useSignal<string | undefined>(undefined);
  const fullScreen = useSignal(false);
  const attempt = useSignal(0);

  useEffect(() => {
    let stale = false;
    let frame: number | undefined;
    const load = () => {
      frame = undefined;
      allNodes().then(
        (list) => {
          if (stale) return;
          nodes.value = list.filter((node) => !node.decommissionedAt);
          error.value = undefined;
        },
        (err: Error) => {
          if (!stale) error.value = err.message;
        },
      );
    };
    load();
    // Presence (online, offline) and names from the tab's events stream.
    const unsubscribe = subscribe('node.', () => {
      frame ??= requestAnimationFrame(load);
    });
    const onChange = () => {
      fullScreen.value = document.fullscreenElement !== null;
    };
    document.addEventListener('fullscreenchange', onChange);
    return () => {
      stale = true;
      unsubscribe();
      if (frame !== undefined) cancelAnimationFrame(frame);
      document.removeEventListener('fullscreenchange', onChange);
    };
  }, [attempt.value]);

  const byId = new Map((nodes.value ?? []).map((node) => [node.id, node]));
  const shown = chosen.filter((id) => byId.has(id));
  const unknown = nodes.value ? chosen.filter((id) => !byId.has(id)) : [];
  const toggle = (id: string, on: boolean) =>
    choose(on ? [...chosen, id] : chosen.filter((other) => other !== id));

  return (
    <section class="page meters-page">
      <h1>Meters</h1>
      <div class="meters-toolbar">
        <details class="meters-pick" open={chosen.length === 0}>
          <summary>Choose nodes ({chosen.length} chosen)</summary>
          {error.value ? (
            <p class="error">The nodes could not be read.</p>
          ) : !nodes.value ? (
            <p class="loading">Loading…</p>
          ) : nodes.value.length === 0 ? (
            <p class="empty">No nodes yet.</p>
          ) : (
            <fieldset>
              <legend>Nodes to meter</legend>
              {nodes.value.map((node) => (
                <label key={node.id}>
                  <input
                    type="checkbox"
                    checked={chosen.includes(node.id)}
                    onChange={(event) => toggle(node.id, (event.target as HTMLInputElement).checked)}
                  />{' '}
                  {node.name} <span class="meters-site">{node.site.name}</span>
                </label>
              ))}
            </fieldset>
          )}
        </details>
        {chosen.length > 0 && (
          <button type="button" onClick={() => choose([])}>
            Clear choice
          </button>
        )}
        {document.fullscreenEnabled && (
          <button type="button" onClick={toggleFullScreen}>
            {fullScreen.value ? 'Leave full screen' : 'Full screen'}
          </button>
        )}
        <span class={`meters-link meters-link-${meterStreamState.value}`} role="status">
          {shown.length === 0
            ? ''
            : meterStreamState.value === 'live'
              ? 'Meters live'
              : meterStreamState.value === 'down'
                ? 'Meters disconnected: retrying'
                : 'Meters connecting…'}
        </span>
      </div>
      {unknown.length > 0 && (
        <p class="error">
          Not found (or not yours to see): {unknown.join(', ')}.{' '}
          <button type="button" onClick={() => choose(chosen.filter((id) => byId.has(id)))}>
            Leave them out
          </button>
        </p>
      )}
      <div class="meters-wall">
        {error.value && !nodes.value ? (
          <div>
            <p class="error" role="alert">
              The nodes could not be read: {error.value}
            </p>
            <button type="button" onClick={() => (attempt.value += 1)}>
              Try again
            </button>
          </div>
        ) : chosen.length === 0 ? (
          <p class="empty">No nodes chosen: choose the nodes to meter above.</p>
        ) : !nodes.value ? (
          <p class="loading">Loading…</p>
        ) : (
          shown.map((id) => {
            const node = byId.get(id)!;
            return (
              <NodeMeterWidget
                key={id}
                nodeId={id}
                name={node.name}
                rate={10}
                offline={!node.presence.online}
              />
            );
          })
        )}
      </div>
    </section>
  );
}
