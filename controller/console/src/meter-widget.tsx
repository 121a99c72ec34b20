/**
 * A node's live meters (the meters wall, the node page; fleet tiles at 1 Hz later): per channel
 * peak and RMS bars with peak hold, true peak and loudness readouts where frames carry them, a
 * clip light latched until clicked, and the node's waiting / live / no-signal / stale state.
 *
 * Preact renders the structure once per channel count; frames never re-render it. A frame
 * writes numbers into the node's typed arrays (meter-model.ts) and asks for a paint: the node
 * paints at once, or in the next animation frame if it painted since the last one, so at most
 * once per frame (bars moved by `transform` only, no layout, no transitions; above
 * CANVAS_ABOVE_CHANNELS channels on screen, on one canvas per node instead), and nothing while
 * the tab is hidden. The meter roles'
 * values and the state are refreshed once a second; the live region speaks only of clips and
 * of a node's frames stopping or coming back, never of levels. A meter watches its node only
 * while it is on screen (IntersectionObserver).
 */
import { computed, signal } from '@preact/signals';
import { useEffect, useLayoutEffect, useRef } from 'preact/hooks';
import {
  ariaLevel,
  barPosition,
  formatDb,
  heldPeak,
  MAX_CHANNELS,
  type MeterFrameIn,
  type MeterNodeState,
  NodeMeters,
  SCALE_MARKS,
  SCALE_MAX_DB,
  SCALE_MIN_DB,
} from './meter-model.js';
import { type MeterRate, watchMeters } from './meter-stream.js';
import './meters.css';

/**
 * Painting: a widget with new data paints at once if it has not painted since the last animation
 * frame, else in the next one, so each paints at most once per frame and only when data arrived.
 * Painting on arrival puts the bars in the next frame the screen shows without waiting for that
 * frame's callbacks and rendering first: a desynchronized canvas (the wall) reaches the screen
 * without the page's frame at all, and bars moved by `transform` are rendered in that frame.
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

/** A channel's elements: its bars only when drawn as elements (not on a canvas). */
interface ChannelEls {
  meter: HTMLElement;
  clip: HTMLButtonElement;
  bars?: { peak: HTMLElement; rms: HTMLElement; hold: HTMLElement; readout: HTMLElement };
}

/** Above this many channels on screen, meters are drawn on a canvas (one per node), not as elements. */
export const CANVAS_ABOVE_CHANNELS = 64;
/** The channels of the meters on screen (watched), all widgets together. */
const shownChannels = signal(0);
const canvasMode = computed(() => shownChannels.value > CANVAS_ABOVE_CHANNELS);
/**
 * The canvas's context: `desynchronized` (drawn without waiting for the page's commit) where the
 * browser supports it; measured in headless Chromium (software compositing), it halves the
 * main thread's cost of a wall of canvases (the commit of each canvas's frame).
 */
const CANVAS_OPTIONS: CanvasRenderingContext2DSettings = { alpha: true, desynchronized: true };
/** A bar's position is written in steps of 1/BAR_STEPS of the scale (finer than a pixel on a wall). */
const BAR_STEPS = 10_000;
const step = (db: number) => Math.round(barPosition(db) * BAR_STEPS);
/** A channel's bar on the canvas and the gap after it, CSS pixels. */
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
  /**
   * What each bar shows now, in steps of 1/BAR_STEPS of the scale (peak, RMS, hold per channel):
   * a bar is written only when its step changes (a steady or silent channel costs nothing).
   */
  private readonly shown = new Int16Array(MAX_CHANNELS * 3).fill(-1);
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

  /** Bars by transform only (their place on the scale as `--level`: meters.css), or on the canvas; the clip lights. */
  readonly paint = (): void => {
    const m = this.meters;
    if (!m.dirty) return;
    m.dirty = false;
    const now = performance.now();
    const list = this.els;
    if (this.canvas && this.ctx) paintCanvas(this.canvas, this.ctx, m, now);
    const shown = this.shown;
    for (let i = 0; i < list.length && i < m.channels; i++) {
      const el = list[i]!;
      const hidden = m.clip[i] === 0;
      if (el.clip.hidden !== hidden) el.clip.hidden = hidden; // an attribute written restyles
      const bars = el.bars;
      if (!bars) continue;
      const k = i * 3;
      const peak = step(m.peak[i]!);
      if (shown[k] !== peak) {
        shown[k] = peak;
        bars.peak.style.setProperty('--level', String(peak / BAR_STEPS));
      }
      const rms = step(m.rms[i]!);
      if (shown[k + 1] !== rms) {
        shown[k + 1] = rms;
        bars.rms.style.setProperty('--level', String(rms / BAR_STEPS));
      }
      const hold = step(heldPeak(m.hold[i]!, m.holdAt[i]!, now));
      if (shown[k + 2] !== hold) {
        shown[k + 2] = hold;
        bars.hold.style.transform = `translateY(${(1 - hold / BAR_STEPS) * 100}%)`;
      }
    }
  };

  /** New elements (or a new canvas): every bar written again at the next paint. */
  forget(): void {
    this.shown.fill(-1);
  }

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
      if (el.bars) el.bars.readout.textContent = readout(m, i);
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
  const onCanvas = canvasMode.value;

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
    v.els = [...element.querySelectorAll<HTMLElement>('.meter-channel')].map((channel) => {
      const peak = channel.querySelector<HTMLElement>('.meter-peak');
      return {
        meter: channel.querySelector<HTMLElement>('[role="meter"]')!,
        clip: channel.querySelector<HTMLButtonElement>('.meter-clip')!,
        bars: peak
          ? {
              peak,
              rms: channel.querySelector<HTMLElement>('.meter-rms')!,
              hold: channel.querySelector<HTMLElement>('.meter-hold')!,
              readout: channel.querySelector<HTMLElement>('.meter-readout')!,
            }
          : undefined,
      };
    });
    v.canvas = element.querySelector('canvas');
    v.ctx = v.canvas?.getContext('2d', CANVAS_OPTIONS) ?? null;
    v.forget();
    const resize = v.canvas
      ? sizeCanvas(v.canvas, channels.value, () => {
          v.meters.dirty = true; // a canvas resized is blank
          requestPaint(v.paint);
        })
      : undefined;
    v.programme = element.querySelector('.meter-programme');
    v.announce = element.querySelector('.meter-announce');
    v.meters.dirty = true;
    v.tick();
    requestPaint(v.paint);
    return () => resize?.disconnect();
  }, [channels.value, onCanvas]);

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
      <span aria-hidden="true">{onCanvas ? `Clip ${i + 1}` : 'Clip'}</span>
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
            {onCanvas ? (
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
                  >
                    <div class="meter-peak" />
                    <div class="meter-rms" />
                    <div class="meter-hold" />
                  </div>
                  <span class="meter-label">{i + 1}</span>
                  {clipButton(i)}
                  <span class="meter-readout" />
                </div>
              ))
            )}
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

/** Sets the canvas's pixel size from its CSS size (and again when that changes: full screen). */
function sizeCanvas(canvas: HTMLCanvasElement, channels: number, repaint: () => void): ResizeObserver {
  canvas.style.width = `${channels * (CANVAS_BAR + CANVAS_GAP)}px`;
  const fit = () => {
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(channels * (CANVAS_BAR + CANVAS_GAP) * dpr);
    canvas.height = Math.round(canvas.clientHeight * dpr);
    repaint();
  };
  const observer = new ResizeObserver(fit);
  observer.observe(canvas);
  return observer;
}

/** The bar colours, bottom up: green to −18 dBFS, amber to −6, red above (as the elements'). */
const ZONES: [number, string][] = [
  [0.7, '#2f9e55'],
  [0.9, '#d7a21b'],
  [1, '#d8412f'],
];

/** A bar of height `pos` (0–1 of `h`) in the zone colours. */
function fillBar(ctx: CanvasRenderingContext2D, x: number, w: number, h: number, pos: number): void {
  let from = 0;
  for (const [to, colour] of ZONES) {
    if (pos <= from) break;
    const top = Math.min(pos, to);
    ctx.fillStyle = colour;
    ctx.fillRect(x, h - top * h, w, (top - from) * h);
    from = to;
  }
}

/** Every channel of a node on its canvas: peak (faint), RMS, the hold line, a clip mark on top. */
function paintCanvas(
  canvas: HTMLCanvasElement,
  ctx: CanvasRenderingContext2D,
  m: NodeMeters,
  now: number,
): void {
  const dpr = window.devicePixelRatio || 1;
  const { width, height: h } = canvas;
  const w = CANVAS_BAR * dpr;
  const step = (CANVAS_BAR + CANVAS_GAP) * dpr;
  ctx.clearRect(0, 0, width, h);
  for (let i = 0; i < m.channels; i++) {
    const x = i * step;
    ctx.fillStyle = 'rgba(128, 128, 128, 0.25)';
    ctx.fillRect(x, 0, w, h);
    ctx.globalAlpha = 0.45;
    fillBar(ctx, x, w, h, barPosition(m.peak[i]!));
    ctx.globalAlpha = 1;
    fillBar(ctx, x, w, h, barPosition(m.rms[i]!));
    const hold = barPosition(heldPeak(m.hold[i]!, m.holdAt[i]!, now));
    ctx.fillStyle = '#888';
    ctx.fillRect(x, h - hold * h, w, 2 * dpr);
    if (m.clip[i]) {
      ctx.fillStyle = '#c0261a';
      ctx.fillRect(x, 0, w, 4 * dpr);
    }
  }
}
