/**
 * The schedules page's calendars: a week of day columns on a 24-hour grid, a month of day cells,
 * and one day's 24-hour agenda, all drawn in the chosen zone from occurrences the controller
 * expanded. An occurrence that clashes with another on the same node is marked; one that did
 * not record offers "Why did this not record?" (its job's reason and the node's
 * `occurrence_missed` health events, with links to them).
 */
import { api } from '../api.js';
import { LoadState, useLoaded } from '../loaded.js';
import { CancelButton, ModalDialog } from '../modal-dialog.js';
import {
  byDate,
  clockTime,
  layoutDays,
  missedJobs,
  monthGrid,
  type Occurrence,
  type Overlap,
  weekDays,
} from '../schedules-model.js';
import { can } from '../session.js';

const HOURS = Array.from({ length: 24 }, (_, h) => h);
const DAY_FORMAT = { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' } as const;

function dayLabel(date: string): string {
  return new Date(`${date}T12:00:00Z`).toLocaleDateString(undefined, DAY_FORMAT);
}

function clashes(o: Occurrence, overlaps: readonly Overlap[]): boolean {
  return overlaps.some((x) => x.a === o || x.b === o);
}

export interface CalendarProps {
  occurrences: Occurrence[];
  overlaps: Overlap[];
  zone: string;
  date: string;
  onMissed: (o: Occurrence) => void;
  /** The link to one day's agenda (the page's other state kept). */
  dayHref: (date: string) => string;
}

function OccurrenceBlock({
  o,
  props,
  style,
}: {
  o: Occurrence;
  props: CalendarProps;
  style?: Record<string, string>;
}) {
  const clash = clashes(o, props.overlaps);
  const missed = missedJobs(o).length > 0;
  const label = `${o.name}, ${clockTime(o.start, props.zone)}–${clockTime(o.end, props.zone)}`;
  return (
    <div
      class={`occ${o.skipped ? ' occ-skipped' : ''}${clash ? ' occ-clash' : ''}${missed ? ' occ-missed' : ''}`}
      style={style}
      data-schedule-id={o.scheduleId}
      title={`${label} on ${o.nodeIds.join(', ')} (${new Date(o.start).toString()})`}
    >
      <span class="occ-time">{clockTime(o.start, props.zone)}</span> <span class="occ-name">{o.name}</span>
      {o.skipped && <span class="occ-flag"> skipped</span>}
      {clash && <span class="occ-flag"> ⚠ overlaps</span>}
      {missed && (
        <button type="button" class="link" aria-haspopup="dialog" onClick={() => props.onMissed(o)}>
          Why did this not record?
        </button>
      )}
    </div>
  );
}

export function WeekView(props: CalendarProps & { days?: string[] }) {
  const days = props.days ?? weekDays(props.date);
  const columns = layoutDays(props.occurrences, days, props.zone);
  return (
    <section class={`cal-week cal-cols-${days.length}`} aria-label={`Week of ${dayLabel(days[0]!)}`}>
      <div class="cal-head" aria-hidden="true" />
      {days.map((date) => (
        <h3 key={date} class="cal-head">
          {dayLabel(date)}
        </h3>
      ))}
      <div class="cal-hours" aria-hidden="true">
        {HOURS.map((h) => (
          <span key={h}>{`${String(h).padStart(2, '0')}:00`}</span>
        ))}
      </div>
      {columns.map((placed, i) => (
        <ul key={days[i]} class="cal-day" aria-label={dayLabel(days[i]!)}>
          {placed.length === 0 && <li class="sr-only">Nothing scheduled</li>}
          {placed.map((p) => (
            <li key={`${p.occurrence.scheduleId}-${p.occurrence.start}`}>
              <OccurrenceBlock
                o={p.occurrence}
                props={props}
                style={{ top: `${(p.top / 1440) * 100}%`, height: `${(p.height / 1440) * 100}%` }}
              />
            </li>
          ))}
        </ul>
      ))}
    </section>
  );
}

export function MonthView(props: CalendarProps) {
  const grid = monthGrid(props.date);
  const perDay = byDate(props.occurrences, props.zone);
  return (
    <div class="table-scroll">
      <table class="cal-month">
        <caption class="sr-only">
          {new Date(`${props.date}T12:00:00Z`).toLocaleDateString(undefined, {
            month: 'long',
            year: 'numeric',
            timeZone: 'UTC',
          })}
        </caption>
        <thead>
          <tr>
            {['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].map((d) => (
              <th key={d} scope="col">
                {d}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {grid.map((week) => (
            <tr key={week[0]!.date}>
              {week.map(({ date, inMonth }) => {
                const list = perDay.get(date) ?? [];
                return (
                  <td key={date} class={inMonth ? '' : 'out'}>
                    <a
                      class="cal-date"
                      href={props.dayHref(date)}
                      aria-label={`${dayLabel(date)}: the day's agenda`}
                    >
                      {Number(date.slice(8))}
                    </a>
                    {list.slice(0, 4).map((o) => (
                      <OccurrenceBlock key={`${o.scheduleId}-${o.start}`} o={o} props={props} />
                    ))}
                    {list.length > 4 && <span class="muted">+{list.length - 4} more</span>}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** One day: the 24-hour grid, and the day's occurrences as a list beneath for reading in order. */
export function DayAgenda(props: CalendarProps) {
  const list = [...props.occurrences].sort((a, b) => a.start - b.start);
  return (
    <div class="cal-agenda">
      <WeekView {...props} days={[props.date]} />
      {list.length === 0 ? (
        <p class="empty">Nothing scheduled this day.</p>
      ) : (
        <ol class="agenda-list">
          {list.map((o) => (
            <li key={`${o.scheduleId}-${o.start}`}>
              <OccurrenceBlock o={o} props={props} />
              <span class="muted">
                {' '}
                until {clockTime(o.end, props.zone)} on {o.nodeIds.join(', ')}
                {o.jobs.length > 0 && ` · ${o.jobs.map((j) => `${j.nodeId}: ${j.state}`).join(', ')}`}
              </span>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

interface MissedFacts {
  jobs: { nodeId: string; jobId: string; failureReason: string | null }[];
  events: { id: string; nodeId: string | null; status: string; message: string }[];
}

/** An occurrence's failed jobs with their reasons, and its nodes' `occurrence_missed` events. */
async function readMissed(o: Occurrence): Promise<MissedFacts> {
  const missed = missedJobs(o);
  const readJobs = Promise.all(
    missed.map((j) =>
      api<{ data: { failureReason: string | null } }>(
        'GET',
        `/recording-jobs/${encodeURIComponent(j.jobId)}`,
      ).then(
        (r) => ({ ...j, failureReason: r.data.failureReason }),
        () => ({ ...j, failureReason: null }),
      ),
    ),
  );
  const readEvents = can('health:read')
    ? Promise.all(
        [...new Set(missed.map((j) => j.nodeId))].map((nodeId) =>
          api<{ data: (MissedFacts['events'][number] & { values: Record<string, unknown> })[] }>(
            'GET',
            `/health-events?nodeId=${encodeURIComponent(nodeId)}&type=occurrence_missed&limit=50`,
          ).then((r) => r.data.filter((e) => e.values.scheduleId === o.scheduleId)),
        ),
      ).then((lists) => lists.flat())
    : Promise.resolve([]);
  const [jobs, events] = await Promise.all([readJobs, readEvents]);
  return { jobs, events };
}

/** Why an occurrence did not record: its failed jobs' reasons and the node's `occurrence_missed` events. */
export function MissedDialog({ o, zone, onClose }: { o: Occurrence; zone: string; onClose: () => void }) {
  const loaded = useLoaded(() => readMissed(o), [o]);
  const facts = loaded.data;
  const nodes = [...new Set(missedJobs(o).map((j) => j.nodeId))];
  return (
    <ModalDialog class="sched-dialog" title="Why did this not record?" onClose={onClose}>
      <p>
        {o.name}, {new Date(o.start).toLocaleString(undefined, { timeZone: zone })} ({zone})
      </p>
      <LoadState of={loaded} />
      {facts.value && (
        <>
          <ul>
            {facts.value.jobs.map((j) => (
              <li key={j.jobId}>
                On <a href={`/nodes/${encodeURIComponent(j.nodeId)}`}>{j.nodeId}</a>:{' '}
                {j.failureReason ?? 'the job did not complete'} (
                <a href={`/jobs?jobId=${encodeURIComponent(j.jobId)}&nodeId=${encodeURIComponent(j.nodeId)}`}>
                  job
                </a>
                )
              </li>
            ))}
          </ul>
          <h3>Health events</h3>
          {facts.value.events.length === 0 ? (
            <p class="empty">No missed-occurrence health event for this schedule on its nodes.</p>
          ) : (
            <ul>
              {facts.value.events.map((e) => (
                <li key={e.id}>
                  {e.status}: {e.message}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
      <p>
        {nodes.map((nodeId) => (
          <a
            key={nodeId}
            class="sched-link"
            href={`/health?nodeId=${encodeURIComponent(nodeId)}&type=occurrence_missed`}
          >
            Health events of {nodeId}
          </a>
        ))}
      </p>
      <div class="sched-actions">
        <CancelButton label="Close" />
      </div>
    </ModalDialog>
  );
}
