/**
 * The tab's meter connection (`GET /api/v1/meter-events?nodes=…&rate=…`): open only while a
 * meter is on screen, and only for the nodes on screen. Widgets watch nodes; the connection is
 * opened again (shortly, once) when the set of nodes or the rate wanted changes, at the highest
 * rate any watcher wants, and closed when nobody watches. So a tab holds the live events stream
 * (events.ts) and, while meters show, this one: two of the browser's six per host.
 *
 * Why not frames on the events stream: that stream is a stored, numbered, resumable log
 * (`Last-Event-ID`, ended when a reader falls 5,000 messages behind); meter frames are
 * neither stored nor numbered, and are dropped oldest-first for a slow reader. Reopening the
 * tab's events stream at every scroll of a meters wall would also cost every page a resume.
 */
import { signal } from '@preact/signals';
import { type MeterFrameIn, meterStreamQuery } from './meter-model.js';

export type MeterRate = 1 | 10;
type FrameHandler = (frame: MeterFrameIn) => void;

/** At most this many nodes in one stream (the route's bound). */
export const MAX_STREAM_NODES = 200;
/** A change of the nodes on screen waits this long for others (scrolling a wall). */
const REOPEN_DELAY_MS = 150;
const RETRY_FIRST_MS = 2000;
const RETRY_MAX_MS = 60_000;

export const meterStreamState = signal<'off' | 'connecting' | 'live' | 'down'>('off');

const watchers = new Map<string, Set<{ rate: MeterRate; handler: FrameHandler }>>();
let source: EventSource | undefined;
/** The `nodes` and `rate` the open connection carries. */
let openKey = '';
let reopenTimer: ReturnType<typeof setTimeout> | undefined;
let retries = 0;

/** Calls `handler` with each frame of `nodeId` (at `rate` or faster) until the answer is called. */
export function watchMeters(nodeId: string, rate: MeterRate, handler: FrameHandler): () => void {
  const entry = { rate, handler };
  let set = watchers.get(nodeId);
  if (!set) {
    set = new Set();
    watchers.set(nodeId, set);
  }
  set.add(entry);
  schedule(REOPEN_DELAY_MS);
  return () => {
    set.delete(entry);
    if (set.size === 0) watchers.delete(nodeId);
    schedule(REOPEN_DELAY_MS);
  };
}

function schedule(delayMs: number): void {
  if (reopenTimer !== undefined) clearTimeout(reopenTimer);
  reopenTimer = setTimeout(() => {
    reopenTimer = undefined;
    reconcile();
  }, delayMs);
}

function wanted(): string {
  const rates = [...watchers.values()].flatMap((set) => [...set].map((w) => w.rate));
  return meterStreamQuery(watchers.keys(), rates, MAX_STREAM_NODES);
}

function reconcile(): void {
  const key = wanted();
  if (key === openKey && (source || key === '')) return;
  source?.close();
  source = undefined;
  openKey = key;
  if (key === '') {
    meterStreamState.value = 'off';
    retries = 0;
    return;
  }
  meterStreamState.value = 'connecting';
  const es = new EventSource(`/api/v1/meter-events?${key}`, { withCredentials: true });
  source = es;
  es.addEventListener('open', () => {
    meterStreamState.value = 'live';
    retries = 0;
  });
  es.addEventListener('error', () => {
    if (es !== source) return;
    if (es.readyState !== EventSource.CLOSED) {
      meterStreamState.value = 'connecting';
      return;
    }
    // Refused (a node removed, the session ended): try again later, with jitter.
    meterStreamState.value = 'down';
    source = undefined;
    const delay = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** retries) * (0.5 + Math.random() / 2);
    retries += 1;
    schedule(delay);
  });
  es.addEventListener('meter', (message) => {
    let parsed: { nodeId: string; frame: MeterFrameIn };
    try {
      parsed = JSON.parse((message as MessageEvent<string>).data);
    } catch {
      return; // one malformed message is skipped
    }
    const set = watchers.get(parsed.nodeId);
    if (set) for (const w of set) w.handler(parsed.frame);
  });
}
