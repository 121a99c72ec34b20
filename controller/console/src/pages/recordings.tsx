/**
 * The recording library: `GET /recordings` with the API's own filters (words in the title or
 * notes, site, node, state, tag, format, a created-at range) kept in the URL, the server's facets as the filters' counts, "jump to" a
 * date and time (sets the range's end: the newest-first list starts there), Older / Newest
 * pages by the API's cursor (in the URL too), and bulk actions on selected rows (`/recordings/bulk-metadata`,
 * `/recordings/bulk-delete`, the delete behind a confirmation) whose per-item answers are shown
 * on each row. What the role cannot do is hidden; the server still decides per recording. Kept
 * live from the tab's events stream.
 */
import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { ApiError, api } from '../api.js';
import { subscribe } from '../events.js';
import { LoadState } from '../loaded.js';
import { CancelButton, closeDialogOf, ModalDialog } from '../modal-dialog.js';
import {
  apiQuery,
  CONTAINERS,
  formatBytes,
  formatDuration,
  instantOfLocalInput,
  jumpedMinute,
  jumpTo,
  type LibraryFilterKey,
  type LibraryFilters,
  libraryFiltersFromSearch,
  localInputOf,
  pageCursorFromSearch,
  parseTags,
  RECORDING_STATES,
  searchFromLibraryFilters,
  searchFromLibraryPage,
  withFilter,
} from '../recordings-model.js';
import { location, navigate } from '../router.js';
import { can } from '../session.js';
import './recordings.css';
import { Ago } from '../time-ago.js';

interface Listed {
  id: string;
  nodeId: string;
  title: string;
  state: string;
  sizeBytes: number | null;
  durationMs: number | null;
  tags: string[];
  legalHold: boolean;
  createdAt: string;
}
interface Count {
  value: string;
  count: number;
}
interface Facets {
  total: number;
  totalBytes: number;
  totalDurationMs: number;
  state: Count[];
  node: Count[];
  site: (Count & { name: string })[];
  container: Count[];
  tag: Count[];
  legalHold: number;
}
interface BulkItem {
  id: string;
  ok: boolean;
  status: number;
  error?: { code: string; message: string };
}

const PAGE = 50;

const message = (err: unknown) => (err instanceof Error ? err.message : 'The controller did not answer.');

export default function RecordingsPage() {
  const filters = libraryFiltersFromSearch(location.value.search);
  const key = searchFromLibraryFilters(filters);
  const cursor = pageCursorFromSearch(location.value.search);
  const rows = useSignal<Listed[] | undefined>(undefined);
  const next = useSignal<string | null>(null);
  const facets = useSignal<Facets | undefined>(undefined);
  const error = useSignal<string | undefined>(undefined);
  const selected = useSignal<Set<string>>(new Set());
  const results = useSignal<Record<string, BulkItem>>({});
  const version = useSignal(0);

  const shownKey = useRef<string | undefined>(undefined);

  useEffect(() => {
    let stale = false;
    if (shownKey.current !== key) {
      // Other filters: a new list, nothing selected. The same (after a bulk action): kept.
      shownKey.current = key;
      rows.value = undefined;
      selected.value = new Set();
      results.value = {};
    }
    Promise.all([
      api<{ data: Listed[]; nextCursor: string | null }>(
        'GET',
        `/recordings${apiQuery(filters, { limit: PAGE, cursor })}`,
      ),
      api<{ data: Facets }>('GET', `/recordings/facets${apiQuery(filters)}`),
    ]).then(
      ([page, counted]) => {
        if (stale) return;
        rows.value = page.data;
        next.value = page.nextCursor;
        const shown = new Set(page.data.map((r) => r.id));
        selected.value = new Set([...selected.value].filter((id) => shown.has(id)));
        facets.value = counted.data;
        error.value = undefined;
      },
      (err: unknown) => {
        if (!stale) error.value = message(err);
      },
    );
    return () => {
      stale = true;
    };
  }, [key, cursor, version.value]);

  // Live: a recording created, finished or deleted reads the first page and the counts again (at
  // most once a second), unless the operator paged further (their place is kept).
  const onFirstPage = useRef(true);
  onFirstPage.current = cursor === undefined;
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const off = subscribe('recording.', () => {
      if (timer !== undefined || !onFirstPage.current) return;
      timer = setTimeout(() => {
        timer = undefined;
        if (!document.hidden) version.value += 1;
      }, 1000);
    });
    return () => {
      off();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, []);

  const setFilter = (name: LibraryFilterKey, value: string | undefined) =>
    navigate(`${location.value.path}${searchFromLibraryFilters(withFilter(filters, name, value))}`);

  return (
    <section class="page recordings">
      <h1>Recordings</h1>
      <LibraryFiltersForm filters={filters} facets={facets.value} onChange={setFilter} />
      {facets.value && (
        <p class="rec-summary" data-testid="rec-summary">
          {facets.value.total} recording{facets.value.total === 1 ? '' : 's'} ·{' '}
          {formatBytes(facets.value.totalBytes)} · {formatDuration(facets.value.totalDurationMs)}
          {facets.value.legalHold > 0 && ` · ${facets.value.legalHold} held`} · Export {key ? 'these' : 'all'}
          :{' '}
          <a href={`/api/v1/recordings/export${apiQuery(filters, { format: 'csv' })}`} download>
            CSV
          </a>{' '}
          ·{' '}
          <a href={`/api/v1/recordings/export${apiQuery(filters, { format: 'ndjson' })}`} download>
            NDJSON
          </a>
        </p>
      )}
      <LoadState
        of={{ data: rows, error }}
        loading="Loading recordings…"
        empty={key ? 'No recording matches these filters.' : 'No recordings yet.'}
      />
      {rows.value && rows.value.length > 0 && (
        <>
          <BulkBar
            selected={selected.value}
            onResults={(items) => {
              results.value = { ...results.value, ...Object.fromEntries(items.map((i) => [i.id, i])) };
            }}
            onDone={() => {
              version.value += 1;
            }}
          />
          <RecordingsTable
            rows={rows.value}
            selected={selected.value}
            results={results.value}
            onSelect={(ids, on) => {
              const set = new Set(selected.value);
              for (const id of ids) on ? set.add(id) : set.delete(id);
              selected.value = set;
            }}
          />
          <nav class="list-pages" aria-label="Recording pages">
            {cursor && (
              <a href={`${location.value.path}${searchFromLibraryPage(filters, undefined)}`}>Newest</a>
            )}
            {next.value && (
              <a href={`${location.value.path}${searchFromLibraryPage(filters, next.value)}`}>Older</a>
            )}
          </nav>
        </>
      )}
    </section>
  );
}

function FacetSelect(props: {
  id: string;
  label: string;
  value: string | undefined;
  counts: Count[];
  options?: readonly string[];
  /** What an option shows for its value (the value itself when not given). */
  labelOf?: (value: string) => string;
  onChange: (value: string | undefined) => void;
}) {
  const counted = new Map(props.counts.map((c) => [c.value, c.count]));
  const label = props.labelOf ?? ((v: string) => v);
  const values = props.options ?? props.counts.map((c) => c.value);
  const shown = props.value && !values.includes(props.value) ? [props.value, ...values] : values;
  return (
    <span class="rec-filter">
      <label for={props.id}>{props.label}</label>
      <select
        id={props.id}
        value={props.value ?? ''}
        onChange={(e) => props.onChange(e.currentTarget.value || undefined)}
      >
        <option value="">All</option>
        {shown.map((v) => (
          <option key={v} value={v}>
            {label(v)} ({counted.get(v) ?? 0})
          </option>
        ))}
      </select>
    </span>
  );
}

function LibraryFiltersForm({
  filters,
  facets,
  onChange,
}: {
  filters: LibraryFilters;
  facets: Facets | undefined;
  onChange: (name: LibraryFilterKey, value: string | undefined) => void;
}) {
  const jump = localInputOf(jumpedMinute(filters));
  return (
    <form
      class="filters rec-filters"
      aria-label="Filter recordings"
      onSubmit={(e) => {
        e.preventDefault();
        onChange('q', String(new FormData(e.currentTarget).get('q') ?? '').trim() || undefined);
      }}
    >
      <span class="rec-search">
        <input
          type="search"
          name="q"
          key={filters.q ?? ''}
          defaultValue={filters.q ?? ''}
          maxLength={200}
          placeholder="Title or notes"
          aria-label="Search titles and notes"
        />
        <button type="submit">Search</button>
      </span>
      <FacetSelect
        id="rec-site"
        label="Site"
        value={filters.siteId}
        counts={facets?.site ?? []}
        labelOf={(id) => facets?.site.find((s) => s.value === id)?.name ?? id}
        onChange={(v) => onChange('siteId', v)}
      />
      <FacetSelect
        id="rec-node"
        label="Node"
        value={filters.nodeId}
        counts={facets?.node ?? []}
        onChange={(v) => onChange('nodeId', v)}
      />
      <FacetSelect
        id="rec-state"
        label="State"
        value={filters.state}
        counts={facets?.state ?? []}
        options={RECORDING_STATES}
        onChange={(v) => onChange('state', v)}
      />
      <FacetSelect
        id="rec-tag"
        label="Tag"
        value={filters.tag}
        counts={facets?.tag ?? []}
        onChange={(v) => onChange('tag', v)}
      />
      <FacetSelect
        id="rec-container"
        label="Format"
        value={filters.container}
        counts={facets?.container ?? []}
        options={CONTAINERS}
        onChange={(v) => onChange('container', v)}
      />
      <span class="rec-filter">
        <label for="rec-jump">Jump to</label>
        <input
          id="rec-jump"
          type="datetime-local"
          value={jump}
          onChange={(e) => {
            const instant = instantOfLocalInput(e.currentTarget.value);
            navigate(`${location.value.path}${searchFromLibraryFilters(jumpTo(filters, instant))}`);
          }}
        />
      </span>
      {searchFromLibraryFilters(filters) && (
        <a href={location.value.path} class="rec-clear">
          Clear filters
        </a>
      )}
    </form>
  );
}

function RecordingsTable(props: {
  rows: Listed[];
  selected: Set<string>;
  results: Record<string, BulkItem>;
  onSelect: (ids: string[], on: boolean) => void;
}) {
  const selectable = can('recording:edit') || can('recording:delete');
  const all = props.rows.length > 0 && props.rows.every((r) => props.selected.has(r.id));
  const now = Date.now();
  return (
    <div class="rec-table-wrap">
      <table class="rec-table">
        <caption class="visually-hidden">Recordings, newest first</caption>
        <thead>
          <tr>
            {selectable && (
              <th scope="col">
                <input
                  type="checkbox"
                  aria-label="Select all shown"
                  checked={all}
                  onChange={(e) =>
                    props.onSelect(
                      props.rows.map((r) => r.id),
                      e.currentTarget.checked,
                    )
                  }
                />
              </th>
            )}
            <th scope="col">Title</th>
            <th scope="col">Node</th>
            <th scope="col">State</th>
            <th scope="col">Length</th>
            <th scope="col">Size</th>
            <th scope="col">Created</th>
            <th scope="col">Tags</th>
            <th scope="col">Result</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((r) => {
            const result = props.results[r.id];
            return (
              <tr key={r.id} data-recording-id={r.id}>
                {selectable && (
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Select ${r.title}`}
                      checked={props.selected.has(r.id)}
                      onChange={(e) => props.onSelect([r.id], e.currentTarget.checked)}
                    />
                  </td>
                )}
                <td>
                  <a href={`/recordings/${encodeURIComponent(r.id)}`}>{r.title}</a>
                  {r.legalHold && <span class="rec-hold"> held</span>}
                </td>
                <td>{r.nodeId}</td>
                <td>{r.state}</td>
                <td>{formatDuration(r.durationMs)}</td>
                <td>{formatBytes(r.sizeBytes)}</td>
                <td>
                  <Ago iso={r.createdAt} now={now} />
                </td>
                <td>{r.tags.join(', ')}</td>
                <td
                  class={`rec-result ${result ? (result.ok ? 'ok' : 'failed') : ''}`}
                  data-testid="rec-result"
                >
                  {result && (result.ok ? 'Done' : (result.error?.message ?? `Refused (${result.status})`))}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function BulkBar(props: {
  selected: Set<string>;
  onResults: (items: BulkItem[]) => void;
  onDone: () => void;
}) {
  const tags = useSignal('');
  const busy = useSignal(false);
  const failure = useSignal<string | undefined>(undefined);
  const confirming = useSignal(false);
  const summary = useSignal('');
  const mayEdit = can('recording:edit');
  const mayDelete = can('recording:delete');
  if (!mayEdit && !mayDelete) return null;
  const ids = [...props.selected];

  async function run(path: string, body: object) {
    busy.value = true;
    failure.value = undefined;
    try {
      const { data } = await api<{ data: { results: BulkItem[]; succeeded: number; failed: number } }>(
        'POST',
        path,
        { ids, ...body },
      );
      props.onResults(data.results);
      summary.value = `${data.succeeded} done, ${data.failed} refused.`;
      props.onDone(); // the list read again: tags, holds, deletions
      return true;
    } catch (err) {
      failure.value = err instanceof ApiError ? err.message : message(err);
      return false;
    } finally {
      busy.value = false;
    }
  }

  const disabled = busy.value || ids.length === 0;
  return (
    <fieldset class="rec-bulk">
      <legend class="visually-hidden">Act on the selected recordings</legend>
      <span>{ids.length} selected</span>
      {mayEdit && (
        <>
          <label for="rec-bulk-tags">Tags</label>
          <input
            id="rec-bulk-tags"
            value={tags.value}
            placeholder="tag, another"
            onInput={(e) => {
              tags.value = e.currentTarget.value;
            }}
          />
          <button
            type="button"
            disabled={disabled || parseTags(tags.value).length === 0}
            onClick={() => void run('/recordings/bulk-metadata', { set: { addTags: parseTags(tags.value) } })}
          >
            Add tags
          </button>
          <button
            type="button"
            disabled={disabled || parseTags(tags.value).length === 0}
            onClick={() =>
              void run('/recordings/bulk-metadata', { set: { removeTags: parseTags(tags.value) } })
            }
          >
            Remove tags
          </button>
          <button
            type="button"
            disabled={disabled}
            onClick={() => void run('/recordings/bulk-metadata', { set: { legalHold: true } })}
          >
            Hold
          </button>
          <button
            type="button"
            disabled={disabled}
            onClick={() => void run('/recordings/bulk-metadata', { set: { legalHold: false } })}
          >
            Release hold
          </button>
        </>
      )}
      {mayDelete && (
        <button
          type="button"
          disabled={disabled}
          aria-haspopup="dialog"
          onClick={() => (confirming.value = true)}
        >
          Delete…
        </button>
      )}
      <span aria-live="polite" data-testid="rec-bulk-summary">
        {summary.value}
      </span>
      {failure.value && (
        <span class="error" role="alert">
          {failure.value}
        </span>
      )}
      {confirming.value && (
        <DeleteDialog
          count={ids.length}
          onConfirm={async (allowTagged) => {
            return run('/recordings/bulk-delete', { allowTagged });
          }}
          onClose={() => (confirming.value = false)}
        />
      )}
    </fieldset>
  );
}

/** Deleting the selection asks first (modal-dialog.tsx: Esc or Cancel closes it, focus returns). */
function DeleteDialog(props: {
  count: number;
  onConfirm: (allowTagged: boolean) => Promise<boolean>;
  onClose: () => void;
}) {
  const allowTagged = useSignal(false);
  return (
    <ModalDialog class="rec-dialog" title="Delete recordings" onClose={props.onClose}>
      <form
        method="dialog"
        onSubmit={async (e) => {
          e.preventDefault();
          const form = e.currentTarget;
          if (await props.onConfirm(allowTagged.value)) closeDialogOf(form);
        }}
      >
        <p>
          Delete {props.count} recording{props.count === 1 ? '' : 's'} and their files? Held recordings are
          never deleted.
        </p>
        <label>
          <input
            type="checkbox"
            checked={allowTagged.value}
            onChange={(e) => (allowTagged.value = e.currentTarget.checked)}
          />{' '}
          Delete tagged recordings too
        </label>
        <div class="rec-dialog-actions">
          <CancelButton />
          <button type="submit">Delete</button>
        </div>
      </form>
    </ModalDialog>
  );
}
