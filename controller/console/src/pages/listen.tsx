/**
 * Listen: a node's live audio (`/listen?node=<id>&channels=1|1,2`, kept in the URL): start and
 * stop, the channel or stereo pair, volume, a level bar per channel, and the latency from
 * capture to ear (listen-player.ts, listen-model.ts). The node list and its capture channels
 * come from the API when the role reads nodes; otherwise the node id is typed in.
 */
import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { ApiError, api } from '../api.js';
import type { FleetNode } from '../fleet-model.js';
import {
  channelChoices,
  clockOffset,
  decayed,
  FLOOR_DB,
  levelFraction,
  listenFromSearch,
  searchFromListen,
} from '../listen-model.js';
import { ListenPlayer, opusSupport } from '../listen-player.js';
import { location, navigate } from '../router.js';
import { can } from '../session.js';
import './listen.css';

interface NodeFacts extends FleetNode {
  capture: { state: string | null; channels: number };
}

async function nodeList(): Promise<FleetNode[]> {
  const nodes: FleetNode[] = [];
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    const page: { data: FleetNode[]; nextCursor: string | null } = await api(
      'GET',
      `/nodes?limit=200${query}`,
    );
    nodes.push(...page.data.filter((node) => !node.decommissionedAt));
    cursor = page.nextCursor;
  } while (cursor);
  return nodes;
}

/** What the readout says, at most once a second (no live region: it is not a state change). */
interface Readout {
  latencyMs: number | undefined;
  levelsDb: number[];
  frames: number;
  lost: number;
  underruns: number;
  dropped: number;
  offsetMs: number;
  uncertaintyMs: number | undefined;
}

function go(nodeId: string | undefined, channels: readonly number[]): void {
  navigate(`/listen${searchFromListen(nodeId, channels)}`, { replace: false });
}

export default function ListenPage() {
  const { nodeId, channels } = listenFromSearch(location.value.search);
  const nodes = useSignal<FleetNode[] | undefined>(undefined);
  const node = useSignal<NodeFacts | undefined>(undefined);
  const error = useSignal<string | undefined>(undefined);
  const unsupported = useSignal<string | undefined>(undefined);
  const status = useSignal<string>('Stopped.');
  const playing = useSignal(false);
  const volume = useSignal(0.8);
  const readout = useSignal<Readout | undefined>(undefined);
  const player = useRef<ListenPlayer | undefined>(undefined);
  const bars = useRef<HTMLDivElement>(null);

  useEffect(() => {
    void opusSupport().then((why) => {
      unsupported.value = why;
    });
    if (!can('node:read')) return;
    nodeList().then(
      (list) => {
        nodes.value = list;
      },
      (err: Error) => {
        error.value = `The node list could not be read: ${err.message}`;
      },
    );
  }, []);

  useEffect(() => {
    node.value = undefined;
    if (!nodeId || !can('node:read')) return;
    let stale = false;
    api<{ data: NodeFacts }>('GET', `/nodes/${encodeURIComponent(nodeId)}`).then(
      ({ data }) => {
        if (!stale) node.value = data;
      },
      (err: Error) => {
        if (stale) return;
        error.value =
          err instanceof ApiError && err.status === 404 ? 'No such node (or not yours to see).' : err.message;
      },
    );
    return () => {
      stale = true;
    };
  }, [nodeId]);

  // Leaving the page, or choosing another node or channels, ends the session.
  useEffect(() => () => void player.current?.stop(), [nodeId, channels.join(',')]);

  // Levels painted once per animation frame when new ones arrived; the text once a second.
  useEffect(() => {
    if (!playing.value) return;
    let frame = 0;
    let seen = -1;
    let shown: number[] = [];
    let paintedAt = performance.now();
    const paint = (time: number) => {
      frame = requestAnimationFrame(paint);
      const p = player.current;
      if (!p || p.levelsSeq === seen) return;
      seen = p.levelsSeq;
      const elapsed = (time - paintedAt) / 1000;
      paintedAt = time;
      shown = p.levelsDb.map((db, i) => decayed(shown[i] ?? FLOOR_DB, db, elapsed));
      const fills = bars.current?.querySelectorAll<HTMLElement>('.listen-fill') ?? [];
      fills.forEach((fill, i) => {
        fill.style.transform = `scaleX(${levelFraction(shown[i] ?? FLOOR_DB)})`;
      });
    };
    frame = requestAnimationFrame(paint);
    const tick = () => {
      const p = player.current;
      if (!p) return;
      readout.value = {
        latencyMs: p.latency(),
        levelsDb: shown.length ? shown : p.levelsDb,
        frames: p.frames,
        lost: p.lost,
        underruns: p.queue.underruns,
        dropped: p.queue.dropped,
        offsetMs: clockOffset(p.bounds),
        uncertaintyMs: p.bounds ? (p.bounds.highMs - p.bounds.lowMs) / 2 : undefined,
      };
    };
    const timer = setInterval(tick, 1000);
    return () => {
      cancelAnimationFrame(frame);
      clearInterval(timer);
    };
  }, [playing.value]);

  const start = () => {
    if (!nodeId) return;
    readout.value = undefined;
    const p = new ListenPlayer(
      nodeId,
      channels,
      node.value?.clockOffsetMs ?? null,
      () => {
        if (player.current !== p) return;
        if (p.state === 'playing') status.value = `Listening to ${describe(channels)}.`;
        else if (p.state === 'ended')
          status.value = p.reason === 'stopped' ? 'Stopped.' : `Ended: ${p.reason}.`;
        else if (p.state === 'failed') status.value = `Could not listen: ${p.reason}.`;
        playing.value = p.state === 'connecting' || p.state === 'playing';
      },
      volume.value,
    );
    player.current = p;
    status.value = 'Connecting…';
    playing.value = true;
    void p.start();
  };

  const stop = () => {
    void player.current?.stop();
  };

  const choices = channelChoices(Math.max(node.value?.capture.channels ?? 2, channels.at(-1) ?? 1));
  const value = channels.join(',');
  const r = readout.value;
  const online = node.value?.presence.online;

  return (
    <section class="page listen-page" data-state={playing.value ? 'playing' : 'stopped'}>
      <h1>Listen</h1>
      {error.value && (
        <p class="error" role="alert">
          {error.value}
        </p>
      )}
      {unsupported.value && (
        <p class="error" role="alert">
          {unsupported.value}
        </p>
      )}
      <div class="listen-controls">
        {nodes.value ? (
          <div class="listen-field">
            <label for="listen-node">Node</label>
            <select
              id="listen-node"
              value={nodeId ?? ''}
              disabled={playing.value}
              onChange={(e) => go((e.currentTarget as HTMLSelectElement).value || undefined, [1])}
            >
              <option value="">Choose a node…</option>
              {nodes.value.map((n) => (
                <option key={n.id} value={n.id}>
                  {n.name} · {n.site.name}
                  {n.presence.online ? '' : ' (offline)'}
                </option>
              ))}
            </select>
          </div>
        ) : can('node:read') && !error.value ? (
          <p class="loading">Loading nodes…</p>
        ) : (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              const input = (e.currentTarget as HTMLFormElement).elements.namedItem(
                'node',
              ) as HTMLInputElement;
              go(input.value.trim() || undefined, [1]);
            }}
          >
            <label>
              Node id
              <input name="node" defaultValue={nodeId ?? ''} pattern="[A-Za-z0-9_\-]{1,64}" required />
            </label>{' '}
            <button type="submit">Choose</button>
          </form>
        )}
        <div class="listen-field">
          <label for="listen-channels">Channels</label>
          <select
            id="listen-channels"
            value={value}
            disabled={playing.value || !nodeId}
            onChange={(e) => go(nodeId, (e.currentTarget as HTMLSelectElement).value.split(',').map(Number))}
          >
            {choices.map((c) => (
              <option key={c.value} value={c.value}>
                {c.label}
              </option>
            ))}
          </select>
        </div>
        {playing.value ? (
          <button type="button" onClick={stop}>
            Stop
          </button>
        ) : (
          <button type="button" onClick={start} disabled={!nodeId || !!unsupported.value}>
            Start listening
          </button>
        )}
        <div class="listen-field">
          <label for="listen-volume">Volume</label>
          <input
            id="listen-volume"
            type="range"
            min="0"
            max="1"
            step="0.05"
            value={volume.value}
            aria-valuetext={`${Math.round(volume.value * 100)} %`}
            onInput={(e) => {
              volume.value = Number((e.currentTarget as HTMLInputElement).value);
              player.current?.setVolume(volume.value);
            }}
          />
        </div>
      </div>
      {node.value && (
        <p class="listen-node">
          <a href={`/nodes/${encodeURIComponent(node.value.id)}`}>{node.value.name}</a> ·{' '}
          {node.value.site.name} · {online ? 'online' : 'offline: it streams once it connects'}
        </p>
      )}
      <p class="listen-status" role="status">
        {status.value}
      </p>
      <div class="listen-levels" ref={bars}>
        {channels.map((channel, i) => {
          const db = r?.levelsDb[i] ?? FLOOR_DB;
          return (
            <div class="listen-level" key={channel}>
              <span id={`listen-ch-${channel}`}>Ch {channel}</span>
              {/* biome-ignore lint/a11y/useSemanticElements: the bar moves by transform each frame; a native <meter> would lay out again. */}
              <div
                class="listen-bar"
                role="meter"
                aria-labelledby={`listen-ch-${channel}`}
                aria-valuemin={FLOOR_DB}
                aria-valuemax={0}
                aria-valuenow={Math.round(db)}
                aria-valuetext={db <= FLOOR_DB ? 'silent' : `${db.toFixed(0)} dBFS`}
              >
                <div class="listen-fill" />
              </div>
              <span class="listen-db">{db <= FLOOR_DB ? '—' : `${db.toFixed(0)} dB`}</span>
            </div>
          );
        })}
      </div>
      <dl class="facts listen-facts">
        <div>
          <dt>Latency</dt>
          <dd>
            <output
              class="listen-latency"
              title="From the sample's capture on the node to its playing here: network, the agent's encoding, this page's buffer and the audio output. Assumes this computer's clock is synchronised; the controller's Date header bounds the difference."
            >
              {r?.latencyMs === undefined ? '—' : `${Math.round(r.latencyMs)} ms`}
            </output>
          </dd>
        </div>
        <div>
          <dt>Frames</dt>
          <dd>
            {r ? `${r.frames} received · ${r.lost} lost · ${r.underruns} gaps · ${r.dropped} skipped` : '—'}
          </dd>
        </div>
        <div>
          <dt>Clock</dt>
          <dd>
            {r?.uncertaintyMs === undefined
              ? '—'
              : r.offsetMs === 0
                ? `this computer agrees with the controller within ±${(r.uncertaintyMs / 1000).toFixed(1)} s`
                : `this computer is ${(Math.abs(r.offsetMs) / 1000).toFixed(1)} s ${r.offsetMs > 0 ? 'behind' : 'ahead of'} the controller (corrected)`}
          </dd>
        </div>
      </dl>
    </section>
  );
}

function describe(channels: readonly number[]): string {
  return channels.length === 1 ? `channel ${channels[0]}` : `channels ${channels.join(' + ')} (stereo)`;
}
