/**
 * The schedules page's model: its state in the URL, wall-clock dates in an IANA zone (Intl
 * only), the week / month / day layout of occurrences the API expanded (the controller expands
 * recurrence; nothing here expands a rule), overlaps of occurrences on the same node, and the
 * recurrence editor's fields to and from the RRULE line the API accepts.
 */

export const VIEWS = ['list', 'week', 'month', 'day'] as const;
export type View = (typeof VIEWS)[number];

export interface ScheduleState {
  view: View;
  /** The day shown (YYYY-MM-DD in `tz`); empty: today. */
  date: string;
  /** The zone the calendar is drawn in; empty: the operator's. */
  tz: string;
  q: string;
  nodeId: string;
  enabled: '' | 'true' | 'false';
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function stateFromSearch(search: string): ScheduleState {
  const p = new URLSearchParams(search);
  const view = p.get('view') ?? '';
  const enabled = p.get('enabled') ?? '';
  const date = p.get('date') ?? '';
  return {
    view: (VIEWS as readonly string[]).includes(view) ? (view as View) : 'list',
    date: DATE.test(date) ? date : '',
    tz: p.get('tz') ?? '',
    q: p.get('q') ?? '',
    nodeId: p.get('nodeId') ?? '',
    enabled: enabled === 'true' || enabled === 'false' ? enabled : '',
  };
}

/** The query string of a state (defaults left out), with its `?`, or '' when all are defaults. */
export function searchFromState(state: ScheduleState): string {
  const p = new URLSearchParams();
  if (state.view !== 'list') p.set('view', state.view);
  if (state.date) p.set('date', state.date);
  if (state.tz) p.set('tz', state.tz);
  if (state.q) p.set('q', state.q);
  if (state.nodeId) p.set('nodeId', state.nodeId);
  if (state.enabled) p.set('enabled', state.enabled);
  const text = p.toString();
  return text ? `?${text}` : '';
}

/** The list's API query from the page state. */
export function listQuery(state: ScheduleState): string {
  const p = new URLSearchParams({ limit: '200' });
  if (state.q) p.set('q', state.q);
  if (state.nodeId) p.set('nodeId', state.nodeId);
  if (state.enabled) p.set('enabled', state.enabled);
  return p.toString();
}

// ---- Wall-clock time in a zone ------------------------------------------------------------

export interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  /** 0 Monday … 6 Sunday. */
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function partsFormatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      weekday: 'short',
    });
    formatters.set(zone, f);
  }
  return f;
}

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** The wall-clock reading of an instant in `zone`. */
export function localParts(ms: number, zone: string): LocalParts {
  const out: Record<string, string> = {};
  for (const part of partsFormatter(zone).formatToParts(new Date(ms))) out[part.type] = part.value;
  return {
    year: Number(out.year),
    month: Number(out.month),
    day: Number(out.day),
    hour: Number(out.hour) % 24,
    minute: Number(out.minute),
    weekday: WEEKDAYS.indexOf(out.weekday ?? ''),
  };
}

/** How far `zone` is ahead of UTC at an instant, in ms. */
function offsetAt(ms: number, zone: string): number {
  const p = localParts(ms, zone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute);
  return asUtc - Math.floor(ms / 60_000) * 60_000;
}

/**
 * The instant a wall-clock time in `zone` names (the earlier one in a fall-back hour; a time
 * in a spring-forward gap moves forward, as the controller does).
 */
export function instantOf(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  zone: string,
) {
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  const candidates = [offsetAt(wall - 3 * 3600_000, zone), offsetAt(wall + 3 * 3600_000, zone)]
    .map((offset) => wall - offset)
    .filter((t) => {
      const p = localParts(t, zone);
      return p.hour === hour && p.minute === minute && p.day === day;
    });
  if (candidates.length > 0) return Math.min(...candidates);
  return wall - offsetAt(wall - 3 * 3600_000, zone); // in a gap: the earlier offset, i.e. later wall time
}

/** A calendar date (YYYY-MM-DD) moved by days (no zone involved). */
export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

export function dateOf(ms: number, zone: string): string {
  const p = localParts(ms, zone);
  return `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}

/** The instant a local day begins in `zone`. */
export function dayStart(date: string, zone: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return instantOf(y, m, d, 0, 0, zone);
}

function weekdayOfDate(date: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7;
}

/** The Monday of the week holding `date`. */
export function weekStart(date: string): string {
  return addDays(date, -weekdayOfDate(date));
}

// ---- Occurrences and their layout -------------------------------------------------------

/** One occurrence of one schedule, as the API planned it (instants, ms). */
export interface Occurrence {
  scheduleId: string;
  name: string;
  nodeIds: string[];
  start: number;
  end: number;
  skipped: boolean;
  jobs: { nodeId: string; jobId: string; state: string }[];
}

/** An occurrence drawn in one day column: top and height as minutes of the wall-clock day. */
export interface Placed {
  occurrence: Occurrence;
  date: string;
  top: number;
  height: number;
  /** The occurrence began before this day (continues from the day before). */
  continued: boolean;
}

function minuteOfDay(ms: number, zone: string): number {
  const p = localParts(ms, zone);
  return p.hour * 60 + p.minute;
}

/**
 * The occurrences in each of `days` (local dates in `zone`), clipped to the day. Positions are
 * wall-clock minutes (0‥1440), so a 09:00 occurrence sits at the 09:00 line on both sides of a
 * DST change, and a day of 23 or 25 hours still spans the column.
 */
export function layoutDays(
  occurrences: readonly Occurrence[],
  days: readonly string[],
  zone: string,
): Placed[][] {
  return days.map((date) => {
    const from = dayStart(date, zone);
    const to = dayStart(addDays(date, 1), zone);
    return occurrences
      .filter((o) => o.start < to && o.end > from)
      .sort((a, b) => a.start - b.start || a.name.localeCompare(b.name))
      .map((occurrence) => {
        const top = occurrence.start <= from ? 0 : minuteOfDay(occurrence.start, zone);
        const bottom = occurrence.end >= to ? 1440 : minuteOfDay(occurrence.end, zone);
        return {
          occurrence,
          date,
          top,
          height: Math.max(bottom - top, 15),
          continued: occurrence.start < from,
        };
      });
  });
}

/** The seven dates of the week holding `date`, Monday first. */
export function weekDays(date: string): string[] {
  const first = weekStart(date);
  return Array.from({ length: 7 }, (_, i) => addDays(first, i));
}

/** The month grid of `date`'s month: whole weeks, Monday first (dates outside the month included). */
export function monthGrid(date: string): { date: string; inMonth: boolean }[][] {
  const month = date.slice(0, 7);
  let day = weekStart(`${month}-01`);
  const weeks: { date: string; inMonth: boolean }[][] = [];
  do {
    weeks.push(
      Array.from({ length: 7 }, (_, i) => {
        const d = addDays(day, i);
        return { date: d, inMonth: d.startsWith(month) };
      }),
    );
    day = addDays(day, 7);
  } while (day.startsWith(month));
  return weeks;
}

/** The instants [from, to) a view covers in `zone`. */
export function windowOf(
  view: View,
  date: string,
  zone: string,
): { from: number; to: number; days: string[] } {
  let days: string[];
  if (view === 'month')
    days = monthGrid(date)
      .flat()
      .map((d) => d.date);
  else if (view === 'day') days = [date];
  else days = weekDays(date);
  return { from: dayStart(days[0]!, zone), to: dayStart(addDays(days[days.length - 1]!, 1), zone), days };
}

/** Occurrences per local date (by their start) in `zone`, for the month grid. */
export function byDate(occurrences: readonly Occurrence[], zone: string): Map<string, Occurrence[]> {
  const map = new Map<string, Occurrence[]>();
  for (const o of [...occurrences].sort((a, b) => a.start - b.start)) {
    const key = dateOf(o.start, zone);
    map.set(key, [...(map.get(key) ?? []), o]);
  }
  return map;
}

// ---- Overlaps ------------------------------------------------------------------------------

export interface Overlap {
  nodeId: string;
  a: Occurrence;
  b: Occurrence;
}

/**
 * Pairs of occurrences that record on the same node at the same time (windows intersect;
 * touching end to start is not an overlap). A schedule whose occurrences outlast its interval
 * overlaps itself, and is reported too.
 */
export function overlaps(occurrences: readonly Occurrence[]): Overlap[] {
  const perNode = new Map<string, Occurrence[]>();
  for (const o of occurrences)
    if (!o.skipped) for (const nodeId of o.nodeIds) perNode.set(nodeId, [...(perNode.get(nodeId) ?? []), o]);
  const found: Overlap[] = [];
  for (const [nodeId, list] of [...perNode].sort(([a], [b]) => a.localeCompare(b))) {
    list.sort((x, y) => x.start - y.start);
    for (let i = 0; i < list.length; i++)
      for (let j = i + 1; j < list.length && list[j]!.start < list[i]!.end; j++)
        found.push({ nodeId, a: list[i]!, b: list[j]! });
  }
  return found;
}

/** "Mon, 1 Jun, 09:30" in `zone` (the browser's language). */
export function whenIn(ms: number, zone: string): string {
  return new Date(ms).toLocaleString(undefined, {
    timeZone: zone,
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
  });
}

/** An overlap in words: who clashes with whom, on which node, from when (the later start). */
export function overlapText(o: Overlap, zone: string): string {
  const later = o.b.start > o.a.start ? o.b : o.a;
  const names =
    o.a.scheduleId === o.b.scheduleId
      ? `“${o.a.name}” overlaps itself`
      : `“${o.a.name}” and “${o.b.name}” overlap`;
  return `${names} on ${o.nodeId} at ${whenIn(later.start, zone)}`;
}

/** The overlaps that involve `scheduleId`. */
export function overlapsOf(scheduleId: string, all: readonly Overlap[]): Overlap[] {
  return all.filter((o) => o.a.scheduleId === scheduleId || o.b.scheduleId === scheduleId);
}

// ---- The recurrence editor -----------------------------------------------------------------

export const FREQUENCIES = ['ONCE', 'HOURLY', 'DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY'] as const;
export type Frequency = (typeof FREQUENCIES)[number];
export const BYDAY = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'] as const;

export interface RecurrenceFields {
  frequency: Frequency;
  interval: number;
  /** For WEEKLY: MO…SU; empty: the start's weekday. */
  weekdays: string[];
  end: 'never' | 'until' | 'count';
  /** YYYY-MM-DD: the last day an occurrence may begin (local). */
  until: string;
  count: number;
}

export const DEFAULT_RECURRENCE: RecurrenceFields = {
  frequency: 'WEEKLY',
  interval: 1,
  weekdays: [],
  end: 'never',
  until: '',
  count: 10,
};

/** The RRULE line the API accepts (local times, no zone, no DTSTART); '' for once. */
export function ruleFromFields(fields: RecurrenceFields): string {
  if (fields.frequency === 'ONCE') return '';
  const parts = [`FREQ=${fields.frequency}`];
  if (fields.interval > 1) parts.push(`INTERVAL=${Math.floor(fields.interval)}`);
  if (fields.frequency === 'WEEKLY' && fields.weekdays.length > 0)
    parts.push(`BYDAY=${BYDAY.filter((d) => fields.weekdays.includes(d)).join(',')}`);
  if (fields.end === 'until' && DATE.test(fields.until))
    parts.push(`UNTIL=${fields.until.replaceAll('-', '')}T235959`);
  if (fields.end === 'count') parts.push(`COUNT=${Math.max(1, Math.floor(fields.count))}`);
  return `RRULE:${parts.join(';')}`;
}

/**
 * The editor's fields for a stored rule, or undefined when the rule says more than the editor
 * shows (RDATE / EXDATE lines, BYMONTHDAY…): then the rule is edited as text.
 */
export function fieldsFromRule(rule: string): RecurrenceFields | undefined {
  const lines = rule
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.length === 0) return { ...DEFAULT_RECURRENCE, frequency: 'ONCE' };
  if (lines.length > 1 || !lines[0]!.startsWith('RRULE:')) return undefined;
  const fields: RecurrenceFields = { ...DEFAULT_RECURRENCE };
  for (const part of lines[0]!.slice(6).split(';')) {
    const [key, value = ''] = part.split('=');
    if (key === 'FREQ' && (FREQUENCIES as readonly string[]).includes(value) && value !== 'ONCE')
      fields.frequency = value as Frequency;
    else if (key === 'INTERVAL' && /^\d+$/.test(value)) fields.interval = Number(value);
    else if (key === 'BYDAY' && value.split(',').every((d) => (BYDAY as readonly string[]).includes(d)))
      fields.weekdays = value.split(',');
    else if (key === 'UNTIL' && /^\d{8}(T\d{6}Z?)?$/.test(value)) {
      fields.end = 'until';
      fields.until = `${value.slice(0, 4)}-${value.slice(4, 6)}-${value.slice(6, 8)}`;
    } else if (key === 'COUNT' && /^\d+$/.test(value)) {
      fields.end = 'count';
      fields.count = Number(value);
    } else if (key !== 'WKST') return undefined;
  }
  return fields;
}

const DAY_NAMES: Record<string, string> = {
  MO: 'Mon',
  TU: 'Tue',
  WE: 'Wed',
  TH: 'Thu',
  FR: 'Fri',
  SA: 'Sat',
  SU: 'Sun',
};
const UNITS: Record<string, string> = {
  HOURLY: 'hour',
  DAILY: 'day',
  WEEKLY: 'week',
  MONTHLY: 'month',
  YEARLY: 'year',
};

/** The rule in words ("Every 2 weeks on Mon, Wed until 2027-03-01"), or the rule text itself. */
export function describeRule(rule: string): string {
  const f = fieldsFromRule(rule);
  if (!f) return rule.trim();
  if (f.frequency === 'ONCE') return 'Once';
  const unit = UNITS[f.frequency]!;
  let text = f.interval > 1 ? `Every ${f.interval} ${unit}s` : `Every ${unit}`;
  if (f.weekdays.length > 0) text += ` on ${f.weekdays.map((d) => DAY_NAMES[d]).join(', ')}`;
  if (f.end === 'until') text += ` until ${f.until}`;
  if (f.end === 'count') text += `, ${f.count} times`;
  return text;
}

/** The IANA zones the browser knows (the controller checks the name again). */
export function timeZones(): string[] {
  const intl = Intl as typeof Intl & { supportedValuesOf?: (key: string) => string[] };
  const zones = intl.supportedValuesOf?.('timeZone') ?? [];
  return zones.includes('UTC') ? zones : ['UTC', ...zones];
}

/** A zone name the browser knows (an unknown one from a URL falls back to the operator's). */
export function validZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone.length > 0;
  } catch {
    return false;
  }
}

export function operatorZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** "09:00" in `zone`. */
export function clockTime(ms: number, zone: string): string {
  const p = localParts(ms, zone);
  return `${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`;
}

/** A missed occurrence: its job on a node failed (the controller raised `occurrence_missed`). */
export function missedJobs(occurrence: Occurrence): { nodeId: string; jobId: string }[] {
  return occurrence.jobs.filter((j) => j.state === 'failed' || j.state === 'lost_contact');
}
