/** The schedules page's model: URL ↔ state, calendar layout in a zone (across DST), overlaps, the recurrence editor. */
import { describe, expect, it } from 'vitest';
import {
  byDate,
  dayStart,
  describeRule,
  fieldsFromRule,
  instantOf,
  layoutDays,
  monthGrid,
  type Occurrence,
  overlaps,
  overlapsOf,
  overlapText,
  ruleFromFields,
  searchFromState,
  stateFromSearch,
  validZone,
  weekDays,
  windowOf,
} from '../../controller/console/src/schedules-model.js';

function occ(
  scheduleId: string,
  startIso: string,
  minutes: number,
  nodeIds = ['n1'],
  over: Partial<Occurrence> = {},
) {
  const start = Date.parse(startIso);
  return {
    scheduleId,
    name: scheduleId,
    nodeIds,
    start,
    end: start + minutes * 60_000,
    skipped: false,
    jobs: [],
    ...over,
  } satisfies Occurrence;
}

describe('schedules page state in the URL', () => {
  it('reads defaults from an empty query and leaves them out when written back', () => {
    const state = stateFromSearch('');
    expect(state).toEqual({ view: 'list', date: '', tz: '', q: '', nodeId: '', enabled: '' });
    expect(searchFromState(state)).toBe('');
  });

  it('round-trips every field and drops values it does not know', () => {
    const search = '?view=week&date=2026-03-30&tz=Europe%2FBerlin&q=mass&nodeId=hall-a&enabled=true';
    expect(searchFromState(stateFromSearch(search))).toBe(search);
    expect(stateFromSearch('?view=year&date=30.3.2026&enabled=maybe')).toMatchObject({
      view: 'list',
      date: '',
      enabled: '',
    });
  });
});

describe('wall-clock time in a zone', () => {
  it('finds the instant of a local time, the earlier one in a fall-back hour, forward in a gap', () => {
    expect(new Date(instantOf(2026, 3, 30, 9, 0, 'Europe/Berlin')).toISOString()).toBe(
      '2026-03-30T07:00:00.000Z',
    );
    expect(new Date(instantOf(2026, 3, 23, 9, 0, 'Europe/Berlin')).toISOString()).toBe(
      '2026-03-23T08:00:00.000Z',
    );
    expect(new Date(instantOf(2026, 10, 25, 2, 30, 'Europe/Berlin')).toISOString()).toBe(
      '2026-10-25T00:30:00.000Z',
    );
    expect(new Date(instantOf(2026, 3, 29, 2, 30, 'Europe/Berlin')).toISOString()).toBe(
      '2026-03-29T01:30:00.000Z',
    );
  });

  it('knows a zone name from one it does not', () => {
    expect(validZone('Europe/Berlin')).toBe(true);
    expect(validZone('Mars/Olympus')).toBe(false);
    expect(validZone('')).toBe(false);
  });

  it('has a 23-hour day at the spring change and a 25-hour day at the autumn one', () => {
    const zone = 'Europe/Berlin';
    expect(dayStart('2026-03-30', zone) - dayStart('2026-03-29', zone)).toBe(23 * 3600_000);
    expect(dayStart('2026-10-26', zone) - dayStart('2026-10-25', zone)).toBe(25 * 3600_000);
  });
});

describe('calendar layout', () => {
  const zone = 'Europe/Berlin';

  it('lays a week out Monday first; 09:00 local sits at the 09:00 line on both sides of DST', () => {
    // Monday 23 March (CET, UTC+1) and Monday 30 March (CEST, UTC+2), each 09:00 local.
    const before = occ('s', '2026-03-23T08:00:00Z', 60);
    const after = occ('s', '2026-03-30T07:00:00Z', 60);
    const week1 = weekDays('2026-03-26');
    expect(week1[0]).toBe('2026-03-23');
    expect(week1[6]).toBe('2026-03-29');
    const [monday1] = layoutDays([before, after], week1, zone);
    const [monday2] = layoutDays([before, after], weekDays('2026-03-30'), zone);
    expect(monday1).toHaveLength(1);
    expect(monday2).toHaveLength(1);
    expect(monday1![0]).toMatchObject({ top: 540, height: 60, continued: false });
    expect(monday2![0]).toMatchObject({ top: 540, height: 60, continued: false });
  });

  it('places an occurrence across the spring-forward gap by wall-clock minutes', () => {
    // 01:30 CET → 04:30 CEST is two real hours on the 23-hour day.
    const night = occ('n', '2026-03-29T00:30:00Z', 120);
    const sunday = layoutDays([night], ['2026-03-29'], zone)[0]!;
    expect(sunday[0]).toMatchObject({ top: 90, height: 180 });
  });

  it('splits an occurrence across midnight into two days, the second marked continued', () => {
    const late = occ('late', '2026-06-01T21:00:00Z', 120); // 23:00–01:00 CEST
    const [monday, tuesday] = layoutDays([late], ['2026-06-01', '2026-06-02'], zone);
    expect(monday![0]).toMatchObject({ top: 1380, height: 60, continued: false });
    expect(tuesday![0]).toMatchObject({ top: 0, height: 60, continued: true });
  });

  it('draws the same instant on different days in different zones', () => {
    const o = occ('x', '2026-06-01T23:30:00Z', 30);
    expect([...byDate([o], 'Europe/Berlin').keys()]).toEqual(['2026-06-02']);
    expect([...byDate([o], 'America/New_York').keys()]).toEqual(['2026-06-01']);
  });

  it('builds a month grid of whole weeks, Monday first, with the window in the zone', () => {
    const grid = monthGrid('2026-03-15');
    expect(grid[0]![0]).toEqual({ date: '2026-02-23', inMonth: false });
    expect(grid.at(-1)!.at(-1)).toEqual({ date: '2026-04-05', inMonth: false });
    expect(grid.flat().filter((d) => d.inMonth)).toHaveLength(31);
    const window = windowOf('month', '2026-03-15', zone);
    expect(new Date(window.from).toISOString()).toBe('2026-02-22T23:00:00.000Z');
    expect(new Date(window.to).toISOString()).toBe('2026-04-05T22:00:00.000Z');
    expect(windowOf('day', '2026-03-29', zone).to - windowOf('day', '2026-03-29', zone).from).toBe(
      23 * 3600_000,
    );
  });
});

describe('overlaps', () => {
  it('finds occurrences on the same node whose windows intersect, not those that only touch', () => {
    const a = occ('a', '2026-06-01T09:00:00Z', 60, ['n1', 'n2']);
    const b = occ('b', '2026-06-01T09:30:00Z', 60, ['n2']);
    const c = occ('c', '2026-06-01T10:00:00Z', 30, ['n1']); // touches a's end
    const d = occ('d', '2026-06-01T09:15:00Z', 10, ['n3']); // another node
    const found = overlaps([a, b, c, d]);
    expect(found.map((o) => [o.nodeId, o.a.scheduleId, o.b.scheduleId])).toEqual([['n2', 'a', 'b']]);
    expect(overlapsOf('b', found)).toHaveLength(1);
    expect(overlapsOf('c', found)).toHaveLength(0);
  });

  it('says an overlap in words, at the later start in the zone given', () => {
    const a = occ('a', '2026-06-01T07:00:00Z', 60, ['n1'], { name: 'Mass' });
    const b = occ('b', '2026-06-01T07:30:00Z', 60, ['n1'], { name: 'Choir' });
    const [found] = overlaps([a, b]);
    const text = overlapText(found!, 'Europe/Berlin');
    expect(text).toMatch(/^“Mass” and “Choir” overlap on n1 at /);
    expect(text).toContain('09:30');
  });

  it('ignores skipped occurrences and reports a schedule that overlaps itself', () => {
    const skipped = occ('a', '2026-06-01T09:00:00Z', 60, ['n1'], { skipped: true });
    const b = occ('b', '2026-06-01T09:30:00Z', 60);
    expect(overlaps([skipped, b])).toEqual([]);
    const first = occ('long', '2026-06-01T09:00:00Z', 120);
    const second = occ('long', '2026-06-01T10:00:00Z', 120);
    expect(overlaps([first, second])).toHaveLength(1);
  });
});

describe('the recurrence editor', () => {
  it('writes the RRULE line the API accepts', () => {
    const weekly = {
      frequency: 'WEEKLY',
      interval: 2,
      weekdays: ['WE', 'MO'],
      end: 'until',
      until: '2027-03-01',
      count: 1,
    } as const;
    expect(ruleFromFields({ ...weekly, weekdays: [...weekly.weekdays] })).toBe(
      'RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;UNTIL=20270301T235959',
    );
    expect(
      ruleFromFields({ frequency: 'DAILY', interval: 1, weekdays: [], end: 'count', until: '', count: 5 }),
    ).toBe('RRULE:FREQ=DAILY;COUNT=5');
    expect(
      ruleFromFields({ frequency: 'ONCE', interval: 1, weekdays: [], end: 'never', until: '', count: 1 }),
    ).toBe('');
  });

  it('reads back what it wrote, and leaves richer rules to the text editor', () => {
    const rule = 'RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;UNTIL=20270301T235959';
    expect(ruleFromFields(fieldsFromRule(rule)!)).toBe(rule);
    expect(fieldsFromRule('')).toMatchObject({ frequency: 'ONCE' });
    expect(fieldsFromRule('RRULE:FREQ=MONTHLY;BYMONTHDAY=-1')).toBeUndefined();
    expect(fieldsFromRule('RRULE:FREQ=DAILY\nEXDATE:20270301T090000')).toBeUndefined();
  });

  it('says the rule in words', () => {
    expect(describeRule('RRULE:FREQ=WEEKLY;BYDAY=MO,WE')).toBe('Every week on Mon, Wed');
    expect(describeRule('RRULE:FREQ=DAILY;INTERVAL=3;COUNT=4')).toBe('Every 3 days, 4 times');
    expect(describeRule('')).toBe('Once');
    expect(describeRule('RRULE:FREQ=MONTHLY;BYMONTHDAY=-1')).toBe('RRULE:FREQ=MONTHLY;BYMONTHDAY=-1');
  });
});
