/**
 * Health events: the list by status, type and node, a page at a time (all in the URL: a deep
 * link reopens the same page, Older and Newest step through), kept live from the tab's stream, with
 * acknowledge, suppress (for a chosen time, asked in a dialog) and resolve for roles that may
 * (the server decides; a refusal is shown on the row or in the dialog); and a node's timeline
 * (`?nodeId=…&view=timeline`): its events of every status over time, opened and resolved.
 * Bulk actions are to come.
 */
import { useSignal } from '@preact/signals';
import { HEALTH_EVENT_TYPES } from '../../../../shared/src/health-kinds.js';
import { api } from '../api.js';
import {
  HEALTH_STATUSES,
  type HealthView,
  healthQuery,
  healthViewFrom,
  refiltered,
  SUPPRESS_FOR,
  searchFromHealthView,
  suppressUntil,
  timelineOf,
} from '../health-model.js';
import { failure, LoadState, useLoaded } from '../loaded.js';
import { FormDialog } from '../modal-dialog.js';
import { location, navigate } from '../router.js';
import { can } from '../session.js';
import './health.css';
import { Ago } from '../time-ago.js';

interface HealthEvent {
  id: string;
  nodeId: string | null;
  type: string;
  severity: string;
  status: string;
  message: string;
  firstSeenAt: string;
  lastSeenAt: string;
  resolvedAt: string | null;
  suppressedUntil: string | null;
  count: number;
}

const PAGE = 100;

export default function HealthPage() {
  const view = healthViewFrom(location.value.search);
  const { status } = view;
  const go = (change: Partial<Omit<HealthView, 'cursor'>>) =>
    navigate(`${location.value.path}${searchFromHealthView(refiltered(view, change))}`);
  const query = healthQuery(view, PAGE);
  const loaded = useLoaded(
    () => api<{ data: HealthEvent[]; nextCursor: string | null }>('GET', `/health-events?${query}`),
    [query],
    { live: { prefixes: ['health.'] } },
  );
  const events = loaded.data;
  const rowErrors = useSignal<Record<string, string>>({});
  const busy = useSignal<string | undefined>(undefined);
  const suppressing = useSignal<HealthEvent | undefined>(undefined);

  async function act(event: HealthEvent, action: 'acknowledge' | 'resolve') {
    busy.value = event.id;
    try {
      await api('POST', `/health-events/${encodeURIComponent(event.id)}/${action}`, {});
      const { [event.id]: _, ...rest } = rowErrors.value;
      rowErrors.value = rest;
      loaded.reload(); // read the list again now (the live event follows)
    } catch (err) {
      rowErrors.value = {
        ...rowErrors.value,
        [event.id]: failure(err),
      };
    } finally {
      busy.value = undefined;
    }
  }

  async function suppress(event: HealthEvent, forKey: string, reason: string): Promise<string | undefined> {
    try {
      await api('POST', `/health-events/${encodeURIComponent(event.id)}/suppress`, {
        until: suppressUntil(forKey, Date.now()),
        ...(reason.trim() ? { reason: reason.trim() } : {}),
      });
      loaded.reload();
      return undefined;
    } catch (err) {
      return failure(err);
    }
  }

  const mayAct = can('health:acknowledge');
  const timeline = view.view === 'timeline';
  return (
    <section class="page">
      <h1>{timeline ? `Health timeline of ${view.nodeId}` : 'Health events'}</h1>
      {timeline ? (
        <p>
          <a href={`/nodes/${encodeURIComponent(view.nodeId ?? '')}`}>Node {view.nodeId}</a> ·{' '}
          <a href={`${location.value.path}${searchFromHealthView({ ...view, view: 'list' })}`}>List view</a>
        </p>
      ) : (
        <form
          class="filters"
          aria-label="Filter health events"
          onSubmit={(e) => {
            e.preventDefault();
            go({ nodeId: String(new FormData(e.currentTarget).get('nodeId') ?? '').trim() });
          }}
        >
          <label for="health-status">Status</label>
          <select
            id="health-status"
            value={status}
            onChange={(e) => go({ status: e.currentTarget.value as HealthView['status'] })}
          >
            {HEALTH_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
          <label>
            Type{' '}
            <select value={view.type ?? ''} onChange={(e) => go({ type: e.currentTarget.value })}>
              <option value="">any</option>
              {HEALTH_EVENT_TYPES.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </label>
          <label>
            Node{' '}
            <input
              name="nodeId"
              key={view.nodeId ?? ''}
              defaultValue={view.nodeId ?? ''}
              placeholder="any node id"
              maxLength={64}
              size={14}
              pattern="[A-Za-z0-9_.:\-]+"
            />
          </label>
          <button type="submit">Apply</button>
        </form>
      )}
      {!timeline && (view.nodeId || view.type) && (
        <p class="empty">
          Only {view.type ?? 'the'} events
          {view.nodeId && ` of node ${view.nodeId}`}.{' '}
          <a
            href={`${location.value.path}${searchFromHealthView(refiltered(view, { nodeId: '', type: '' }))}`}
          >
            Show all
          </a>
          {view.nodeId && (
            <>
              {' · '}
              <a href={`${location.value.path}${searchFromHealthView({ ...view, view: 'timeline' })}`}>
                Timeline of {view.nodeId}
              </a>
            </>
          )}
        </p>
      )}
      <LoadState of={loaded} />
      {events.value?.data.length === 0 && (
        <p class="empty">{timeline ? 'No health events on this node yet.' : `No ${status} health events.`}</p>
      )}
      {timeline && events.value && events.value.data.length > 0 && <Timeline events={events.value.data} />}
      {!timeline && events.value && events.value.data.length > 0 && (
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
                <Ago iso={event.lastSeenAt} />
                {event.status === 'suppressed' && event.suppressedUntil && (
                  <>
                    {' · suppressed until '}
                    <time dateTime={event.suppressedUntil} title={new Date(event.suppressedUntil).toString()}>
                      {new Date(event.suppressedUntil).toLocaleString()}
                    </time>
                  </>
                )}
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
                      aria-haspopup="dialog"
                      onClick={() => {
                        suppressing.value = event;
                      }}
                    >
                      Suppress
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
      {!timeline && (
        <nav class="list-pages" aria-label="Health event pages">
          {view.cursor && (
            <a href={`${location.value.path}${searchFromHealthView(refiltered(view, {}))}`}>Newest</a>
          )}
          {events.value?.nextCursor && (
            <a
              href={`${location.value.path}${searchFromHealthView({ ...view, cursor: events.value.nextCursor })}`}
            >
              Older
            </a>
          )}
        </nav>
      )}
      {suppressing.value && (
        <SuppressDialog
          event={suppressing.value}
          onSuppress={suppress}
          onClose={() => {
            suppressing.value = undefined;
          }}
        />
      )}
    </section>
  );
}

/** Suppress for how long (and why): the server's refusal is shown in the dialog. */
function SuppressDialog({
  event,
  onSuppress,
  onClose,
}: {
  event: HealthEvent;
  onSuppress: (event: HealthEvent, forKey: string, reason: string) => Promise<string | undefined>;
  onClose: () => void;
}) {
  return (
    <FormDialog
      title="Suppress health event"
      onClose={onClose}
      submitLabel="Suppress"
      onSubmit={(data) => onSuppress(event, String(data.get('for')), String(data.get('reason') ?? ''))}
    >
      <p>{event.message}</p>
      <label>
        Suppress for
        <select name="for" defaultValue="1h">
          {SUPPRESS_FOR.map((c) => (
            <option key={c.key} value={c.key}>
              {c.label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Reason (optional, kept in the audit trail)
        <input name="reason" maxLength={500} />
      </label>
    </FormDialog>
  );
}

/** A node's events over time: each a bar from its opening to its resolution (or now), newest first. */
function Timeline({ events }: { events: HealthEvent[] }) {
  const entries = timelineOf(events, Date.now());
  return (
    <ol class="health-timeline" aria-label="Health events over time, newest first">
      {entries.map(({ event, start, end, lasted, from, to }) => (
        <li
          key={event.id}
          class={`timeline-row severity-${event.severity}`}
          data-event-id={event.id}
          data-status={event.status}
        >
          <div class="timeline-bar" aria-hidden="true">
            <span
              class={`timeline-span timeline-${end ? 'resolved' : 'open'}`}
              style={{ left: `${from * 100}%`, width: `${(to - from) * 100}%` }}
            />
          </div>
          <span class="health-severity">{event.severity}</span>
          <span class="health-message">{event.message}</span>
          <span class="health-meta">
            {event.type} · opened <Ago iso={start} />
            {end ? (
              <>
                {' · resolved '}
                <Ago iso={end} /> · lasted {lasted}
              </>
            ) : (
              ` · ${event.status}, for ${lasted} so far`
            )}
          </span>
        </li>
      ))}
    </ol>
  );
}
