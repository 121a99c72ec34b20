/**
 * Schedules: the list (filters in the URL), week and month calendars and a day's 24-hour agenda
 * of the occurrences the controller expanded (`GET /schedules/:id/occurrences`), drawn in a zone
 * the operator picks (the URL keeps it), the create / edit form with its recurrence editor, and
 * overlap warnings: occurrences on the same node at the same time, in the window shown and,
 * after a save, the saved schedule's over the next 14 days. Job changes from the tab's stream
 * redraw the calendar (a missed occurrence shows "Why did this not record?").
 */
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { api } from '../api.js';
import { subscribe } from '../events.js';
import { failure, LoadState } from '../loaded.js';
import { CancelButton, closeDialogOf, ModalDialog } from '../modal-dialog.js';
import { location, navigate } from '../router.js';
import {
  addDays,
  dateOf,
  describeRule,
  listQuery,
  type Occurrence,
  operatorZone,
  overlaps,
  overlapsOf,
  overlapText,
  type ScheduleState,
  searchFromState,
  stateFromSearch,
  timeZones,
  VIEWS,
  validZone,
  whenIn,
  windowOf,
} from '../schedules-model.js';
import { can } from '../session.js';
import { DayAgenda, MissedDialog, MonthView, WeekView } from './schedules-calendar.js';
import { listSchedules, neighbourhood, occurrencesIn, type Schedule } from './schedules-data.js';
import { ScheduleForm } from './schedules-form.js';
import './schedules.css';

const DAY_MS = 24 * 3600_000;
const LIST_WINDOW_DAYS = 7;
const SAVED_WINDOW_DAYS = 14;
type RowAction = 'pause' | 'resume' | 'skip-next' | 'run-now' | 'delete';
/** Actions asked about first. */
const ASKED = {
  delete: {
    verb: 'Delete',
    question: 'Its occurrences not yet begun are removed; recordings it made are kept.',
  },
  'run-now': { verb: 'Record now', question: 'Every target node records now, for the schedule’s duration.' },
} as const;
const VIEW_LABEL = { list: 'List', week: 'Week', month: 'Month', day: 'Day' };

function step(state: ScheduleState, date: string, direction: -1 | 1): string {
  if (state.view === 'day') return addDays(date, direction);
  if (state.view === 'week') return addDays(date, 7 * direction);
  const [y, m] = date.split('-').map(Number) as [number, number];
  const first = new Date(Date.UTC(y, m - 1 + direction, 1));
  return first.toISOString().slice(0, 10);
}

export default function SchedulesPage() {
  const state = stateFromSearch(location.value.search);
  const zone = validZone(state.tz) ? state.tz : operatorZone();
  const date = state.date || dateOf(Date.now(), zone);
  const go = (patch: Partial<ScheduleState>) =>
    navigate(`${location.value.path}${searchFromState({ ...state, ...patch })}`);

  const schedules = useSignal<{ data: Schedule[]; more: boolean } | undefined>(undefined);
  const occurrences = useSignal<Occurrence[]>([]);
  const error = useSignal<string | undefined>(undefined);
  const version = useSignal(0);
  const editing = useSignal<Schedule | 'new' | undefined>(undefined);
  const missed = useSignal<Occurrence | undefined>(undefined);
  const asking = useSignal<{ schedule: Schedule; action: keyof typeof ASKED } | undefined>(undefined);
  const notice = useSignal<{ text: string; warnings: string[] } | undefined>(undefined);
  const rowError = useSignal<Record<string, string>>({});

  useEffect(() => {
    let stale = false;
    let frame: number | undefined;
    // One read at a time (each is a request per schedule): changes meanwhile read once more after.
    let running = false;
    let again = false;
    const load = async () => {
      frame = undefined;
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        const list = await listSchedules(listQuery(state));
        const window =
          state.view === 'list'
            ? { from: Date.now(), to: Date.now() + LIST_WINDOW_DAYS * DAY_MS }
            : windowOf(state.view, date, zone);
        const found = await occurrencesIn(list.data, window.from, window.to);
        if (stale) return;
        schedules.value = list;
        occurrences.value = found;
        error.value = undefined;
      } catch (err) {
        if (!stale) error.value = err instanceof Error ? err.message : String(err);
      } finally {
        running = false;
        if (again && !stale) {
          again = false;
          void load();
        }
      }
    };
    void load();
    const off = subscribe('job.state', () => {
      if (frame === undefined) frame = requestAnimationFrame(() => void load());
    });
    return () => {
      stale = true;
      off();
      if (frame !== undefined) cancelAnimationFrame(frame);
    };
  }, [location.value.search, version.value]);

  async function saved(schedule: Schedule) {
    version.value += 1;
    const text = `Saved “${schedule.name}”.`;
    notice.value = { text, warnings: [] };
    try {
      const from = Date.now();
      const near = await neighbourhood(schedule, from, from + SAVED_WINDOW_DAYS * DAY_MS);
      const clashes = overlapsOf(schedule.id, overlaps(near));
      notice.value = { text, warnings: clashes.slice(0, 10).map((o) => overlapText(o, zone)) };
    } catch {
      // The save stands; the warning is best effort (the calendar still marks clashes).
    }
  }

  /** A schedule action (pause, resume, skip the next occurrence, delete); a refusal shows on its row. */
  async function act(schedule: Schedule, action: RowAction): Promise<string | undefined> {
    const path = `/schedules/${encodeURIComponent(schedule.id)}`;
    try {
      if (action === 'delete') await api('DELETE', path);
      else await api('POST', `${path}/${action}`, {});
      const { [schedule.id]: _, ...rest } = rowError.value;
      rowError.value = rest;
      version.value += 1;
      return undefined;
    } catch (err) {
      const message = failure(err);
      rowError.value = { ...rowError.value, [schedule.id]: message };
      return message;
    }
  }

  const mayManage = can('schedule:manage');
  const found = overlaps(occurrences.value);
  const calendar = {
    occurrences: occurrences.value,
    overlaps: found,
    zone,
    date,
    onMissed: (o: Occurrence) => (missed.value = o),
    dayHref: (day: string) =>
      `${location.value.path}${searchFromState({ ...state, view: 'day', date: day })}`,
  };
  return (
    <section class="page schedules">
      <h1>Schedules</h1>
      <nav class="sched-views" aria-label="Schedule views">
        {VIEWS.map((view) => (
          <a
            key={view}
            href={`${location.value.path}${searchFromState({ ...state, view })}`}
            aria-current={state.view === view ? 'page' : undefined}
          >
            {VIEW_LABEL[view]}
          </a>
        ))}
        {mayManage && (
          <button
            type="button"
            class="sched-new"
            aria-haspopup="dialog"
            onClick={() => (editing.value = 'new')}
          >
            New schedule
          </button>
        )}
      </nav>
      <form class="filters sched-filters" aria-label="Filter schedules" onSubmit={(e) => e.preventDefault()}>
        <label>
          Name
          <input
            type="search"
            key={`q-${state.q}`}
            defaultValue={state.q}
            onChange={(e) => go({ q: e.currentTarget.value.trim() })}
          />
        </label>
        <label>
          Node
          <input
            key={`node-${state.nodeId}`}
            defaultValue={state.nodeId}
            onChange={(e) => go({ nodeId: e.currentTarget.value.trim() })}
          />
        </label>
        <label>
          State
          <select
            value={state.enabled}
            onChange={(e) => go({ enabled: e.currentTarget.value as ScheduleState['enabled'] })}
          >
            <option value="">All</option>
            <option value="true">Enabled</option>
            <option value="false">Paused</option>
          </select>
        </label>
        {state.view !== 'list' && (
          <>
            <label>
              Time zone
              <select value={zone} onChange={(e) => go({ tz: e.currentTarget.value })}>
                {timeZones().map((z) => (
                  <option key={z} value={z}>
                    {z}
                  </option>
                ))}
              </select>
            </label>
            <span class="sched-step">
              <button type="button" onClick={() => go({ date: step(state, date, -1) })}>
                Previous
              </button>
              <button type="button" onClick={() => go({ date: '' })}>
                Today
              </button>
              <button type="button" onClick={() => go({ date: step(state, date, 1) })}>
                Next
              </button>
            </span>
          </>
        )}
      </form>
      {notice.value && (
        <div class="sched-notice">
          <p role="status">{notice.value.text}</p>
          {notice.value.warnings.length > 0 && (
            <ul class="warning" role="alert" aria-label="Overlap warnings">
              {notice.value.warnings.map((w) => (
                <li key={w}>⚠ {w}</li>
              ))}
            </ul>
          )}
        </div>
      )}
      <LoadState of={{ data: schedules, error }} />
      {schedules.value && found.length > 0 && (
        <details class="sched-overlaps">
          <summary>
            ⚠ {found.length} overlap{found.length === 1 ? '' : 's'}{' '}
            {state.view === 'list' ? `in the next ${LIST_WINDOW_DAYS} days` : 'in this view'}
          </summary>
          <ul>
            {found.slice(0, 50).map((o) => (
              <li key={`${o.nodeId}-${o.a.scheduleId}-${o.a.start}-${o.b.scheduleId}-${o.b.start}`}>
                {overlapText(o, zone)}
              </li>
            ))}
          </ul>
        </details>
      )}
      {schedules.value && state.view === 'list' && (
        <ScheduleTable
          list={schedules.value}
          mayManage={mayManage}
          rowError={rowError.value}
          onEdit={(s) => (editing.value = s)}
          onAction={(s, action) => {
            if (action === 'delete' || action === 'run-now') asking.value = { schedule: s, action };
            else void act(s, action);
          }}
        />
      )}
      {schedules.value && state.view !== 'list' && <p class="muted">Times in {zone}.</p>}
      {schedules.value && state.view === 'week' && <WeekView {...calendar} />}
      {schedules.value && state.view === 'month' && <MonthView {...calendar} />}
      {schedules.value && state.view === 'day' && <DayAgenda {...calendar} />}
      {editing.value && (
        <ScheduleForm
          schedule={editing.value === 'new' ? undefined : editing.value}
          nodeId={state.nodeId}
          onSaved={(s) => void saved(s)}
          onClose={() => (editing.value = undefined)}
        />
      )}
      {asking.value && (
        <AskDialog
          schedule={asking.value.schedule}
          action={asking.value.action}
          onConfirm={(sch, action) => act(sch, action)}
          onClose={() => (asking.value = undefined)}
        />
      )}
      {missed.value && (
        <MissedDialog o={missed.value} zone={zone} onClose={() => (missed.value = undefined)} />
      )}
    </section>
  );
}

function ScheduleTable(props: {
  list: { data: Schedule[]; more: boolean };
  mayManage: boolean;
  rowError: Record<string, string>;
  onEdit: (s: Schedule) => void;
  onAction: (s: Schedule, action: RowAction) => void;
}) {
  if (props.list.data.length === 0) return <p class="empty">No schedules match.</p>;
  return (
    <>
      <div class="table-scroll">
        <table class="sched-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Repeats</th>
              <th scope="col">Next</th>
              <th scope="col">Nodes</th>
              <th scope="col">State</th>
              {props.mayManage && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {props.list.data.map((s) => (
              <tr key={s.id} data-schedule-id={s.id}>
                <td>{s.name}</td>
                <td>
                  {describeRule(s.recurrence)}
                  <span class="muted">
                    {' '}
                    from {s.start.slice(0, 16).replace('T', ' ')} {s.timeZone},{' '}
                    {Math.round(s.durationSeconds / 60)} min
                  </span>
                </td>
                <td>
                  {s.nextOccurrence ? (
                    <time dateTime={s.nextOccurrence} title={new Date(s.nextOccurrence).toString()}>
                      {whenIn(Date.parse(s.nextOccurrence), s.timeZone)} ({s.timeZone})
                    </time>
                  ) : (
                    '—'
                  )}
                </td>
                <td>{s.targets.map((t) => t.nodeId).join(', ')}</td>
                <td>{s.enabled ? 'Enabled' : 'Paused'}</td>
                {props.mayManage && (
                  <td class="sched-row-actions">
                    <button
                      type="button"
                      aria-haspopup="dialog"
                      onClick={() => props.onEdit(s)}
                      aria-label={`Edit ${s.name}`}
                    >
                      Edit
                    </button>
                    <button
                      type="button"
                      onClick={() => props.onAction(s, s.enabled ? 'pause' : 'resume')}
                      aria-label={`${s.enabled ? 'Pause' : 'Resume'} ${s.name}`}
                    >
                      {s.enabled ? 'Pause' : 'Resume'}
                    </button>
                    {s.enabled && s.nextOccurrence && (
                      <button
                        type="button"
                        onClick={() => props.onAction(s, 'skip-next')}
                        aria-label={`Skip the next occurrence of ${s.name}`}
                      >
                        Skip next
                      </button>
                    )}
                    <button
                      type="button"
                      aria-haspopup="dialog"
                      onClick={() => props.onAction(s, 'run-now')}
                      aria-label={`Record ${s.name} now`}
                    >
                      Record now
                    </button>
                    <button
                      type="button"
                      aria-haspopup="dialog"
                      onClick={() => props.onAction(s, 'delete')}
                      aria-label={`Delete ${s.name}`}
                    >
                      Delete
                    </button>
                    {props.rowError[s.id] && (
                      <span class="error" role="alert">
                        {props.rowError[s.id]}
                      </span>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {props.list.more && <p class="empty">Showing the first 200; narrow the filters to see the rest.</p>}
    </>
  );
}

/** Deleting or recording now asks first; the server's refusal shows in the dialog. */
function AskDialog(props: {
  schedule: Schedule;
  action: keyof typeof ASKED;
  onConfirm: (s: Schedule, action: keyof typeof ASKED) => Promise<string | undefined>;
  onClose: () => void;
}) {
  const error = useSignal<string | undefined>(undefined);
  const { verb, question } = ASKED[props.action];
  return (
    <ModalDialog class="sched-dialog" title={`${verb}: ${props.schedule.name}?`} onClose={props.onClose}>
      <p>{question}</p>
      {error.value && (
        <p class="error" role="alert">
          {error.value}
        </p>
      )}
      <div class="sched-actions">
        <CancelButton />
        <button
          type="button"
          onClick={async (e) => {
            const button = e.currentTarget;
            error.value = await props.onConfirm(props.schedule, props.action);
            if (error.value === undefined) closeDialogOf(button);
          }}
        >
          {verb}
        </button>
      </div>
    </ModalDialog>
  );
}
