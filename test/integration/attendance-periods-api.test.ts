/**
 * Attendance periods through the HTTP API with a hand-moved clock: calendar resets
 * (daily, weekly, monthly) in non-UTC time zones across the spring-forward and
 * fall-back nights, rolling resets that stay exactly one interval of real time apart,
 * reset-now inside a 25-hour day, late (catch-up) resets, a due reset that two passes
 * race for, and a reset that fails. The real reset scheduler runs with injected
 * timers: each step sets the clock and fires its interval once, as its timer would.
 */
import type { FastifyBaseLogger } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AttendanceResetScheduler } from '../../controller/src/modules/attendance/periods/reset-scheduler.js';
import { requestAs } from '../support/api.js';
import { OWNER, type TestController, testController } from '../support/controller.js';

const H = 3_600_000;
const VOICE = '210000000000000001';
const ALICE = '310000000000000001';
const BOB = '310000000000000002';
const CAROL = '310000000000000003';
const WEBHOOK_SECRET = 'attendance-periods-webhook-secret';

interface PeriodState {
  index: number;
  started_at: string;
  next_reset_at: string | null;
  schedule: Record<string, unknown>;
}

interface ArchivedPeriod {
  period_index: number;
  started_at: string;
  ended_at: string;
  snapshot: {
    period_index: number;
    period_started_at: string;
    period_ended_at: string;
    leaderboard: { user_id: string; active_seconds: number; rank: number }[];
    session_count: number;
  };
}

const iso = (text: string) => new Date(text).toISOString();
const hoursOf = (period: { started_at: string; ended_at: string }) =>
  (Date.parse(period.ended_at) - Date.parse(period.started_at)) / H;
/** The archived leaderboard as [user, active seconds] pairs. */
const board = (period: ArchivedPeriod) =>
  period.snapshot.leaderboard.map((entry) => [entry.user_id, entry.active_seconds]);

/**
 * A controller on a fresh database whose clock only moves when told, with the real
 * reset scheduler driven by injected timers.
 */
async function periodsHarness(startIso: string) {
  let nowMs = Date.parse(startIso);
  const ctl: TestController = await testController(
    { attendanceWebhookSecret: WEBHOOK_SECRET },
    () => new Date(nowMs),
  );
  let owner = await ctl.ownerToken();
  const schedulerErrors: unknown[] = [];
  let fireInterval: (() => void) | undefined;
  const scheduler = new AttendanceResetScheduler(
    ctl.services.attendancePeriods,
    { error: ((...args: unknown[]) => schedulerErrors.push(args)) as FastifyBaseLogger['error'] },
    {
      intervalMs: 30_000,
      timers: {
        setInterval: (fn) => {
          fireInterval = fn;
          return 'interval';
        },
        clearInterval: () => {
          fireInterval = undefined;
        },
      },
    },
  );
  scheduler.start();
  await scheduler.tick();

  const api = async (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) => {
    const send = () => requestAs(ctl.app, owner, method, url, payload);
    let response = await send();
    if (response.statusCode === 401) {
      // The clock moved past the session's lifetime: sign in again.
      const login = await ctl.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: OWNER });
      owner = login.json().data.token;
      response = await send();
    }
    expect(response.statusCode, `${method} ${url}: ${response.body}`).toBe(200);
    return response.json().data;
  };
  const guildUrl = (guildId: string, path: string) => `/api/v1/guilds/${guildId}${path}`;
  const webhook = async (payload: object) => {
    const response = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/webhooks/attendance',
      headers: { 'x-webhook-secret': WEBHOOK_SECRET },
      payload,
    });
    expect(response.statusCode, response.body).toBe(200);
    return response.json().data as { stored: number; open_session_id: string | null };
  };

  return {
    ctl,
    schedulerErrors,
    setClock(atIso: string) {
      nowMs = Date.parse(atIso);
    },
    /** Moves the clock to `atIso` and lets one scheduler interval fire. */
    async tickAt(atIso: string) {
      nowMs = Date.parse(atIso);
      expect(fireInterval, 'the scheduler is started').toBeDefined();
      fireInterval!();
      await scheduler.tick();
    },
    /**
     * A guild the bot sees, with `present` joining voice through the inbound webhook. Its
     * first period is started by a reset-now at the injected clock, so each test starts on a boundary.
     */
    async guild(guildId: string, present: string[]) {
      await ctl.services.attendance.onGuildAvailable(guildId, `Guild ${guildId}`, [], null);
      for (const userId of present) await webhook({ guild_id: guildId, user_id: userId, channel_id: VOICE });
      await api('POST', guildUrl(guildId, '/reset-now'));
    },
    setSchedule: (guildId: string, schedule: object) =>
      api('PATCH', guildUrl(guildId, '/reset-interval'), schedule) as Promise<{
        schedule: Record<string, unknown>;
        next_reset_at: string | null;
      }>,
    resetNow: (guildId: string) => api('POST', guildUrl(guildId, '/reset-now')),
    async status(guildId: string): Promise<PeriodState> {
      return (await api('GET', guildUrl(guildId, '/signing/status'))).period;
    },
    history: (guildId: string) =>
      api('GET', guildUrl(guildId, '/signing/history')) as Promise<ArchivedPeriod[]>,
    async lastArchived(guildId: string): Promise<ArchivedPeriod> {
      const [newest] = (await api('GET', guildUrl(guildId, '/signing/history?limit=1'))) as ArchivedPeriod[];
      expect(newest).toBeDefined();
      return newest!;
    },
    overview: (guildId: string) => api('GET', guildUrl(guildId, '/overview')),
    join: (guildId: string, userId: string) =>
      webhook({ guild_id: guildId, user_id: userId, channel_id: VOICE }),
    leave: (guildId: string, userId: string) =>
      webhook({ guild_id: guildId, user_id: userId, channel_id: null }),
    /** Where the stored sessions of a user went: [period index, active seconds]. */
    async storedSessions(guildId: string, userId: string) {
      const rows = await ctl.db.voiceSession.findMany({
        where: { guildId, userId },
        orderBy: { startedAt: 'asc' },
      });
      return rows.map((row) => [row.periodIndex, Number(row.activeMs) / 1000]);
    },
    async stop() {
      await scheduler.stop();
      await ctl.stop();
    },
  };
}

type Harness = Awaited<ReturnType<typeof periodsHarness>>;

/** Makes archiving a period of `guildId` fail in the database; returns the undo. */
async function failArchivesOf(ctl: TestController, guildId: string): Promise<() => Promise<unknown>> {
  if (ctl.target.provider === 'postgresql') {
    await ctl.db.$executeRawUnsafe(
      `CREATE FUNCTION fail_archive() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`,
    );
    await ctl.db.$executeRawUnsafe(
      `CREATE TRIGGER fail_archive BEFORE INSERT ON "AttendancePeriod" FOR EACH ROW WHEN (NEW."guildId" = '${guildId}') EXECUTE FUNCTION fail_archive()`,
    );
    return () => ctl.db.$executeRawUnsafe('DROP TRIGGER fail_archive ON "AttendancePeriod"');
  }
  await ctl.db.$executeRawUnsafe(
    `CREATE TRIGGER fail_archive BEFORE INSERT ON "AttendancePeriod" WHEN NEW."guildId" = '${guildId}' BEGIN SELECT RAISE(ABORT, 'injected failure'); END`,
  );
  return () => ctl.db.$executeRawUnsafe('DROP TRIGGER fail_archive');
}

/** Every describe block checks that the scheduler never logged a failed reset. */
function useHarness(startIso: string, setup: (h: Harness) => Promise<void> = async () => {}) {
  const ref: { h?: Harness } = {};
  beforeAll(async () => {
    ref.h = await periodsHarness(startIso);
    await setup(ref.h);
  });
  afterEach(() => expect(ref.h?.schedulerErrors).toEqual([]));
  afterAll(async () => ref.h?.stop());
  return () => ref.h!;
}

describe('daily calendar resets in America/New_York across the spring-forward night', () => {
  const GUILD = '110000000000000001';
  // Saturday 2025-03-08 10:00 EST. Clocks go 02:00 EST → 03:00 EDT on Sunday 9 March.
  const harness = useHarness('2025-03-08T15:00:00Z', (h) => h.guild(GUILD, [ALICE]));

  it('sets the schedule in the guild time zone; the next reset is local midnight', async () => {
    const h = harness();
    const set = await h.setSchedule(GUILD, { kind: 'calendar', unit: 'day', timeZone: 'America/New_York' });
    expect(set).toEqual({
      schedule: { kind: 'calendar', unit: 'day', timeZone: 'America/New_York' },
      next_reset_at: iso('2025-03-09T05:00:00Z'),
    });
    expect(await h.status(GUILD)).toEqual({
      index: 1,
      started_at: iso('2025-03-08T15:00:00Z'),
      next_reset_at: iso('2025-03-09T05:00:00Z'),
      schedule: { kind: 'calendar', unit: 'day', timeZone: 'America/New_York' },
    });
    expect((await h.overview(GUILD)).guild.time_zone).toBe('America/New_York');
  });

  it('the scheduler leaves the period alone until midnight, then resets at it', async () => {
    const h = harness();
    await h.tickAt('2025-03-09T04:59:59.999Z');
    expect((await h.status(GUILD)).index).toBe(1);

    await h.tickAt('2025-03-09T05:00:00Z');
    expect(await h.status(GUILD)).toMatchObject({
      index: 2,
      started_at: iso('2025-03-09T05:00:00Z'),
      next_reset_at: iso('2025-03-10T04:00:00Z'), // midnight EDT: the day is 23 hours long
    });
    const archived = await h.lastArchived(GUILD);
    expect(archived).toMatchObject({
      period_index: 1,
      started_at: iso('2025-03-08T15:00:00Z'),
      ended_at: iso('2025-03-09T05:00:00Z'),
    });
    expect(board(archived)).toEqual([[ALICE, 14 * 3600]]);
  });

  it('archives the 23-hour day with the sessions that happened in it', async () => {
    const h = harness();
    // 01:30 EST → 04:00 EDT: two and a half hours on the wall clock, one and a half in fact.
    h.setClock('2025-03-09T06:30:00Z');
    await h.join(GUILD, BOB);
    h.setClock('2025-03-09T08:00:00Z');
    expect((await h.leave(GUILD, BOB)).stored).toBe(1);
    // Carol joins at 23:00 EDT and is still there at midnight.
    h.setClock('2025-03-10T03:00:00Z');
    await h.join(GUILD, CAROL);

    await h.tickAt('2025-03-10T03:59:59.999Z');
    expect((await h.status(GUILD)).index).toBe(2);
    await h.tickAt('2025-03-10T04:00:00Z');

    const day = await h.lastArchived(GUILD);
    expect(day).toMatchObject({
      period_index: 2,
      started_at: iso('2025-03-09T05:00:00Z'),
      ended_at: iso('2025-03-10T04:00:00Z'),
      snapshot: {
        period_index: 2,
        period_started_at: iso('2025-03-09T05:00:00Z'),
        period_ended_at: iso('2025-03-10T04:00:00Z'),
        session_count: 3,
      },
    });
    expect(hoursOf(day)).toBe(23);
    expect(board(day)).toEqual([
      [ALICE, 23 * 3600],
      [BOB, 5400],
      [CAROL, 3600],
    ]);
    expect(await h.status(GUILD)).toMatchObject({
      index: 3,
      started_at: iso('2025-03-10T04:00:00Z'),
      next_reset_at: iso('2025-03-11T04:00:00Z'),
    });
  });

  it('the next day is 24 hours; a stay across midnight is split between the two periods', async () => {
    const h = harness();
    h.setClock('2025-03-10T04:30:00Z');
    expect((await h.leave(GUILD, CAROL)).stored).toBe(1);
    await h.tickAt('2025-03-11T04:00:00Z');

    const day = await h.lastArchived(GUILD);
    expect(day).toMatchObject({
      period_index: 3,
      started_at: iso('2025-03-10T04:00:00Z'),
      ended_at: iso('2025-03-11T04:00:00Z'),
    });
    expect(board(day)).toEqual([
      [ALICE, 24 * 3600],
      [CAROL, 1800],
    ]);
    expect(await h.storedSessions(GUILD, CAROL)).toEqual([
      [2, 3600],
      [3, 1800],
    ]);
    expect(await h.storedSessions(GUILD, BOB)).toEqual([[2, 5400]]);
    const history = await h.history(GUILD);
    expect(history.map((p) => p.period_index)).toEqual([3, 2, 1, 0]);
  });

  // Guild rows used to be created without periodStartedAt, starting at the database's clock.
  it("a new guild's first period starts at the controller's clock", async () => {
    const h = harness();
    h.setClock('2025-03-11T12:00:00Z');
    await h.ctl.services.attendance.onGuildAvailable('110000000000000099', 'New', [], null);
    expect((await h.status('110000000000000099')).started_at).toBe(iso('2025-03-11T12:00:00Z'));
  });
});

describe('daily and Sunday-weekly calendar resets in America/New_York across the fall-back night', () => {
  const DAILY = '110000000000000002';
  const WEEKLY = '110000000000000003';
  // Wednesday 2025-10-29 08:00 EDT. Clocks go 02:00 EDT → 01:00 EST on Sunday 2 November.
  const harness = useHarness('2025-10-29T12:00:00Z', async (h) => {
    await h.guild(DAILY, [ALICE]);
    await h.guild(WEEKLY, [ALICE]);
  });

  it('a reset that runs late (the controller was down over three midnights) ends the period when it runs', async () => {
    const h = harness();
    expect(
      (await h.setSchedule(DAILY, { kind: 'calendar', unit: 'day', timeZone: 'America/New_York' }))
        .next_reset_at,
    ).toBe(iso('2025-10-30T04:00:00Z'));
    expect(
      (
        await h.setSchedule(WEEKLY, {
          kind: 'calendar',
          unit: 'week',
          timeZone: 'America/New_York',
          weekStartsOn: 0,
        })
      ).next_reset_at,
    ).toBe(iso('2025-11-02T04:00:00Z'));

    await h.tickAt('2025-11-01T10:00:00Z');
    // One reset, not one per missed midnight: the missed days are one archived period,
    // and the new one ends at the next local midnight.
    expect(await h.lastArchived(DAILY)).toMatchObject({
      period_index: 1,
      started_at: iso('2025-10-29T12:00:00Z'),
      ended_at: iso('2025-11-01T10:00:00Z'),
    });
    expect(await h.status(DAILY)).toMatchObject({
      index: 2,
      started_at: iso('2025-11-01T10:00:00Z'),
      next_reset_at: iso('2025-11-02T04:00:00Z'),
    });
    await h.tickAt('2025-11-01T10:00:30Z');
    expect((await h.status(DAILY)).index).toBe(2);
    expect((await h.status(WEEKLY)).index).toBe(1);
  });

  it('archives the 25-hour day; a stay from 01:30 EDT to 01:30 EST counts one hour', async () => {
    const h = harness();
    await h.tickAt('2025-11-02T04:00:00Z');
    expect(await h.status(DAILY)).toMatchObject({
      index: 3,
      started_at: iso('2025-11-02T04:00:00Z'),
      next_reset_at: iso('2025-11-03T05:00:00Z'),
    });
    h.setClock('2025-11-02T05:30:00Z');
    await h.join(DAILY, BOB);
    h.setClock('2025-11-02T06:30:00Z');
    await h.leave(DAILY, BOB);

    await h.tickAt('2025-11-03T04:59:59.999Z'); // 23:59:59.999 EST, 24 h after midnight
    expect((await h.status(DAILY)).index).toBe(3);
    await h.tickAt('2025-11-03T05:00:00Z');
    const day = await h.lastArchived(DAILY);
    expect(day).toMatchObject({
      period_index: 3,
      started_at: iso('2025-11-02T04:00:00Z'),
      ended_at: iso('2025-11-03T05:00:00Z'),
    });
    expect(hoursOf(day)).toBe(25);
    expect(board(day)).toEqual([
      [ALICE, 25 * 3600],
      [BOB, 3600],
    ]);
    expect((await h.status(DAILY)).next_reset_at).toBe(iso('2025-11-04T05:00:00Z'));
  });

  it('a week starting on Sunday that contains the fall-back lasts 169 hours', async () => {
    const h = harness();
    expect(await h.lastArchived(WEEKLY)).toMatchObject({
      period_index: 1,
      started_at: iso('2025-10-29T12:00:00Z'),
      ended_at: iso('2025-11-02T04:00:00Z'),
    });
    expect(await h.status(WEEKLY)).toMatchObject({
      index: 2,
      started_at: iso('2025-11-02T04:00:00Z'),
      next_reset_at: iso('2025-11-09T05:00:00Z'),
    });
    await h.tickAt('2025-11-09T04:59:59.999Z');
    expect((await h.status(WEEKLY)).index).toBe(2);
    await h.tickAt('2025-11-09T05:00:00Z');
    const week = await h.lastArchived(WEEKLY);
    expect(week).toMatchObject({ period_index: 2, ended_at: iso('2025-11-09T05:00:00Z') });
    expect(hoursOf(week)).toBe(169);
    expect(board(week)).toEqual([[ALICE, 169 * 3600]]);
  });
});

describe('Europe/Berlin across the fall-back: daily calendar, rolling 24 h, reset-now', () => {
  const CALENDAR = '110000000000000004';
  const ROLLING = '110000000000000005';
  const UNANCHORED = '110000000000000006';
  // Saturday 2025-10-25 14:00 CEST. Clocks go 03:00 CEST → 02:00 CET on Sunday 26 October.
  const harness = useHarness('2025-10-25T12:00:00Z', async (h) => {
    await h.guild(CALENDAR, [ALICE]);
    await h.guild(ROLLING, [ALICE]);
    await h.guild(UNANCHORED, []);
  });

  it('a rolling schedule anchors at the given instant, or at the time it is set', async () => {
    const h = harness();
    await h.setSchedule(CALENDAR, { kind: 'calendar', unit: 'day', timeZone: 'Europe/Berlin' });
    // Anchored at midnight CEST on the 26th.
    const rolling = await h.setSchedule(ROLLING, {
      kind: 'rolling',
      intervalMs: 24 * H,
      anchorMs: Date.parse('2025-10-25T22:00:00Z'),
    });
    expect(rolling.next_reset_at).toBe(iso('2025-10-25T22:00:00Z'));
    const unanchored = await h.setSchedule(UNANCHORED, { kind: 'rolling', intervalMs: 24 * H });
    expect(unanchored).toEqual({
      schedule: { kind: 'rolling', intervalMs: 24 * H, anchorMs: Date.parse('2025-10-25T12:00:00Z') },
      next_reset_at: iso('2025-10-26T12:00:00Z'),
    });

    await h.tickAt('2025-10-25T22:00:00Z');
    for (const guildId of [CALENDAR, ROLLING])
      expect(await h.status(guildId)).toMatchObject({ index: 2, started_at: iso('2025-10-25T22:00:00Z') });
    expect((await h.status(CALENDAR)).next_reset_at).toBe(iso('2025-10-26T23:00:00Z'));
    expect((await h.status(ROLLING)).next_reset_at).toBe(iso('2025-10-26T22:00:00Z'));
  });

  it('reset-now inside the 25-hour day archives the part so far; the scheduled reset stays at midnight', async () => {
    const h = harness();
    h.setClock('2025-10-26T10:00:00Z'); // 11:00 CET
    expect(await h.resetNow(CALENDAR)).toEqual({
      archived_period_index: 2,
      period_index: 3,
      sessions: 1,
      signed: false,
      reopened_sessions: 1,
    });
    const part = await h.lastArchived(CALENDAR);
    expect(part).toMatchObject({
      period_index: 2,
      started_at: iso('2025-10-25T22:00:00Z'),
      ended_at: iso('2025-10-26T10:00:00Z'),
    });
    expect(board(part)).toEqual([[ALICE, 12 * 3600]]);
    expect(await h.status(CALENDAR)).toMatchObject({
      index: 3,
      started_at: iso('2025-10-26T10:00:00Z'),
      next_reset_at: iso('2025-10-26T23:00:00Z'),
    });
    // The unanchored rolling guild resets 24 h after its schedule was set; no one else does.
    await h.tickAt('2025-10-26T12:00:00Z');
    expect(await h.lastArchived(UNANCHORED)).toMatchObject({
      period_index: 1,
      ended_at: iso('2025-10-26T12:00:00Z'),
    });
    expect((await h.status(CALENDAR)).index).toBe(3);
    expect((await h.status(ROLLING)).index).toBe(2);
  });

  it('the rolling period is exactly 24 hours of real time: it ends at 23:00 local after the fall-back', async () => {
    const h = harness();
    await h.tickAt('2025-10-26T22:00:00Z');
    const rolled = await h.lastArchived(ROLLING);
    expect(rolled).toMatchObject({
      period_index: 2,
      started_at: iso('2025-10-25T22:00:00Z'),
      ended_at: iso('2025-10-26T22:00:00Z'),
    });
    expect(board(rolled)).toEqual([[ALICE, 24 * 3600]]);
    expect(await h.status(ROLLING)).toMatchObject({
      index: 3,
      next_reset_at: iso('2025-10-27T22:00:00Z'),
    });
    // The calendar day is not over yet at 23:00 CET.
    expect((await h.status(CALENDAR)).index).toBe(3);
  });

  it('the calendar day ends at local midnight: 12 h before reset-now + 13 h after it = 25 h', async () => {
    const h = harness();
    await h.tickAt('2025-10-26T23:00:00Z');
    const rest = await h.lastArchived(CALENDAR);
    expect(rest).toMatchObject({
      period_index: 3,
      started_at: iso('2025-10-26T10:00:00Z'),
      ended_at: iso('2025-10-26T23:00:00Z'),
    });
    expect(board(rest)).toEqual([[ALICE, 13 * 3600]]);
    expect((await h.status(ROLLING)).index).toBe(3);
    await h.tickAt('2025-10-27T22:00:00Z');
    const nextRolled = await h.lastArchived(ROLLING);
    expect(nextRolled).toMatchObject({ period_index: 3, ended_at: iso('2025-10-27T22:00:00Z') });
    expect(hoursOf(nextRolled)).toBe(24);
  });
});

describe('weekly and monthly calendar resets across the spring-forward in Europe/Berlin', () => {
  const WEEKLY = '110000000000000007';
  const MONTHLY = '110000000000000008';
  // Thursday 2025-02-27 13:00 CET. Clocks go 02:00 CET → 03:00 CEST on Sunday 30 March.
  const harness = useHarness('2025-02-27T12:00:00Z', async (h) => {
    await h.guild(WEEKLY, [ALICE]);
    await h.guild(MONTHLY, [ALICE]);
  });

  it('a month set to start on the 31st starts on 28 February and on 31 March, 743 hours apart', async () => {
    const h = harness();
    const set = await h.setSchedule(MONTHLY, {
      kind: 'calendar',
      unit: 'month',
      timeZone: 'Europe/Berlin',
      dayOfMonth: 31,
    });
    expect(set.next_reset_at).toBe(iso('2025-02-27T23:00:00Z'));
    await h.tickAt('2025-02-27T23:00:00Z');
    expect(await h.status(MONTHLY)).toMatchObject({
      index: 2,
      started_at: iso('2025-02-27T23:00:00Z'),
      next_reset_at: iso('2025-03-30T22:00:00Z'),
    });
  });

  it('a Monday week containing the spring-forward lasts 167 hours', async () => {
    const h = harness();
    h.setClock('2025-03-20T12:00:00Z');
    await h.resetNow(WEEKLY);
    // Alice steps out and back in at once: her month is two sessions, see 'a stay longer than 24.8 days'.
    await h.leave(MONTHLY, ALICE);
    await h.join(MONTHLY, ALICE);
    const set = await h.setSchedule(WEEKLY, { kind: 'calendar', unit: 'week', timeZone: 'Europe/Berlin' });
    expect(set.next_reset_at).toBe(iso('2025-03-23T23:00:00Z'));
    await h.tickAt('2025-03-23T23:00:00Z');
    // 01:30 CET → 03:30 CEST on the night of the change: one hour.
    h.setClock('2025-03-30T00:30:00Z');
    await h.join(WEEKLY, BOB);
    h.setClock('2025-03-30T01:30:00Z');
    await h.leave(WEEKLY, BOB);

    await h.tickAt('2025-03-30T21:59:59.999Z');
    expect((await h.status(WEEKLY)).index).toBe(3);
    expect((await h.status(MONTHLY)).index).toBe(2);
    await h.tickAt('2025-03-30T22:00:00Z');
    const week = await h.lastArchived(WEEKLY);
    expect(week).toMatchObject({
      period_index: 3,
      started_at: iso('2025-03-23T23:00:00Z'),
      ended_at: iso('2025-03-30T22:00:00Z'),
    });
    expect(hoursOf(week)).toBe(167);
    expect(board(week)).toEqual([
      [ALICE, 167 * 3600],
      [BOB, 3600],
    ]);
    expect((await h.status(WEEKLY)).next_reset_at).toBe(iso('2025-04-06T22:00:00Z'));
    expect(await h.storedSessions(WEEKLY, BOB)).toEqual([[3, 3600]]);
  });

  it('the month ends at local midnight on the 31st, an hour short of 31 days', async () => {
    const h = harness();
    const month = await h.lastArchived(MONTHLY);
    expect(month).toMatchObject({
      period_index: 2,
      started_at: iso('2025-02-27T23:00:00Z'),
      ended_at: iso('2025-03-30T22:00:00Z'),
    });
    expect(hoursOf(month)).toBe(31 * 24 - 1);
    expect(board(month)).toEqual([[ALICE, 743 * 3600]]);
    expect(await h.status(MONTHLY)).toMatchObject({
      index: 3,
      next_reset_at: iso('2025-04-29T22:00:00Z'), // 30 April: April has no 31st
    });
  });
});

describe('monthly calendar resets in America/New_York across the fall-back', () => {
  const MONTHLY = '110000000000000009';
  const harness = useHarness('2025-10-15T12:00:00Z', (h) => h.guild(MONTHLY, [ALICE]));

  it('November lasts 30 days and one hour', async () => {
    const h = harness();
    const set = await h.setSchedule(MONTHLY, {
      kind: 'calendar',
      unit: 'month',
      timeZone: 'America/New_York',
    });
    expect(set.next_reset_at).toBe(iso('2025-11-01T04:00:00Z'));
    await h.tickAt('2025-11-01T04:00:00Z');
    expect((await h.status(MONTHLY)).next_reset_at).toBe(iso('2025-12-01T05:00:00Z'));
    h.setClock('2025-11-15T12:00:00Z');
    await h.leave(MONTHLY, ALICE);
    await h.join(MONTHLY, ALICE);
    await h.tickAt('2025-12-01T04:59:59.999Z');
    expect((await h.status(MONTHLY)).index).toBe(2);
    await h.tickAt('2025-12-01T05:00:00Z');
    const month = await h.lastArchived(MONTHLY);
    expect(month).toMatchObject({
      period_index: 2,
      started_at: iso('2025-11-01T04:00:00Z'),
      ended_at: iso('2025-12-01T05:00:00Z'),
    });
    expect(hoursOf(month)).toBe(30 * 24 + 1);
    expect(board(month)).toEqual([[ALICE, 721 * 3600]]);
    expect(await h.status(MONTHLY)).toMatchObject({
      index: 3,
      next_reset_at: iso('2026-01-01T05:00:00Z'),
    });
  });
});

describe('a due reset runs once', () => {
  const GUILD = '110000000000000010';
  const harness = useHarness('2025-03-29T12:00:00Z', (h) => h.guild(GUILD, [ALICE]));

  it('when two passes see it due at the same time (two controllers, or a tick racing another)', async () => {
    const h = harness();
    await h.setSchedule(GUILD, { kind: 'calendar', unit: 'day', timeZone: 'Europe/Berlin' });
    h.setClock('2025-03-29T23:00:00Z');
    const periods = h.ctl.services.attendancePeriods;
    const passes = await Promise.all([periods.runDueResets(), periods.runDueResets()]);
    expect(passes.map((pass) => pass.reset.length).sort()).toEqual([0, 1]);
    expect(passes.flatMap((pass) => pass.failed)).toEqual([]);
    expect(await h.status(GUILD)).toMatchObject({
      index: 2,
      started_at: iso('2025-03-29T23:00:00Z'),
      next_reset_at: iso('2025-03-30T22:00:00Z'),
    });
    expect((await h.history(GUILD)).map((p) => p.period_index)).toEqual([1, 0]);
  });
});

describe('a scheduled reset that fails', () => {
  const FAILING = '110000000000000011';
  const HEALTHY = '110000000000000012';
  const harness = useHarness('2025-03-29T12:00:00Z', async (h) => {
    await h.guild(FAILING, [ALICE]);
    await h.guild(HEALTHY, [ALICE]);
  });

  it('is reported and retried at the next tick, holds up no other guild and loses no attendance', async () => {
    const h = harness();
    for (const guildId of [FAILING, HEALTHY])
      await h.setSchedule(guildId, { kind: 'calendar', unit: 'day', timeZone: 'Europe/Berlin' });
    const undo = await failArchivesOf(h.ctl, FAILING);

    await h.tickAt('2025-03-29T23:00:00Z');
    expect(h.schedulerErrors.splice(0)).toEqual([
      [expect.objectContaining({ guildId: FAILING }), 'attendance: scheduled reset failed'],
    ]);
    expect((await h.status(HEALTHY)).index).toBe(2);
    expect(await h.status(FAILING)).toMatchObject({
      index: 1,
      started_at: iso('2025-03-29T12:00:00Z'),
      next_reset_at: iso('2025-03-29T23:00:00Z'),
    });
    // What the failed reset closed is stored in the period that goes on, and Alice is tracked again.
    expect(await h.storedSessions(FAILING, ALICE)).toEqual([
      [0, 0],
      [1, 11 * 3600],
    ]);
    expect((await h.overview(FAILING)).occupancy.members).toBe(1);

    await undo();
    await h.tickAt('2025-03-29T23:00:30Z');
    const day = await h.lastArchived(FAILING);
    expect(day).toMatchObject({
      period_index: 1,
      started_at: iso('2025-03-29T12:00:00Z'),
      ended_at: iso('2025-03-29T23:00:30Z'),
    });
    expect(board(day)).toEqual([[ALICE, 11 * 3600 + 30]]);
    expect(await h.status(FAILING)).toMatchObject({
      index: 2,
      next_reset_at: iso('2025-03-30T22:00:00Z'),
    });
  });
});

describe('a stay longer than 24.8 days', () => {
  const GUILD = '110000000000000013';
  const harness = useHarness('2025-01-01T00:00:00Z', (h) => h.guild(GUILD, [ALICE]));

  // 2^31 ms is 24.8 days: the durations used to be INTEGER columns, which PostgreSQL refused.
  it('is archived whole when the month resets', async () => {
    const h = harness();
    await h.setSchedule(GUILD, { kind: 'calendar', unit: 'month', timeZone: 'Europe/Berlin' });
    await h.tickAt('2025-01-31T23:00:00Z'); // 1 February, 00:00 CET
    expect(h.schedulerErrors.splice(0)).toEqual([]);
    const month = await h.lastArchived(GUILD);
    expect(month).toMatchObject({ period_index: 1, ended_at: iso('2025-01-31T23:00:00Z') });
    expect(board(month)).toEqual([[ALICE, 743 * 3600]]);
  });
});
