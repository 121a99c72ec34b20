/**
 * A node's live meters (the meters wall, the node page; fleet tiles at 1 Hz later): per channel
 * peak and RMS bars with peak hold, true peak and loudness readouts where frames carry them, a
 * clip light latched until clicked, and the node's waiting / live / no-signal / stale state.
 *
 * Preact renders the structure once per channel count; frames never re-render it. A frame
 * writes numbers into the node's typed arrays (meter-model.ts) and asks for a paint: the node
 * paints at once, or in the next animation frame if it painted since the last one, so at most
 * once per frame, and nothing while the tab is hidden. The bars are drawn on one canvas per node
 * (a paint touches no element: no style, layout or page paint follows it), laid over the
 * channels' tracks, which stay elements with their labels, clip lights and readouts; above
 * COMPACT_ABOVE_CHANNELS channels on screen the channels are drawn side by side without
 * readouts. The meter roles' values and the state are refreshed once a second; the live region
 * speaks only of clips and of a node's frames stopping or coming back, never of levels. A meter
 * watches its node only while it is on screen (IntersectionObserver).
 */
import { computed, signal } from '@preact/signals';
import { useEffect, useLayoutEffect, useRef } from 'preact/hooks';
import {
  ariaLevel,
  barPosition,
  formatDb,
  heldPeak,
  type MeterFrameIn,
  type MeterNodeState,
  NodeMeters,
  SCALE_MARKS,
  SCALE_MAX_DB,
  SCALE_MIN_DB,
} from './meter-model.js';
import { type MeterRate, watchMeters } from './meter-stream.js';
import { theme } from './theme.js';
import './meters.css';

/**
 * Painting: a widget with new data paints at once if it has not painted since the last animation
 * frame, else in the next one, so each paints at most once per frame and only when data arrived.
 * Painting on arrival puts the bars in the next frame the screen shows without waiting for that
 * frame's callbacks and rendering first: a desynchronized canvas reaches the screen without the
 * page's frame at all.
 */
const waiting = new Set<() => void>();
/** The painters that painted since the last animation frame. */
const painted = new Set<() => void>();
let frameRequested = false;

function requestPaint(paint: () => void): void {
  if (document.hidden) {
    waiting.add(paint); // kept for when the tab is shown again
    return;
  }
  if (painted.has(paint)) waiting.add(paint);
  else {
    painted.add(paint);
    paint();
  }
  nextFrame();
}

function nextFrame(): void {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(() => {
    frameRequested = false;
    painted.clear();
    if (document.hidden) return;
    for (const p of waiting) {
      painted.add(p);
      p();
    }
    waiting.clear();
    // One more frame to forget these paints by (none is asked for once nothing paints).
    if (painted.size > 0) nextFrame();
  });
}

document.addEventListener('visibilitychange', () => {
  // Back in view: paint what arrived while hidden, once.
  if (!document.hidden && waiting.size > 0) nextFrame();
});

const STATE_TEXT: Record<MeterNodeState, string> = {
  waiting: 'Waiting for meter frames…',
  live: 'Live',
  'no-signal': 'No signal',
  stale: 'Stale: no frames for a few seconds',
  offline: 'Offline',
};

/** A channel's elements: its track (the bars are drawn over it) and readout only in columns. */
interface ChannelEls {
  meter: HTMLElement;
  clip: HTMLButtonElement;
  readout?: HTMLElement;
}

/** Where the node's canvas draws each channel's bar (left edges and width, device pixels), and its ink. */
interface BarLayout {
  x: Float32Array;
  width: number;
  /** The hold line's colour: the theme's text colour (or the system's, in forced colours). */
  ink: string;
  /**
   * In forced colours, the one colour of every bar (the system's highlight) and the clip mark
   * the ink; otherwise null: the zone colours.
   */
  forced: string | null;
}

/**
 * Above this many channels on screen, each node's channels are drawn compact (side by side on
 * its canvas, without labels or readouts) instead of in columns.
 */
export const COMPACT_ABOVE_CHANNELS = 64;
/** The channels of the meters on screen (watched), all widgets together. */
const shownChannels = signal(0);
const compactMode = computed(() => shownChannels.value > COMPACT_ABOVE_CHANNELS);
/**
 * The canvas's context: `desynchronized` (drawn without waiting for the page's commit) where the
 * browser supports it; measured in headless Chromium (software compositing), it halves the
 * main thread's cost of a wall of canvases (the commit of each canvas's frame).
 */
const CANVAS_OPTIONS: CanvasRenderingContext2DSettings = { alpha: true, desynchronized: true };
/** Compact: a channel's bar on the canvas and the gap after it, CSS pixels. */
const CANVAS_BAR = 10;
const CANVAS_GAP = 4;

/**
 * One widget's painter and once-a-second refresh, made once per widget (its functions stay the
 * same across renders, so the paint queue holds each widget once).
 */
class MeterView {
  readonly meters = new NodeMeters();
  readonly channels = signal(0);
  readonly state = signal<MeterNodeState>('waiting');
  els: ChannelEls[] = [];
  programme: HTMLElement | null = null;
  announce: HTMLElement | null = null;
  canvas: HTMLCanvasElement | null = null;
  /** The canvas's context, got once (not per paint). */
  ctx: CanvasRenderingContext2D | null = null;
  /** Where the bars go on the canvas (fitCanvas), none until it is sized. */
  bars: BarLayout | null = null;
  name = '';
  /** The channels this widget adds to `shownChannels` (while watched). */
  private counted = 0;
  private watched = false;

  /** Watched or not: its channels count towards the canvas threshold only while watched. */
  setWatched(on: boolean): void {
    this.watched = on;
    this.count();
    if (!on) {
      this.meters.lastFrameAt = undefined; // neither stale nor live: waiting again when back
      this.tick();
    }
  }

  private count(): void {
    const n = this.watched ? this.meters.channels : 0;
    shownChannels.value += n - this.counted;
    this.counted = n;
  }

  say(text: string): void {
    if (this.announce) this.announce.textContent = text;
  }

  /** A frame arrived: into the typed arrays, and a paint asked for. */
  readonly take = (frame: MeterFrameIn): void => {
    const latched = this.meters.take(frame, performance.now());
    if (this.meters.channels !== this.channels.value) {
      this.channels.value = this.meters.channels;
      this.count();
    }
    if (latched.length > 0)
      this.say(`${this.name}: channel ${latched.map((i) => i + 1).join(', ')} clipped.`);
    if (this.state.value === 'waiting' || this.state.value === 'stale') this.tick();
    requestPaint(this.paint);
  };

  /** The bars on the canvas; the clip lights (elements: written only when one changes). */
  readonly paint = (): void => {
    const m = this.meters;
    if (!m.dirty) return;
    m.dirty = false;
    if (this.canvas && this.ctx && this.bars)
      paintCanvas(this.canvas, this.ctx, this.bars, m, performance.now());
    const list = this.els;
    for (let i = 0; i < list.length && i < m.channels; i++) {
      const el = list[i]!;
      const hidden = m.clip[i] === 0;
      if (el.clip.hidden !== hidden) el.clip.hidden = hidden; // an attribute written restyles
    }
  };

  /** Once a second: the meters' aria values, the readouts and the node's state. */
  readonly tick = (): void => {
    const m = this.meters;
    const next = m.state(performance.now());
    const before = this.state.value;
    if (next !== before) {
      // Spoken: a node's frames stopping or coming back (never levels).
      if (next === 'offline') this.say(`${this.name} is offline.`);
      else if (next === 'stale') this.say(`${this.name}: meter frames stopped.`);
      else if ((before === 'stale' || before === 'offline') && next !== 'waiting')
        this.say(`${this.name}: meter frames are back.`);
      this.state.value = next;
    }
    if (document.hidden) return;
    const list = this.els;
    for (let i = 0; i < list.length && i < m.channels; i++) {
      const el = list[i]!;
      const peak = m.peak[i]!;
      el.meter.setAttribute('aria-valuenow', String(ariaLevel(peak)));
      el.meter.setAttribute('aria-valuetext', `peak ${formatDb(peak)} dBFS, RMS ${formatDb(m.rms[i]!)} dBFS`);
      if (el.readout) el.readout.textContent = readout(m, i);
    }
    if (this.programme) this.programme.textContent = programmeText(m);
  };

  clearClip(channel: number): void {
    this.meters.clearClip(channel);
    requestPaint(this.paint);
  }
}

export function NodeMeterWidget({
  nodeId,
  name,
  rate = 10,
  heading = 'h2',
  offline = false,
}: {
  nodeId: string;
  name: string;
  /** The controller's word that the node is offline (its presence). */
  offline?: boolean;
  rate?: MeterRate;
  heading?: 'h2' | 'h3';
}) {
  const view = useRef<MeterView | null>(null);
  view.current ??= new MeterView();
  const v = view.current;
  v.name = name;
  if (v.meters.offline !== offline) {
    v.meters.offline = offline;
    queueMicrotask(v.tick); // the state (and what is announced) follows at once
  }
  const { channels, state } = v;
  const root = useRef<HTMLElement>(null);
  const compact = compactMode.value;

  // Watch the node while the widget is on screen.
  useEffect(() => {
    const element = root.current;
    if (!element) return;
    let unwatch: (() => void) | undefined;
    const watch = () => {
      if (unwatch) return;
      unwatch = watchMeters(nodeId, rate, v.take);
      v.setWatched(true);
    };
    const observer =
      typeof IntersectionObserver === 'function'
        ? new IntersectionObserver((entries) => {
            if (entries.some((e) => e.isIntersecting)) return watch();
            unwatch?.();
            unwatch = undefined;
            v.setWatched(false);
          })
        : undefined;
    if (observer) observer.observe(element);
    else watch();
    const timer = setInterval(v.tick, 1000);
    return () => {
      observer?.disconnect();
      unwatch?.();
      v.setWatched(false);
      clearInterval(timer);
      waiting.delete(v.paint);
      painted.delete(v.paint);
    };
  }, [nodeId, rate]);

  // The channels' elements, read once per channel count (the painter writes them).
  useLayoutEffect(() => {
    const element = root.current;
    if (!element) return;
    v.els = [...element.querySelectorAll<HTMLElement>('.meter-channel')].map((channel) => ({
      meter: channel.querySelector<HTMLElement>('[role="meter"]')!,
      clip: channel.querySelector<HTMLButtonElement>('.meter-clip')!,
      readout: channel.querySelector<HTMLElement>('.meter-readout') ?? undefined,
    }));
    v.canvas = element.querySelector('canvas');
    v.ctx = v.canvas?.getContext('2d', CANVAS_OPTIONS) ?? null;
    v.bars = null;
    const unfit = v.canvas
      ? fitCanvas(v.canvas, compact ? [] : v.els.map((el) => el.meter), channels.value, (bars) => {
          v.bars = bars;
          v.meters.dirty = true; // a canvas resized is blank
          requestPaint(v.paint);
        })
      : undefined;
    v.programme = element.querySelector('.meter-programme');
    v.announce = element.querySelector('.meter-announce');
    v.meters.dirty = true;
    v.tick();
    requestPaint(v.paint);
    return unfit;
  }, [channels.value, compact, theme.value]);

  const H = heading;
  const indices = Array.from({ length: channels.value }, (_, i) => i);
  const clipButton = (i: number) => (
    <button
      type="button"
      class="meter-clip"
      hidden
      title="Clipped: click to clear"
      onClick={() => v.clearClip(i)}
    >
      <span aria-hidden="true">{compact ? `Clip ${i + 1}` : 'Clip'}</span>
      <span class="visually-hidden">Clip on channel {i + 1}: clear</span>
    </button>
  );

  return (
    <section
      class="meter-node"
      data-node-id={nodeId}
      data-state={state.value}
      ref={root}
      aria-label={`${name} meters`}
    >
      <div class="meter-head">
        <H class="meter-name">{name}</H>
        <span class="meter-state">{STATE_TEXT[state.value]}</span>
      </div>
      <p class="visually-hidden meter-announce" aria-live="polite" />
      {channels.value > 0 && (
        <>
          <div class="meter-channels">
            <ol class="meter-scale" aria-hidden="true">
              {SCALE_MARKS.map((mark) => (
                <li key={mark} class={`meter-mark meter-mark-${-mark}`}>
                  {mark === 0 ? '0' : `−${-mark}`}
                </li>
              ))}
            </ol>
            {compact ? (
              <>
                <canvas class="meter-canvas" />
                <ol class="meter-canvas-channels">
                  {indices.map((i) => (
                    <li class="meter-channel" key={i}>
                      {/* biome-ignore lint/a11y/useSemanticElements: the level is painted on the canvas; this is its accessible value. */}
                      <span
                        class="visually-hidden"
                        role="meter"
                        aria-label={`${name} channel ${i + 1} level`}
                        aria-valuemin={SCALE_MIN_DB}
                        aria-valuemax={SCALE_MAX_DB}
                        aria-valuenow={SCALE_MIN_DB}
                      />
                      {clipButton(i)}
                    </li>
                  ))}
                </ol>
              </>
            ) : (
              indices.map((i) => (
                <div class="meter-channel" key={i}>
                  {/* biome-ignore lint/a11y/useSemanticElements: a native <meter> cannot hold the painted peak, RMS and hold bars. */}
                  <div
                    class="meter-track"
                    role="meter"
                    aria-label={`${name} channel ${i + 1} level`}
                    aria-valuemin={SCALE_MIN_DB}
                    aria-valuemax={SCALE_MAX_DB}
                    aria-valuenow={SCALE_MIN_DB}
                  />
                  <span class="meter-label">{i + 1}</span>
                  {clipButton(i)}
                  <span class="meter-readout" />
                </div>
              ))
            )}
            {!compact && <canvas class="meter-canvas meter-canvas-over" />}
          </div>
          <p class="meter-programme" />
        </>
      )}
    </section>
  );
}

const num = (v: number) => (Number.isNaN(v) ? undefined : v);

/** A channel's readout: peak / RMS dBFS, and true peak and short-term loudness when carried. */
function readout(m: NodeMeters, i: number): string {
  let text = `${formatDb(m.peak[i])} / ${formatDb(m.rms[i])}`;
  const tp = num(m.truePeak[i]!);
  if (tp !== undefined) text += ` · TP ${formatDb(tp)}`;
  const s = num(m.shortTerm[i]!);
  if (s !== undefined) text += ` · S ${formatDb(s)}`;
  return text;
}

/** The programme's loudness (all channels), when the frame carries it. */
function programmeText(m: NodeMeters): string {
  const [tp, momentary, short] = [num(m.programme[0]!), num(m.programme[1]!), num(m.programme[2]!)];
  if (tp === undefined && momentary === undefined && short === undefined) return '';
  return `Programme: momentary ${formatDb(momentary)} LUFS · short-term ${formatDb(short)} LUFS · true peak ${formatDb(tp)} dBTP`;
}

/**
 * Sizes the node's canvas, places its bars and reads its ink: over the channels' `tracks` when
 * given (the canvas laid over them, measured: meters.css), else side by side at CANVAS_BAR +
 * CANVAS_GAP. Again whenever the canvas or a track changes size (full screen, a larger font) or
 * the system's colours change (the console's own theme choice renders the widget again). Returns
 * the cleanup.
 */
function fitCanvas(
  canvas: HTMLCanvasElement,
  tracks: HTMLElement[],
  channels: number,
  fitted: (bars: BarLayout) => void,
): () => void {
  const fit = () => {
    const dpr = window.devicePixelRatio || 1;
    const x = new Float32Array(channels);
    let width = channels * (CANVAS_BAR + CANVAS_GAP);
    let height = canvas.clientHeight;
    let bar = CANVAS_BAR;
    const first = tracks[0];
    if (first) {
      const last = tracks[tracks.length - 1]!;
      const left = first.offsetLeft;
      width = last.offsetLeft + last.offsetWidth - left;
      height = first.offsetHeight;
      bar = first.offsetWidth;
      canvas.style.left = `${left}px`;
      canvas.style.top = `${first.offsetTop}px`;
      canvas.style.height = `${height}px`;
      tracks.forEach((track, i) => {
        x[i] = Math.round((track.offsetLeft - left) * dpr);
      });
    } else for (let i = 0; i < channels; i++) x[i] = Math.round(i * (CANVAS_BAR + CANVAS_GAP) * dpr);
    canvas.style.width = `${width}px`;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    const style = getComputedStyle(canvas);
    const forced = window.matchMedia('(forced-colors: active)').matches ? opaque(style.outlineColor) : null;
    fitted({ x, width: Math.round(bar * dpr), ink: style.color, forced });
  };
  const observer = new ResizeObserver(fit);
  observer.observe(canvas);
  if (tracks[0]) observer.observe(tracks[0]);
  const schemes = SYSTEM_COLOURS.map((query) => window.matchMedia(query));
  for (const scheme of schemes) scheme.addEventListener('change', fit);
  return () => {
    observer.disconnect();
    for (const scheme of schemes) scheme.removeEventListener('change', fit);
  };
}

/** `rgba(r, g, b, a)` made `rgb(r, g, b)`: a bar is drawn solid, whatever the system colour's alpha. */
const opaque = (colour: string) => colour.replace(/^rgba\((\d+), (\d+), (\d+), [\d.]+\)$/, 'rgb($1, $2, $3)');

/** The system settings that change the theme's colours (when following the system) or force them. */
const SYSTEM_COLOURS = ['(prefers-color-scheme: dark)', '(forced-colors: active)'];

/** The bar colours, bottom up: green to −18 dBFS, amber to −6, red above (as the elements'). */
const ZONES: [number, string][] = [
  [0.7, '#2f9e55'],
  [0.9, '#d7a21b'],
  [1, '#d8412f'],
];

/** A bar of height `pos` (0–1 of `h`) in the zone colours, or all in `forced`. */
function fillBar(
  ctx: CanvasRenderingContext2D,
  x: number,
  w: number,
  h: number,
  pos: number,
  forced: string | null,
): void {
  if (forced !== null) {
    ctx.fillStyle = forced;
    ctx.fillRect(x, h - pos * h, w, pos * h);
    return;
  }
  let from = 0;
  for (const [to, colour] of ZONES) {
    if (pos <= from) break;
    const top = Math.min(pos, to);
    ctx.fillStyle = colour;
    ctx.fillRect(x, h - top * h, w, (top - from) * h);
    from = to;
  }
}

/** Every channel of a node on its canvas: its track, peak (faint), RMS, the hold line, a clip mark on top. */
function paintCanvas(
  canvas: HTMLCanvasElement,
  ctx: CanvasRenderingContext2D,
  bars: BarLayout,
  m: NodeMeters,
  now: number,
): void {
  const dpr = window.devicePixelRatio || 1;
  const { width, height: h } = canvas;
  const w = bars.width;
  ctx.clearRect(0, 0, width, h);
  for (let i = 0; i < m.channels && i < bars.x.length; i++) {
    const x = bars.x[i]!;
    ctx.fillStyle = 'rgba(128, 128, 128, 0.25)';
    ctx.fillRect(x, 0, w, h);
    ctx.globalAlpha = 0.45;
    fillBar(ctx, x, w, h, barPosition(m.peak[i]!), bars.forced);
    ctx.globalAlpha = 1;
    fillBar(ctx, x, w, h, barPosition(m.rms[i]!), bars.forced);
    const hold = barPosition(heldPeak(m.hold[i]!, m.holdAt[i]!, now));
    ctx.fillStyle = bars.ink;
    ctx.fillRect(x, h - hold * h, w, 2 * dpr);
    if (m.clip[i]) {
      ctx.fillStyle = bars.forced === null ? '#c0261a' : bars.ink;
      ctx.fillRect(x, 0, w, 4 * dpr);
    }
  }
}
