/**
 * The meter frames of the nodes on screen, carried by the tab's one live events stream
 * (events.ts, `?meters=…&meterRate=…`): asked for only while a meter is on screen, and only for
 * those nodes. Widgets watch nodes; the stream is opened again (shortly, once) when the set of
 * nodes or the rate wanted changes, at the highest rate any watcher wants, and carries no
 * frames when nobody watches. One connection per tab, whatever the page shows.
 */
import { meterLinkState, setMeterQuery } from './events.js';
import { type MeterFrameIn, meterStreamQuery } from './meter-model.js';

export type MeterRate = 1 | 10;
type FrameHandler = (frame: MeterFrameIn) => void;

/** At most this many nodes in one stream (the route's bound). */
export const MAX_STREAM_NODES = 200;
/** A change of the nodes on screen waits this long for others (scrolling a wall). */
const REOPEN_DELAY_MS = 150;

/** Whether the frames are arriving ('off' while no meter is on screen). */
export const meterStreamState = meterLinkState;

const watchers = new Map<string, Set<{ rate: MeterRate; handler: FrameHandler }>>();
let reopenTimer: ReturnType<typeof setTimeout> | undefined;

/** Calls `handler` with each frame of `nodeId` (at `rate` or faster) until the answer is called. */
export function watchMeters(nodeId: string, rate: MeterRate, handler: FrameHandler): () => void {
  const entry = { rate, handler };
  let set = watchers.get(nodeId);
  if (!set) {
    set = new Set();
    watchers.set(nodeId, set);
  }
  set.add(entry);
  schedule();
  return () => {
    set.delete(entry);
    if (set.size === 0) watchers.delete(nodeId);
    schedule();
  };
}

/** The first change opens a short window; the changes within it go with it (not a wait restarted by each). */
function schedule(): void {
  if (reopenTimer !== undefined) return;
  reopenTimer = setTimeout(() => {
    reopenTimer = undefined;
    const rates = [...watchers.values()].flatMap((set) => [...set].map((w) => w.rate));
    setMeterQuery(meterStreamQuery(watchers.keys(), rates, MAX_STREAM_NODES), deliver);
  }, REOPEN_DELAY_MS);
}

/** One `event: meter` message to the watchers of its node. */
function deliver(data: string): void {
  let parsed: { nodeId: string; frame: MeterFrameIn };
  try {
    parsed = JSON.parse(data);
  } catch {
    return; // one malformed message is skipped
  }
  const set = watchers.get(parsed.nodeId);
  if (set) for (const w of set) w.handler(parsed.frame);
}
