/**
 * A fleet tile's levels: one compact bar per channel, fed at 1 Hz by the tab's meter stream
 * (meter-stream.ts) while the tile is on screen. One IntersectionObserver for every tile; a
 * tile off screen stops watching its node (the stream is opened again for the nodes on screen).
 * Frames write the peaks into a typed array; one animation frame paints the tiles that got data
 * (the cover over a bar's unlit part moved by `transform` only, nothing while the tab is hidden). The levels' accessible name
 * follows the frames (1 Hz) and is never announced.
 */
import { useEffect, useRef } from 'preact/hooks';
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

export function TileLevels({ nodeId, channels }: { nodeId: string; channels: number }) {
  const root = useRef<HTMLSpanElement>(null);
  const count = Math.max(0, Math.min(MAX_CHANNELS, channels));

  useEffect(() => {
    const element = root.current;
    if (!element) return;
    const peaks = new Float32Array(count).fill(Number.NaN);
    let got = 0;
    const bars = [...element.querySelectorAll<HTMLElement>('.tile-level-cover')];
    const paint = () => {
      for (let i = 0; i < bars.length; i++)
        bars[i]!.style.transform = `scaleX(${1 - barPosition(peaks[i]!)})`;
      element.setAttribute('aria-label', levelsText(peaks, got));
      element.dataset.levels = got > 0 ? 'live' : 'waiting';
    };
    const take = (frame: MeterFrameIn) => {
      got = Math.min(count, frame.channels.length);
      for (let i = 0; i < got; i++) peaks[i] = frame.channels[i]!.peakDbfs;
      paintSoon(paint);
    };
    let unwatch: (() => void) | undefined;
    const stop = observe(element, (visible) => {
      if (visible && !unwatch) unwatch = watchMeters(nodeId, 1, take);
      else if (!visible && unwatch) {
        unwatch();
        unwatch = undefined;
      }
    });
    return () => {
      stop();
      dirty.delete(paint);
    };
  }, [nodeId, count]);

  if (count === 0) return null;
  return (
    <span class="tile-levels" role="img" aria-label="No levels yet" data-levels="waiting" ref={root}>
      {Array.from({ length: count }, (_, i) => (
        <span class="tile-level" key={i}>
          <span class="tile-level-cover" />
        </span>
      ))}
    </span>
  );
}
