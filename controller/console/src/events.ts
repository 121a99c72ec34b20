/**
 * The tab's one live events stream (`GET /api/v1/events`, Server-Sent Events with the session
 * cookie). Pages subscribe to event types; the stream opens when signed in and closes on sign
 * out. The browser reconnects by itself with `Last-Event-ID`; a `reset` tells pages to read
 * their state again. A stream refused (closed by the browser) checks the session and is
 * opened again after a backoff.
 *
 * The same connection carries the meter frames of the nodes on screen (`?meters=…`, set by
 * meter-stream.ts): a tab holds one connection of the browser's six per host. When those nodes
 * change, a new stream is opened from the last event seen (`?lastEventId=`) and the old one
 * closed: no event is lost, none is passed on twice (ids are checked). A stream refused with
 * meters is opened again at once without them (a node removed must not take the tab's events
 * down); the meters are asked for again after a backoff.
 */
import { signal } from '@preact/signals';
import { AUDIT_APPENDED, LIVE_EVENT_TYPES } from '../../../shared/src/live-events.js';

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
const TYPES = LIVE_EVENT_TYPES;

export const streamState = signal<'off' | 'connecting' | 'live' | 'down'>('off');
/** The meter frames' part of the stream: off while no meters are wanted. */
export const meterLinkState = signal<'off' | 'connecting' | 'live' | 'down'>('off');

type Handler = (event: LiveEvent | 'reset') => void;
const handlers = new Set<{ prefix: string; handler: Handler }>();
let source: EventSource | undefined;
/** The last stored event passed on (its id): a new stream resumes from it; older ids are skipped. */
let lastId: number | undefined;
let onRefused: (() => void) | undefined;
/** The `meters=…&meterRate=…` part wanted, and the frames' reader. */
let meterQuery = '';
let meterFrames: ((data: string) => void) | undefined;
/** Set while meters were refused: the stream goes on without them until the timer asks again. */
let meterRetry: ReturnType<typeof setTimeout> | undefined;
let meterRetries = 0;

/** Calls `handler` for each event whose type starts with `prefix`, and on `reset`. */
export function subscribe(prefix: string, handler: Handler): () => void {
  const entry = { prefix, handler };
  handlers.add(entry);
  return () => handlers.delete(entry);
}

/** The stream's notices (not stored, no id): only `audit.appended` so far. */
type NoticeHandler = (data: Record<string, unknown>) => void;
const noticeHandlers = new Set<{ type: string; handler: NoticeHandler }>();

/** Calls `handler` with the data of each notice of `type` (sent to this user only when theirs to see). */
export function onNotice(type: typeof AUDIT_APPENDED, handler: NoticeHandler): () => void {
  const entry = { type, handler };
  noticeHandlers.add(entry);
  return () => noticeHandlers.delete(entry);
}

function dispatch(event: LiveEvent | 'reset'): void {
  if (event !== 'reset') {
    if (lastId !== undefined && event.id <= lastId) return; // passed on already (a stream swap)
    lastId = event.id;
  }
  for (const { prefix, handler } of handlers)
    if (event === 'reset' || event.type.startsWith(prefix)) handler(event);
}

/**
 * The meter frames the stream should carry (`query`: `meters=a,b&meterRate=1`, or '' for none),
 * each frame's `data` handed to `onFrame`. A change opens the stream again (see above).
 */
export function setMeterQuery(query: string, onFrame: (data: string) => void): void {
  meterFrames = onFrame;
  if (query === meterQuery) return;
  meterQuery = query;
  if (meterRetry !== undefined) clearTimeout(meterRetry);
  meterRetry = undefined;
  meterRetries = 0;
  meterLinkState.value = query === '' ? 'off' : 'connecting';
  if (source) connect();
}

/** Reopening after a refused stream: 2 s doubling to 60 s, with jitter so tabs do not align. */
const RETRY_FIRST_MS = 2000;
const RETRY_MAX_MS = 60_000;
const backoff = (tries: number) =>
  Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** tries) * (0.5 + Math.random() / 2);
let retryTimer: ReturnType<typeof setTimeout> | undefined;
let retries = 0;

/**
 * Opens the tab's stream (once). When the controller refuses it (the browser then stops
 * retrying by itself), `refused` checks the session, and the stream is opened again later;
 * `closeStream` (sign-out) cancels that.
 */
export function openStream(refused: () => void): void {
  onRefused = refused;
  if (!source) connect();
}

function streamUrl(withMeters: boolean): string {
  const query = [withMeters ? meterQuery : '', lastId === undefined ? '' : `lastEventId=${lastId}`];
  const joined = query.filter(Boolean).join('&');
  return joined ? `/api/v1/events?${joined}` : '/api/v1/events';
}

/** Opens the stream (closing the one open, if any) with what is wanted now. */
function connect(): void {
  source?.close();
  const withMeters = meterQuery !== '' && meterRetry === undefined;
  streamState.value = 'connecting';
  if (withMeters) meterLinkState.value = 'connecting';
  const es = new EventSource(streamUrl(withMeters), { withCredentials: true });
  source = es;
  es.addEventListener('open', () => {
    if (es !== source) return;
    streamState.value = 'live';
    retries = 0;
    if (withMeters) {
      meterLinkState.value = 'live';
      meterRetries = 0;
    }
  });
  es.addEventListener('error', () => {
    if (es !== source) return;
    if (es.readyState !== EventSource.CLOSED) {
      streamState.value = 'connecting';
      return;
    }
    source = undefined;
    if (withMeters) return withoutMeters();
    streamState.value = 'down';
    onRefused?.();
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      connect();
    }, backoff(retries));
    retries += 1;
  });
  // The position the stream starts from (a fresh stream), or after what is no longer kept.
  const startsAt = (message: Event) => {
    try {
      const { id } = JSON.parse((message as MessageEvent<string>).data) as { id: number };
      if (Number.isSafeInteger(id)) lastId = id;
    } catch {
      // A malformed control message: the ids of the events that follow still count.
    }
  };
  es.addEventListener('ready', startsAt);
  es.addEventListener('reset', (message) => {
    startsAt(message);
    dispatch('reset');
  });
  es.addEventListener('meter', (message) => meterFrames?.((message as MessageEvent<string>).data));
  es.addEventListener(AUDIT_APPENDED, (message) => {
    try {
      const { data } = JSON.parse((message as MessageEvent<string>).data) as {
        data: Record<string, unknown>;
      };
      for (const { type, handler } of noticeHandlers) if (type === AUDIT_APPENDED) handler(data);
    } catch {
      // A malformed notice is skipped.
    }
  });
  for (const type of TYPES)
    es.addEventListener(type, (message) => {
      try {
        dispatch(JSON.parse((message as MessageEvent<string>).data) as LiveEvent);
      } catch {
        // Not ours to break on: one malformed message is skipped.
      }
    });
}

/** Meters refused (a node gone or out of scope, or the session): events at once, meters later. */
function withoutMeters(): void {
  meterLinkState.value = 'down';
  meterRetry = setTimeout(() => {
    meterRetry = undefined;
    if (source) connect();
  }, backoff(meterRetries));
  meterRetries += 1;
  connect();
}

export function closeStream(): void {
  for (const timer of [retryTimer, meterRetry]) if (timer !== undefined) clearTimeout(timer);
  retryTimer = undefined;
  meterRetry = undefined;
  retries = 0;
  meterRetries = 0;
  source?.close();
  source = undefined;
  lastId = undefined;
  streamState.value = 'off';
  meterLinkState.value = 'off';
}
