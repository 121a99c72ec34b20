/**
 * Health events (first part): the list by status (in the URL), kept live from the tab's
 * stream, with acknowledge and resolve for roles that may (the server decides; a refusal is
 * shown on the row). Suppress, the per-node timeline and bulk actions are to come.
 */
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { ApiError, api } from '../api.js';
import { subscribe } from '../events.js';
import { relativeTime } from '../fleet-model.js';
import { location, navigate } from '../router.js';
import { can } from '../session.js';

interface HealthEvent {
  id: string;
  nodeId: string | null;
  type: string;
  severity: string;
  status: string;
  message: string;
  lastSeenAt: string;
  count: number;
}

const STATUSES = ['open', 'acknowledged', 'suppressed', 'resolved'] as const;
type Status = (typeof STATUSES)[number];
const PAGE = 100;

function statusFrom(search: string): Status {
  const value = new URLSearchParams(search).get('status');
  return (STATUSES as readonly string[]).includes(value ?? '') ? (value as Status) : 'open';
}

/** A narrowing a link brings (a node's missed occurrences from the schedules page): node and event type. */
function narrowFrom(search: string): string {
  const from = new URLSearchParams(search);
  const out = new URLSearchParams();
  for (const key of ['nodeId', 'type']) {
    const value = from.get(key);
    if (value && /^[A-Za-z0-9_.:-]{1,64}$/.test(value)) out.set(key, value);
  }
  return out.toString();
}

export default function HealthPage() {
  const status = statusFrom(location.value.search);
  const narrow = narrowFrom(location.value.search);
  const events = useSignal<{ data: HealthEvent[]; more: boolean } | undefined>(undefined);
  const error = useSignal<string | undefined>(undefined);
  const rowErrors = useSignal<Record<string, string>>({});
  const busy = useSignal<string | undefined>(undefined);
  const version = useSignal(0);

  useEffect(() => {
    let stale = false;
    let frame: number | undefined;
    const load = () => {
      frame = undefined;
      api<{ data: HealthEvent[]; nextCursor: string | null }>(
        'GET',
        `/health-events?status=${status}&limit=${PAGE}${narrow ? `&${narrow}` : ''}`,
      ).then(
        (page) => {
          if (stale) return;
          events.value = { data: page.data, more: page.nextCursor !== null };
          error.value = undefined;
        },
        (err: Error) => {
          if (!stale) error.value = err.message;
        },
      );
    };
    load();
    const off = subscribe('health.', () => {
      if (frame === undefined) frame = requestAnimationFrame(load);
    });
    return () => {
      stale = true;
      off();
      if (frame !== undefined) cancelAnimationFrame(frame);
    };
  }, [status, narrow, version.value]);

  async function act(event: HealthEvent, action: 'acknowledge' | 'resolve') {
    busy.value = event.id;
    try {
      await api('POST', `/health-events/${encodeURIComponent(event.id)}/${action}`, {});
      const { [event.id]: _, ...rest } = rowErrors.value;
      rowErrors.value = rest;
      version.value += 1; // read the list again now (the live event follows)
    } catch (err) {
      rowErrors.value = {
        ...rowErrors.value,
        [event.id]: err instanceof ApiError ? err.message : 'The controller did not answer.',
      };
    } finally {
      busy.value = undefined;
    }
  }

  const mayAct = can('health:acknowledge');
  return (
    <section class="page">
      <h1>Health events</h1>
      <form class="filters" aria-label="Filter health events" onSubmit={(e) => e.preventDefault()}>
        <label for="health-status">Status</label>
        <select
          id="health-status"
          value={status}
          onChange={(e) =>
            navigate(`${location.value.path}?status=${e.currentTarget.value}${narrow ? `&${narrow}` : ''}`)
          }
        >
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </form>
      {narrow && (
        <p class="empty">
          Only {new URLSearchParams(narrow).get('type') ?? 'the'} events
          {new URLSearchParams(narrow).has('nodeId') &&
            ` of node ${new URLSearchParams(narrow).get('nodeId')}`}
          . <a href={`${location.value.path}?status=${status}`}>Show all</a>
        </p>
      )}
      {error.value && (
        <p class="error" role="alert">
          {error.value}
        </p>
      )}
      {!events.value && !error.value && <p class="loading">Loading…</p>}
      {events.value?.data.length === 0 && <p class="empty">No {status} health events.</p>}
      {events.value && events.value.data.length > 0 && (
        <ul class="health-list">
          {events.value.data.map((event) => (
            <li key={event.id} class={`health-row severity-${event.severity}`} data-event-id={event.id}>
              <span class="health-severity">{event.severity}</span>
              <span class="health-message">{event.message}</span>
              <span class="health-meta">
                {event.nodeId ? (
                  <a href={`/nodes/${encodeURIComponent(event.nodeId)}`}>{event.nodeId}</a>
                ) : (
                  'controller'
                )}
                {' · '}
                {event.type}
                {event.count > 1 && ` · ${event.count}×`}
                {' · '}
                <time dateTime={event.lastSeenAt} title={new Date(event.lastSeenAt).toString()}>
                  {relativeTime(event.lastSeenAt, Date.now())}
                </time>
              </span>
              {mayAct && (
                <span class="health-actions">
                  {event.status === 'open' && (
                    <button
                      type="button"
                      disabled={busy.value === event.id}
                      onClick={() => void act(event, 'acknowledge')}
                    >
                      Acknowledge
                    </button>
                  )}
                  {(event.status === 'open' || event.status === 'acknowledged') && (
                    <button
                      type="button"
                      disabled={busy.value === event.id}
                      onClick={() => void act(event, 'resolve')}
                    >
                      Resolve
                    </button>
                  )}
                </span>
              )}
              {rowErrors.value[event.id] && (
                <span class="error" role="alert">
                  {rowErrors.value[event.id]}
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
      {events.value?.more && <p class="empty">Showing the latest {PAGE}; narrow the list to see the rest.</p>}
    </section>
  );
}
