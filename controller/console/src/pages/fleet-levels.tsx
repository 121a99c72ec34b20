/**
 * A fleet tile's levels: one compact bar per channel, fed at 1 Hz by the tab's meter stream
 * (meter-stream.ts) while the tile is on screen. One IntersectionObserver for every tile; a
 * tile off screen stops watching its node (the stream is opened again for the nodes on screen).
 * Frames write the peaks into a typed array; one animation frame paints the tiles that got data
 * (the cover over a bar's unlit part moved by `transform` only, nothing while the tab is hidden). The levels' accessible name
 * follows the frames (1 Hz) and is never announced.
 */
import { Component, createRef } from 'preact';
import { levelsText } from '../fleet-model.js';
import { barPosition, MAX_CHANNELS, type MeterFrameIn } from '../meter-model.js';
import { watchMeters } from '../meter-stream.js';

type Seen = (visible: boolean) => void;
const seen = new Map<Element, Seen>();
let observer: IntersectionObserver | undefined;

function observe(element: Element, onSeen: Seen): () => void {
  if (typeof IntersectionObserver !== 'function') {
    onSeen(true);
    return () => onSeen(false);
  }
  observer ??= new IntersectionObserver((entries) => {
    for (const entry of entries) seen.get(entry.target)?.(entry.isIntersecting);
  });
  seen.set(element, onSeen);
  observer.observe(element);
  return () => {
    observer?.unobserve(element);
    seen.delete(element);
    onSeen(false);
  };
}

const dirty = new Set<() => void>();
let requested = false;
function paintSoon(paint: () => void): void {
  dirty.add(paint);
  if (requested || document.hidden) return;
  requested = true;
  requestAnimationFrame(() => {
    requested = false;
    if (document.hidden) return; // painted when shown again
    for (const p of dirty) p();
    dirty.clear();
  });
}
document.addEventListener('visibilitychange', () => {
  const first = dirty.values().next().value;
  if (!document.hidden && first) {
    dirty.delete(first);
    paintSoon(first);
  }
});

/**
 * A tile off screen keeps its node this long: tiles reordered by a busy fleet (problems first)
 * or a quick scroll do not reopen the meter stream for every move.
 */
const LEAVE_GRACE_MS = 2000;

/** A bar is written in steps of 1/STEPS of the scale. */
const STEPS = 10_000;

/** Meters `element`'s bars from `nodeId`'s frames while it is on screen; the answer stops it. */
function meter(element: HTMLElement, nodeId: string, count: number): () => void {
  const peaks = new Float32Array(count).fill(Number.NaN);
  let got = 0;
  const bars = [...element.querySelectorAll<HTMLElement>('.tile-level-cover')];
  // What is written now: a bar, the name or the state is written again only when it changes
  // (each write restyles; a steady or silent channel costs nothing).
  const shown = new Int16Array(count).fill(-1);
  let label = '';
  const paint = () => {
    for (let i = 0; i < bars.length; i++) {
      const at = Math.round(barPosition(peaks[i]!) * STEPS);
      if (shown[i] === at) continue;
      shown[i] = at;
      bars[i]!.style.transform = `scaleX(${(STEPS - at) / STEPS})`;
    }
    const text = levelsText(peaks, got);
    if (text !== label) {
      label = text;
      element.setAttribute('aria-label', text);
    }
    const state = got > 0 ? 'live' : 'waiting';
    if (element.dataset.levels !== state) element.dataset.levels = state;
  };
  const take = (frame: MeterFrameIn) => {
    got = Math.min(count, frame.channels.length);
    for (let i = 0; i < got; i++) peaks[i] = frame.channels[i]!.peakDbfs;
    paintSoon(paint);
  };
  let unwatch: (() => void) | undefined;
  let leaving: ReturnType<typeof setTimeout> | undefined;
  const leave = () => {
    leaving = undefined;
    unwatch?.();
    unwatch = undefined;
  };
  const stop = observe(element, (visible) => {
    if (visible) {
      if (leaving !== undefined) clearTimeout(leaving);
      leaving = undefined;
      unwatch ??= watchMeters(nodeId, 1, take);
    } else if (unwatch && leaving === undefined) leaving = setTimeout(leave, LEAVE_GRACE_MS);
  });
  return () => {
    stop();
    if (leaving !== undefined) clearTimeout(leaving);
    leave();
    dirty.delete(paint);
  };
}

interface LevelsProps {
  nodeId: string;
  channels: number;
}

/**
 * The levels of one tile. Rendered again only when its node or channel count changes: the
 * overview renders every tile again at each read of the list (a busy fleet: several a second),
 * and 200 tiles × 8 bars diffed each time would cost more than the frames.
 */
export class TileLevels extends Component<LevelsProps> {
  private readonly root = createRef<HTMLSpanElement>();
  private stop: (() => void) | undefined;

  override shouldComponentUpdate(next: LevelsProps): boolean {
    return next.nodeId !== this.props.nodeId || next.channels !== this.props.channels;
  }
  override componentDidMount(): void {
    this.start();
  }
  override componentDidUpdate(): void {
    this.stop?.();
    this.start();
  }
  override componentWillUnmount(): void {
    this.stop?.();
    this.stop = undefined;
  }
  private start(): void {
    const element = this.root.current;
    this.stop = element ? meter(element, this.props.nodeId, count(this.props.channels)) : undefined;
  }

  render() {
    const n = count(this.props.channels);
    if (n === 0) return null;
    return (
      <span class="tile-levels" role="img" aria-label="No levels yet" data-levels="waiting" ref={this.root}>
        {Array.from({ length: n }, (_, i) => (
          <span class="tile-level" key={i}>
            <span class="tile-level-cover" />
          </span>
        ))}
      </span>
    );
  }
}

const count = (channels: number) => Math.max(0, Math.min(MAX_CHANNELS, channels));
