/**
 * A node's live meters (the meters wall, the node page; fleet tiles at 1 Hz later): per channel
 * peak and RMS bars with peak hold, true peak and loudness readouts where frames carry them, a
 * clip light latched until clicked, and the node's waiting / live / no-signal / stale state.
 *
 * Preact renders the structure once per channel count; frames never re-render it. A frame
 * writes numbers into the node's typed arrays (meter-model.ts) and asks for a paint; one
 * animation frame per tab paints every node that got data since (bars moved by `transform`
 * only, no layout, no transitions), and nothing while the tab is hidden. The meter roles'
 * values and the state are refreshed once a second; the live region speaks only of clips and
 * of a node's frames stopping or coming back, never of levels. A meter watches its node only
 * while it is on screen (IntersectionObserver).
 */
import { signal } from '@preact/signals';
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
import './meters.css';

/** The painters with data to paint, and the one animation frame that paints them. */
const waiting = new Set<() => void>();
let frameRequested = false;

function requestPaint(paint: () => void): void {
  waiting.add(paint);
  if (frameRequested || document.hidden) return;
  frameRequested = true;
  requestAnimationFrame(() => {
    frameRequested = false;
    for (const p of waiting) p();
    waiting.clear();
  });
}

document.addEventListener('visibilitychange', () => {
  // Back in view: paint what arrived while hidden, once.
  if (!document.hidden && waiting.size > 0) {
    const first = waiting.values().next().value;
    if (first) requestPaint(first);
  }
});

const STATE_TEXT: Record<MeterNodeState, string> = {
  waiting: 'Waiting for meter frames…',
  live: 'Live',
  'no-signal': 'No signal',
  stale: 'Stale: no frames for a few seconds',
};

interface ChannelEls {
  meter: HTMLElement;
  peak: HTMLElement;
  rms: HTMLElement;
  hold: HTMLElement;
  clip: HTMLButtonElement;
  readout: HTMLElement;
}

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
  name = '';

  say(text: string): void {
    if (this.announce) this.announce.textContent = text;
  }

  /** A frame arrived: into the typed arrays, and a paint asked for. */
  readonly take = (frame: MeterFrameIn): void => {
    const latched = this.meters.take(frame, performance.now());
    if (this.meters.channels !== this.channels.value) this.channels.value = this.meters.channels;
    if (latched.length > 0)
      this.say(`${this.name}: channel ${latched.map((i) => i + 1).join(', ')} clipped.`);
    if (this.state.value === 'waiting' || this.state.value === 'stale') this.tick();
    requestPaint(this.paint);
  };

  /** Bars by transform only (scaleY of their place on the scale); the clip lights. */
  readonly paint = (): void => {
    const m = this.meters;
    if (!m.dirty) return;
    m.dirty = false;
    const now = performance.now();
    const list = this.els;
    for (let i = 0; i < list.length && i < m.channels; i++) {
      const el = list[i]!;
      el.peak.style.transform = `scaleY(${barPosition(m.peak[i]!)})`;
      el.rms.style.transform = `scaleY(${barPosition(m.rms[i]!)})`;
      const hold = heldPeak(m.hold[i]!, m.holdAt[i]!, now);
      el.hold.style.transform = `translateY(${(1 - barPosition(hold)) * 100}%)`;
      el.clip.hidden = m.clip[i] === 0;
    }
  };

  /** Once a second: the meters' aria values, the readouts and the node's state. */
  readonly tick = (): void => {
    const m = this.meters;
    const next = m.state(performance.now());
    const before = this.state.value;
    if (next !== before) {
      // Spoken: a node's frames stopping or coming back (never levels).
      if (next === 'stale') this.say(`${this.name}: meter frames stopped.`);
      else if (before === 'stale' && next !== 'waiting') this.say(`${this.name}: meter frames are back.`);
      this.state.value = next;
    }
    if (document.hidden) return;
    const list = this.els;
    for (let i = 0; i < list.length && i < m.channels; i++) {
      const el = list[i]!;
      const peak = m.peak[i]!;
      el.meter.setAttribute('aria-valuenow', String(ariaLevel(peak)));
      el.meter.setAttribute('aria-valuetext', `peak ${formatDb(peak)} dBFS, RMS ${formatDb(m.rms[i]!)} dBFS`);
      el.readout.textContent = readout(m, i);
    }
    if (this.programme) this.programme.textContent = programmeText(m);
  };

  clearClip(channel: number): void {
    this.meters.clearClip(channel);
    requestPaint(this.paint);
  }

  /** Off screen: not watched, so neither stale nor live (waiting again when back). */
  unwatched(): void {
    this.meters.lastFrameAt = undefined;
    this.tick();
  }
}

export function NodeMeterWidget({
  nodeId,
  name,
  rate = 10,
  heading = 'h2',
}: {
  nodeId: string;
  name: string;
  rate?: MeterRate;
  heading?: 'h2' | 'h3';
}) {
  const view = useRef<MeterView | null>(null);
  view.current ??= new MeterView();
  const v = view.current;
  v.name = name;
  const { channels, state } = v;
  const root = useRef<HTMLElement>(null);

  // Watch the node while the widget is on screen.
  useEffect(() => {
    const element = root.current;
    if (!element) return;
    let unwatch: (() => void) | undefined;
    const watch = () => {
      unwatch ??= watchMeters(nodeId, rate, v.take);
    };
    const observer =
      typeof IntersectionObserver === 'function'
        ? new IntersectionObserver((entries) => {
            if (entries.some((e) => e.isIntersecting)) return watch();
            unwatch?.();
            unwatch = undefined;
            v.unwatched();
          })
        : undefined;
    if (observer) observer.observe(element);
    else watch();
    const timer = setInterval(v.tick, 1000);
    return () => {
      observer?.disconnect();
      unwatch?.();
      clearInterval(timer);
      waiting.delete(v.paint);
    };
  }, [nodeId, rate]);

  // The channels' elements, read once per channel count (the painter writes them).
  useLayoutEffect(() => {
    const element = root.current;
    if (!element) return;
    v.els = [...element.querySelectorAll<HTMLElement>('.meter-channel')].map((channel) => ({
      meter: channel.querySelector<HTMLElement>('[role="meter"]')!,
      peak: channel.querySelector<HTMLElement>('.meter-peak')!,
      rms: channel.querySelector<HTMLElement>('.meter-rms')!,
      hold: channel.querySelector<HTMLElement>('.meter-hold')!,
      clip: channel.querySelector<HTMLButtonElement>('.meter-clip')!,
      readout: channel.querySelector<HTMLElement>('.meter-readout')!,
    }));
    v.programme = element.querySelector('.meter-programme');
    v.announce = element.querySelector('.meter-announce');
    v.meters.dirty = true;
    v.tick();
    requestPaint(v.paint);
  }, [channels.value]);

  const H = heading;
  const indices = Array.from({ length: channels.value }, (_, i) => i);
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
            {indices.map((i) => (
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
                <button
                  type="button"
                  class="meter-clip"
                  hidden
                  title="Clipped: click to clear"
                  onClick={() => v.clearClip(i)}
                >
                  Clip <span class="visually-hidden">on channel {i + 1}: clear</span>
                </button>
                <span class="meter-readout" />
              </div>
            ))}
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
