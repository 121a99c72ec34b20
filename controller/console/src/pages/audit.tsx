/**
 * The audit trail: the API's filters (actor, action, outcome, target, time range) and the
 * page's cursor all in the URL (a deep link reopens the same view; back steps through), newest
 * first, denials marked. A row opens to its before/after, changed keys side by side. Export
 * is the API's own route as a plain download link (the session cookie goes with it; no token
 * in the URL), for the filters shown. Live on its first page: when the stream says the trail
 * grew (`audit.appended`, sent only to a user who may read the new events), the newest page is
 * read again with the same filters and the rows not shown yet are put on top.
 */
import { type Signal, useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { AUDIT_APPENDED } from '../../../../shared/src/live-events.js';
import { api } from '../api.js';
import {
  type AuditFilters,
  auditDiff,
  FILTER_KEYS,
  filtersFromSearch,
  fromLocalInput,
  OUTCOMES,
  searchFromFilters,
  toLocalInput,
} from '../audit-model.js';
import { onNotice } from '../events.js';
import { LoadState, useLoaded, useResource } from '../loaded.js';
import { location, navigate } from '../router.js';
import './audit.css';
import { Ago } from '../time-ago.js';

interface AuditEvent {
  id: string;
  seq: number;
  at: string;
  actor: { type: string; id: string | null; name: string | null };
  permission: string | null;
  action: string;
  target: { type: string | null; id: string | null };
  outcome: string;
  reason: string | null;
  requestId: string | null;
  sourceIp: string | null;
}
type AuditDetail = AuditEvent & { before: unknown; after: unknown };

const PAGE = 50;
type AuditPage = { data: AuditEvent[]; nextCursor: string | null };

/** The newest page (same filters) read again as the trail grows; new rows go on top. */
function useNewRows(query: string, onFirstPage: boolean, events: Signal<AuditPage | undefined>) {
  useEffect(() => {
    if (!onFirstPage) return;
    let reading = false;
    let again = false;
    let gone = false;
    const read = async () => {
      if (reading) {
        again = true;
        return;
      }
      reading = true;
      try {
        do {
          again = false;
          const answer = await api<AuditPage>(
            'GET',
            `/audit-events${query}${query ? '&' : '?'}limit=${PAGE}`,
          );
          const shown = events.value;
          if (gone || !shown) return;
          const top = shown.data[0]?.seq ?? 0;
          const fresh = answer.data.filter((event) => event.seq > top);
          if (fresh.length > 0) events.value = { ...shown, data: [...fresh, ...shown.data] };
        } while (again && !gone);
      } catch {
        // The next notice (or Refresh) reads again.
      } finally {
        reading = false;
      }
    };
    const off = onNotice(AUDIT_APPENDED, () => void read());
    return () => {
      gone = true;
      off();
    };
  }, [query, onFirstPage]);
}

export default function AuditPage() {
  const { filters, cursor } = filtersFromSearch(location.value.search);
  const query = searchFromFilters(filters, cursor);
  const loaded = useLoaded(
    () => api<AuditPage>('GET', `/audit-events${query}${query ? '&' : '?'}limit=${PAGE}`),
    [query],
    { clear: true },
  );
  const events = loaded.data;
  useNewRows(query, !cursor, events);
  const actions = useSignal<string[]>([]);

  useEffect(() => {
    // The actions recorded so far, offered as suggestions (any action or `prefix*` may be typed).
    api<{ data: { action: { value: string | null }[] } }>('GET', '/audit-events/facets').then(
      (facets) => {
        actions.value = facets.data.action.flatMap((a) => (a.value ? [a.value] : [])).sort();
      },
      () => undefined,
    );
  }, []);

  const path = location.value.path;
  const apply = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const next: AuditFilters = {};
    for (const key of FILTER_KEYS) {
      const value = String(form.get(key) ?? '');
      next[key] = key === 'from' || key === 'to' ? fromLocalInput(value) : value;
    }
    navigate(`${path}${searchFromFilters(next)}`);
  };
  const exportQuery = (format: string) => {
    const params = new URLSearchParams(searchFromFilters(filters));
    params.set('format', format);
    return `/api/v1/audit-events/export?${params}`;
  };
  const filtered = Object.keys(filters).length > 0;

  return (
    <section class="page audit">
      <h1>Audit trail</h1>
      <form class="filters audit-filters" aria-label="Filter audit events" key={query} onSubmit={apply}>
        <label>
          Actor
          <input name="actorName" defaultValue={filters.actorName ?? ''} placeholder="username" />
        </label>
        <label>
          Action
          <input
            name="action"
            list="audit-actions"
            defaultValue={filters.action ?? ''}
            placeholder="auth.*"
          />
        </label>
        <datalist id="audit-actions">
          {actions.value.map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
        <label>
          Outcome
          <select name="outcome" defaultValue={filters.outcome ?? ''}>
            <option value="">any</option>
            {OUTCOMES.map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
        </label>
        <label>
          Subject type
          <input name="targetType" defaultValue={filters.targetType ?? ''} placeholder="user, node…" />
        </label>
        <label>
          Subject id
          <input name="targetId" defaultValue={filters.targetId ?? ''} />
        </label>
        <label>
          From
          <input type="datetime-local" name="from" defaultValue={toLocalInput(filters.from)} />
        </label>
        <label>
          To
          <input type="datetime-local" name="to" defaultValue={toLocalInput(filters.to)} />
        </label>
        <span class="audit-filter-actions">
          <button type="submit">Apply</button>
          {filtered && <a href={path}>Clear filters</a>}
          <button type="button" onClick={loaded.reload}>
            Refresh
          </button>
        </span>
      </form>
      <p class="audit-export">
        Export {filtered ? 'these events' : 'all events'}:{' '}
        <a href={exportQuery('csv')} download>
          CSV
        </a>{' '}
        ·{' '}
        <a href={exportQuery('ndjson')} download>
          NDJSON
        </a>
      </p>
      <LoadState of={loaded} />
      {events.value?.data.length === 0 && (
        <p class="empty">{filtered ? 'No audit event matches these filters.' : 'No audit events yet.'}</p>
      )}
      {events.value && events.value.data.length > 0 && (
        <ol class="audit-list">
          {events.value.data.map((event) => (
            <AuditRow key={event.id} event={event} />
          ))}
        </ol>
      )}
      <nav class="list-pages" aria-label="Audit pages">
        {cursor && <a href={`${path}${searchFromFilters(filters)}`}>Newest</a>}
        {events.value?.nextCursor && (
          <a href={`${path}${searchFromFilters(filters, events.value.nextCursor)}`}>Older</a>
        )}
      </nav>
    </section>
  );
}

function AuditRow({ event }: { event: AuditEvent }) {
  const open = useSignal(false);
  const denied = event.outcome === 'denied';
  const detailId = `audit-detail-${event.id}`;
  const actor = event.actor.name ?? event.actor.id ?? event.actor.type;
  return (
    <li class={`audit-row audit-${event.outcome}`} data-audit-id={event.id} data-outcome={event.outcome}>
      <Ago iso={event.at} />
      <span class="audit-outcome">{denied ? 'Denied' : event.outcome === 'failure' ? 'Failed' : 'OK'}</span>
      <span class="audit-action">{event.action}</span>
      <span class="audit-actor" title={`${event.actor.type} ${event.actor.id ?? ''}`}>
        {actor}
      </span>
      <span class="audit-target">
        {event.target.type ? `${event.target.type} ${event.target.id ?? ''}` : '—'}
      </span>
      <button
        type="button"
        class="audit-toggle"
        aria-expanded={open.value}
        aria-controls={detailId}
        onClick={() => (open.value = !open.value)}
      >
        {open.value ? 'Hide details' : 'Details'}
      </button>
      {event.reason && <span class="audit-reason">{event.reason}</span>}
      {open.value && <AuditDetailView id={event.id} domId={detailId} />}
    </li>
  );
}

function AuditDetailView({ id, domId }: { id: string; domId: string }) {
  const loaded = useResource<AuditDetail>(`/audit-events/${encodeURIComponent(id)}`);
  const d = loaded.data.value;
  if (loaded.error.value || !d)
    return (
      <div id={domId} class="audit-detail">
        <LoadState of={loaded} />
      </div>
    );
  const rows = auditDiff(d.before, d.after);
  const changed = rows.filter((r) => r.change !== 'same');
  const same = rows.filter((r) => r.change === 'same');
  return (
    <div id={domId} class="audit-detail">
      <dl class="facts">
        <dt>At</dt>
        <dd>{new Date(d.at).toString()}</dd>
        <dt>Permission</dt>
        <dd>{d.permission ?? '—'}</dd>
        <dt>Request</dt>
        <dd>{d.requestId ?? '—'}</dd>
        <dt>Source</dt>
        <dd>{d.sourceIp ?? '—'}</dd>
      </dl>
      {rows.length === 0 ? (
        <p class="empty">No before or after recorded.</p>
      ) : (
        <table class="audit-diff">
          <caption>Changes</caption>
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Before</th>
              <th scope="col">After</th>
            </tr>
          </thead>
          <tbody>
            {changed.map((row) => (
              <tr key={row.key} class={`diff-${row.change}`} data-key={row.key}>
                <th scope="row">{row.key}</th>
                <td>{row.before ?? '—'}</td>
                <td>{row.after ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {same.length > 0 && (
        <details>
          <summary>
            {same.length} unchanged {same.length === 1 ? 'key' : 'keys'}
          </summary>
          <ul class="audit-same">
            {same.map((row) => (
              <li key={row.key}>
                {row.key}: {row.after}
              </li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}
