/**
 * Listen: a node's live audio (`/listen?node=<id>&channels=1|1,2`, kept in the URL): start and
 * stop, the channel or stereo pair, volume, a level bar per channel, and the latency from
 * capture to ear (listen-player.ts, listen-model.ts). The node list and its capture channels
 * come from the API when the role reads nodes; otherwise the node id is typed in.
 */
import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { ApiError, allPages, api } from '../api.js';
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

/** The nodes still in service. */
async function nodeList(): Promise<FleetNode[]> {
  return (await allPages<FleetNode>('/nodes')).filter((node) => !node.decommissionedAt);
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
  /** Playing, but no frame for a while. */
  quiet: boolean;
}

function go(nodeId: string | undefined, channels: readonly number[]): void {
  navigate(`/listen${searchFromListen(nodeId, channels)}`, { replace: false });
}

/** The node list (when the role reads nodes) and the chosen node's facts. */
function useNodes(nodeId: string | undefined) {
  const nodes = useSignal<FleetNode[] | undefined>(undefined);
  const node = useSignal<NodeFacts | undefined>(undefined);
  const error = useSignal<string | undefined>(undefined);
  useEffect(() => {
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
        if (stale) return;
        node.value = data;
        error.value = undefined;
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
  return { nodes, node, error };
}

/** How long without a frame before the page says no audio arrives (and the bars drop). */
const QUIET_MS = 1500;

/**
 * While playing: the level bars painted at most once per animation frame and only when a new
 * frame was decoded (transform only); the readout (text, meters' values) once a second.
 */
function useMeters(
  playing: boolean,
  player: { current: ListenPlayer | undefined },
  bars: { current: HTMLDivElement | null },
) {
  const readout = useSignal<Readout | undefined>(undefined);
  useEffect(() => {
    if (!playing) return;
    readout.value = undefined;
    let frame = 0;
    let seen = -1;
    let shown: number[] = [];
    let paintedAt = performance.now();
    const fill = (levels: number[]) => {
      const fills = bars.current?.querySelectorAll<HTMLElement>('.listen-fill') ?? [];
      fills.forEach((el, i) => {
        el.style.transform = `scaleX(${levelFraction(levels[i] ?? FLOOR_DB)})`;
      });
    };
    const paint = (time: number) => {
      frame = requestAnimationFrame(paint);
      const p = player.current;
      if (!p || p.levelsSeq === seen) return;
      seen = p.levelsSeq;
      shown = p.levelsDb.map((db, i) => decayed(shown[i] ?? FLOOR_DB, db, (time - paintedAt) / 1000));
      paintedAt = time;
      fill(shown);
    };
    frame = requestAnimationFrame(paint);
    const tick = () => {
      const p = player.current;
      if (!p) return;
      const quiet = p.state === 'playing' && performance.now() - p.lastFrameAt > QUIET_MS;
      if (quiet) {
        shown = [];
        fill(shown);
      }
      readout.value = {
        latencyMs: quiet ? undefined : p.latency(),
        levelsDb: shown,
        frames: p.frames,
        lost: p.lost,
        underruns: p.queue.underruns,
        dropped: p.queue.dropped,
        offsetMs: clockOffset(p.bounds),
        uncertaintyMs: p.bounds ? (p.bounds.highMs - p.bounds.lowMs) / 2 : undefined,
        quiet,
      };
    };
    const timer = setInterval(tick, 1000);
    return () => {
      cancelAnimationFrame(frame);
      clearInterval(timer);
      // Stopped: the bars drop and the latency goes; the counts stay to read.
      fill([]);
      if (readout.value)
        readout.value = { ...readout.value, levelsDb: [], latencyMs: undefined, quiet: false };
    };
  }, [playing]);
  return readout;
}

/** The player of the node and channels in the URL: started on a click, ended on leaving or a change. */
function useListen(nodeId: string | undefined, channels: number[], nodeClockOffsetMs: () => number | null) {
  const status = useSignal<string>('Stopped.');
  const playing = useSignal(false);
  const volume = useSignal(0.8);
  const player = useRef<ListenPlayer | undefined>(undefined);
  // Leaving the page, or choosing another node or channels, ends the session.
  useEffect(() => () => void player.current?.stop(), [nodeId, channels.join(',')]);
  const start = () => {
    if (!nodeId) return;
    const p = new ListenPlayer(
      nodeId,
      channels,
      nodeClockOffsetMs(),
      () => {
        if (player.current !== p) return;
        status.value = statusText(p, channels);
        playing.value = p.state === 'connecting' || p.state === 'playing';
      },
      volume.value,
    );
    player.current = p;
    status.value = 'Connecting…';
    playing.value = true;
    void p.start();
  };
  return { status, playing, volume, player, start };
}

export default function ListenPage() {
  const { nodeId, channels } = listenFromSearch(location.value.search);
  const { nodes, node, error } = useNodes(nodeId);
  const unsupported = useSignal<string | undefined>(undefined);
  const { status, playing, volume, player, start } = useListen(
    nodeId,
    channels,
    () => node.value?.clockOffsetMs ?? null,
  );
  const bars = useRef<HTMLDivElement>(null);
  const readout = useMeters(playing.value, player, bars);
  useEffect(() => {
    void opusSupport().then((why) => {
      unsupported.value = why;
    });
  }, []);

  return (
    <section class="page listen-page" data-state={playing.value ? 'playing' : 'stopped'}>
      <h1>Listen</h1>
      {[error.value, unsupported.value].map(
        (message) =>
          message && (
            <p class="error" role="alert" key={message}>
              {message}
            </p>
          ),
      )}
      <div class="listen-controls">
        <NodePicker nodeId={nodeId} nodes={nodes.value} disabled={playing.value} failed={!!error.value} />
        <ChannelSelect
          nodeId={nodeId}
          channels={channels}
          captureChannels={node.value?.capture.channels}
          disabled={playing.value}
        />
        {playing.value ? (
          <button type="button" onClick={() => void player.current?.stop()}>
            Stop
          </button>
        ) : (
          <button type="button" onClick={start} disabled={!nodeId || !!unsupported.value}>
            Start listening
          </button>
        )}
        <VolumeSlider
          volume={volume.value}
          onChange={(value) => {
            volume.value = value;
            player.current?.setVolume(value);
          }}
        />
      </div>
      {node.value && (
        <p class="listen-node">
          <a href={`/nodes/${encodeURIComponent(node.value.id)}`}>{node.value.name}</a> ·{' '}
          {node.value.site.name} ·{' '}
          {node.value.presence.online ? 'online' : 'offline: it streams once it connects'}
        </p>
      )}
      <p class="listen-status" role="status">
        {status.value}
      </p>
      <LevelBars channels={channels} levels={readout.value?.levelsDb ?? []} bars={bars} />
      <ListenFacts r={readout.value} />
    </section>
  );
}

function statusText(p: ListenPlayer, channels: readonly number[]): string {
  if (p.state === 'playing')
    return `Listening to ${channels.length === 1 ? `channel ${channels[0]}` : `channels ${channels.join(' + ')} (stereo)`}.`;
  if (p.state === 'ended') return p.reason === 'stopped' ? 'Stopped.' : `Ended: ${p.reason}.`;
  if (p.state === 'failed') return `Could not listen: ${p.reason}.`;
  return 'Connecting…';
}

/** The node: chosen from the list, or typed in when the role does not read nodes. */
function NodePicker(props: {
  nodeId: string | undefined;
  nodes: FleetNode[] | undefined;
  disabled: boolean;
  failed: boolean;
}) {
  const { nodeId, nodes } = props;
  if (nodes)
    return (
      <div class="listen-field">
        <label for="listen-node">Node</label>
        <select
          id="listen-node"
          value={nodeId ?? ''}
          disabled={props.disabled}
          onChange={(e) => go((e.currentTarget as HTMLSelectElement).value || undefined, [1])}
        >
          <option value="">Choose a node…</option>
          {nodes.map((n) => (
            <option key={n.id} value={n.id}>
              {n.name} · {n.site.name}
              {n.presence.online ? '' : ' (offline)'}
            </option>
          ))}
        </select>
      </div>
    );
  if (can('node:read') && !props.failed) return <p class="loading">Loading nodes…</p>;
  return (
    <form
      class="listen-field"
      onSubmit={(e) => {
        e.preventDefault();
        const input = (e.currentTarget as HTMLFormElement).elements.namedItem('node') as HTMLInputElement;
        go(input.value.trim() || undefined, [1]);
      }}
    >
      <label for="listen-node-id">Node id</label>
      <span>
        <input
          id="listen-node-id"
          name="node"
          defaultValue={nodeId ?? ''}
          pattern="[A-Za-z0-9_\-]{1,64}"
          required
          disabled={props.disabled}
        />{' '}
        <button type="submit" disabled={props.disabled}>
          Choose
        </button>
      </span>
    </form>
  );
}

function LevelBars(props: {
  channels: number[];
  levels: number[];
  bars: { current: HTMLDivElement | null };
}) {
  return (
    <div class="listen-levels" ref={props.bars}>
      {props.channels.map((channel, i) => {
        const db = props.levels[i] ?? FLOOR_DB;
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
  );
}

const LATENCY_HELP =
  "From the sample's capture on the node to its playing here: the agent's encoding, the network, " +
  "this page's buffer and the audio output. Assumes this computer's clock is synchronised; the " +
  "controller's Date header bounds the difference (shown under Clock).";

function ListenFacts({ r }: { r: Readout | undefined }) {
  return (
    <dl class="facts listen-facts">
      <div>
        <dt>Latency</dt>
        <dd>
          <output class="listen-latency" title={LATENCY_HELP}>
            {r?.latencyMs === undefined ? '—' : `${Math.round(r.latencyMs)} ms`}
          </output>
        </dd>
      </div>
      <div>
        <dt>Frames</dt>
        <dd>
          {r ? `${r.frames} received · ${r.lost} lost · ${r.underruns} gaps · ${r.dropped} skipped` : '—'}
          {r?.quiet && <span class="listen-quiet"> · no audio arriving (is the node capturing?)</span>}
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
  );
}

function ChannelSelect(props: {
  nodeId: string | undefined;
  channels: number[];
  captureChannels: number | undefined;
  disabled: boolean;
}) {
  const { nodeId, channels } = props;
  const choices = channelChoices(Math.max(props.captureChannels ?? 2, channels.at(-1) ?? 1));
  return (
    <div class="listen-field">
      <label for="listen-channels">Channels</label>
      <select
        id="listen-channels"
        value={channels.join(',')}
        disabled={props.disabled || !nodeId}
        onChange={(e) => go(nodeId, (e.currentTarget as HTMLSelectElement).value.split(',').map(Number))}
      >
        {choices.map((c) => (
          <option key={c.value} value={c.value}>
            {c.label}
          </option>
        ))}
      </select>
    </div>
  );
}

function VolumeSlider(props: { volume: number; onChange: (volume: number) => void }) {
  return (
    <div class="listen-field">
      <label for="listen-volume">Volume</label>
      <input
        id="listen-volume"
        type="range"
        min="0"
        max="1"
        step="0.05"
        value={props.volume}
        aria-valuetext={`${Math.round(props.volume * 100)} %`}
        onInput={(e) => props.onChange(Number((e.currentTarget as HTMLInputElement).value))}
      />
    </div>
  );
}
