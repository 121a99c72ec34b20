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
import { useSignal } from '@preact/signals';
import { useEffect, useLayoutEffect, useRef } from 'preact/hooks';
import {
  ariaLevel,
  barPosition,
  formatDb,
  heldPeak,
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
  const channels = useSignal(0);
  const state = useSignal<MeterNodeState>('waiting');
  const meters = useRef(new NodeMeters()).current;
  const root = useRef<HTMLElement>(null);
  const els = useRef<ChannelEls[]>([]);
  const programme = useRef<HTMLParagraphElement>(null);
  const announce = useRef<HTMLParagraphElement>(null);

  const say = (text: string) => {
    if (announce.current) announce.current.textContent = text;
  };

  const paint = () => {
    if (!meters.dirty) return;
    meters.dirty = false;
    const now = performance.now();
    const list = els.current;
    for (let i = 0; i < list.length && i < meters.channels; i++) {
      const el = list[i]!;
      el.peak.style.transform = `scaleY(${barPosition(meters.peak[i]!)})`;
      el.rms.style.transform = `scaleY(${barPosition(meters.rms[i]!)})`;
      const hold = heldPeak(meters.hold[i]!, meters.holdAt[i]!, now);
      el.hold.style.transform = `translateY(${(1 - barPosition(hold)) * 100}%)`;
      el.clip.hidden = meters.clip[i] === 0;
    }
    // Holds fall between frames: keep painting while any is falling and frames come.
  };

  /** Once a second: the meters' aria values, readouts and the node's state. */
  const tick = () => {
    const now = performance.now();
    const next = meters.state(now);
    if (next !== state.value) {
      if (next === 'stale') say(`${name}: meter frames stopped.`);
      else if (state.value === 'stale') say(`${name}: meter frames are back.`);
      state.value = next;
    }
    if (document.hidden) return;
    const list = els.current;
    for (let i = 0; i < list.length && i < meters.channels; i++) {
      const el = list[i]!;
      const peak = meters.peak[i]!;
      el.meter.setAttribute('aria-valuenow', String(ariaLevel(peak)));
      el.meter.setAttribute(
        'aria-valuetext',
        `peak ${formatDb(peak)} dBFS, RMS ${formatDb(meters.rms[i]!)} dBFS`,
      );
      el.readout.textContent = readout(meters, i);
    }
    if (programme.current) programme.current.textContent = programmeText(meters);
  };

  // Watch the node while the widget is on screen.
  useEffect(() => {
    const element = root.current;
    if (!element) return;
    let unwatch: (() => void) | undefined;
    const watch = () => {
      unwatch ??= watchMeters(nodeId, rate, (frame) => {
        const latched = meters.take(frame, performance.now());
        if (meters.channels !== channels.value) channels.value = meters.channels;
        if (latched.length > 0) say(`${name}: channel ${latched.map((i) => i + 1).join(', ')} clipped.`);
        if (state.value !== 'live' && state.value !== 'no-signal') tick();
        requestPaint(paint);
      });
    };
    const observer =
      typeof IntersectionObserver === 'function'
        ? new IntersectionObserver((entries) => {
            if (entries.some((e) => e.isIntersecting)) watch();
            else {
              unwatch?.();
              unwatch = undefined;
            }
          })
        : undefined;
    if (observer) observer.observe(element);
    else watch();
    const timer = setInterval(tick, 1000);
    return () => {
      observer?.disconnect();
      unwatch?.();
      clearInterval(timer);
      waiting.delete(paint);
    };
  }, [nodeId, rate]);

  // The channels' elements, read once per channel count (the painter writes them).
  useLayoutEffect(() => {
    const element = root.current;
    if (!element) return;
    els.current = [...element.querySelectorAll<HTMLElement>('.meter-channel')].map((channel) => ({
      meter: channel.querySelector<HTMLElement>('[role="meter"]')!,
      peak: channel.querySelector<HTMLElement>('.meter-peak')!,
      rms: channel.querySelector<HTMLElement>('.meter-rms')!,
      hold: channel.querySelector<HTMLElement>('.meter-hold')!,
      clip: channel.querySelector<HTMLButtonElement>('.meter-clip')!,
      readout: channel.querySelector<HTMLElement>('.meter-readout')!,
    }));
    meters.dirty = true;
    tick();
    requestPaint(paint);
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
      <p class="visually-hidden" aria-live="polite" ref={announce} />
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
                  onClick={() => {
                    meters.clearClip(i);
                    requestPaint(paint);
                  }}
                >
                  Clip <span class="visually-hidden">on channel {i + 1}: clear</span>
                </button>
                <span class="meter-readout" />
              </div>
            ))}
          </div>
          <p class="meter-programme" ref={programme} />
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
