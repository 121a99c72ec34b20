/**
 * The tab's one live events stream (`GET /api/v1/events`, Server-Sent Events with the session
 * cookie). Pages subscribe to event types; the stream opens when signed in and closes on sign
 * out. The browser reconnects by itself with `Last-Event-ID`; a `reset` tells pages to read
 * their state again. A stream refused (closed by the browser) checks the session and is
 * opened again after a backoff.
 */
import { signal } from '@preact/signals';

export type LiveEvent = {
  id: number;
  type: string;
  at: string;
  siteId: string | null;
  nodeId: string | null;
  subject: { type: string; id: string };
  data: Record<string, unknown>;
};

/** The event types the console listens for (SSE named events need one listener per name). */
const TYPES = [
  'node.online',
  'node.offline',
  'node.changed',
  'recording.state',
  'job.state',
  'upload.progress',
  'health.opened',
  'health.changed',
  'health.resolved',
  'settings.changed',
] as const;

export const streamState = signal<'off' | 'connecting' | 'live' | 'down'>('off');

type Handler = (event: LiveEvent | 'reset') => void;
const handlers = new Set<{ prefix: string; handler: Handler }>();
let source: EventSource | undefined;

/** Calls `handler` for each event whose type starts with `prefix`, and on `reset`. */
export function subscribe(prefix: string, handler: Handler): () => void {
  const entry = { prefix, handler };
  handlers.add(entry);
  return () => handlers.delete(entry);
}

function dispatch(event: LiveEvent | 'reset'): void {
  for (const { prefix, handler } of handlers)
    if (event === 'reset' || event.type.startsWith(prefix)) handler(event);
}

/** Reopening after a refused stream: 2 s doubling to 60 s, with jitter so tabs do not align. */
const RETRY_FIRST_MS = 2000;
const RETRY_MAX_MS = 60_000;
let retryTimer: ReturnType<typeof setTimeout> | undefined;
let retries = 0;

/**
 * Opens the tab's stream (once). When the controller refuses it (the browser then stops
 * retrying by itself), `onRefused` checks the session, and the stream is opened again later;
 * `closeStream` (sign-out) cancels that.
 */
export function openStream(onRefused: () => void): void {
  if (source) return;
  streamState.value = 'connecting';
  const es = new EventSource('/api/v1/events', { withCredentials: true });
  source = es;
  es.addEventListener('open', () => {
    streamState.value = 'live';
    retries = 0;
  });
  es.addEventListener('error', () => {
    if (es.readyState !== EventSource.CLOSED) {
      streamState.value = 'connecting';
      return;
    }
    streamState.value = 'down';
    source = undefined;
    onRefused();
    const delay = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** retries) * (0.5 + Math.random() / 2);
    retries += 1;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      openStream(onRefused);
    }, delay);
  });
  es.addEventListener('reset', () => dispatch('reset'));
  for (const type of TYPES)
    es.addEventListener(type, (message) => {
      try {
        dispatch(JSON.parse((message as MessageEvent<string>).data) as LiveEvent);
      } catch {
        // Not ours to break on: one malformed message is skipped.
      }
    });
}

export function closeStream(): void {
  if (retryTimer !== undefined) clearTimeout(retryTimer);
  retryTimer = undefined;
  retries = 0;
  source?.close();
  source = undefined;
  streamState.value = 'off';
}
