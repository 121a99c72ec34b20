/**
 * Schedules through the API with an injected clock: materialised occurrences, the agent's
 * occurrence sync, edits that re-plan only what has not begun, skip / pause / run now, DST in
 * two zones, scope, and bad input that creates nothing.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Command } from '../../shared/src/mqtt.js';
import { requestAs } from '../support/api.js';
import {
  bearer,
  enrolledNode,
  ownerApiToken,
  type TestController,
  testController,
  userWithRole,
} from '../support/controller.js';

type Schedule = { id: string; nextOccurrence: string | null; skipped: string[]; enabled: boolean };
type Occurrence = {
  occurrenceStart: string;
  plannedStartAt: string;
  plannedEndAt: string;
  skipped: boolean;
  jobs: { nodeId: string; jobId: string; state: string }[];
};

describe('schedules', () => {
  let ctl: TestController;
  let owner: string;
  let clock = new Date('2027-03-22T07:00:00Z'); // a Monday, an hour before the first occurrence
  let studio: { nodeId: string; credential: string; siteId: string };
  let branch: { nodeId: string; credential: string; siteId: string };
  const commands: { nodeId: string; command: Command }[] = [];

  beforeAll(async () => {
    ctl = await testController({}, () => clock);
    owner = await ownerApiToken(ctl);
    vi.spyOn(ctl.broker, 'publishToNode').mockImplementation(async (nodeId, _topic, command) => {
      commands.push({ nodeId, command: command as Command });
    });
    studio = await enrolledNode(ctl, { id: 'sched-studio', site: 'hq' });
    branch = await enrolledNode(ctl, { id: 'sched-branch', site: 'branch' });
  });
  afterAll(async () => ctl.stop());
  beforeEach(() => {
    clock = new Date('2027-03-22T07:00:00Z');
    commands.length = 0;
  });

  const api = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object, token = owner) =>
    requestAs(ctl.app, token, method, `/api/v1${url}`, payload);
  const weekly = (overrides: object = {}) => ({
    name: 'Morning show',
    recurrence: 'RRULE:FREQ=WEEKLY;BYDAY=MO,WE',
    timeZone: 'Europe/Berlin',
    start: '2027-03-01T09:00',
    durationSeconds: 3600,
    preRollSeconds: 30,
    postRollSeconds: 60,
    targets: [{ nodeId: studio.nodeId }],
    ...overrides,
  });
  const create = async (body: object) => {
    const res = await api('POST', '/schedules', body);
    expect(res.statusCode, res.body).toBe(201);
    return res.json().data as Schedule;
  };
  const occurrences = async (id: string, query = '') => {
    const res = await api('GET', `/schedules/${id}/occurrences${query}`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json().data.occurrences as Occurrence[];
  };
  const sync = async (node: { nodeId: string; credential: string }, scheduleId?: string) => {
    const res = await ctl.app.inject({
      method: 'POST',
      url: `/api/v1/nodes/${node.nodeId}/occurrences/sync`,
      headers: bearer(node.credential),
    });
    expect(res.statusCode, res.body).toBe(200);
    const data = res.json().data as {
      occurrences: {
        jobId: string;
        scheduleId: string;
        epoch: number;
        plannedStartAt: string;
        plannedEndAt: string;
        durationSeconds: number;
      }[];
      horizonEnd: string;
    };
    if (scheduleId) data.occurrences = data.occurrences.filter((o) => o.scheduleId === scheduleId);
    return data;
  };

  it('materialises the next days of occurrences as jobs on every target node, audited', async () => {
    const schedule = await create(
      weekly({ targets: [{ nodeId: studio.nodeId }, { nodeId: branch.nodeId, channels: [2] }] }),
    );
    // Mon 22 March 09:00 CET = 08:00Z is the next one; its pre-roll starts 30 s before.
    expect(schedule.nextOccurrence).toBe('2027-03-22T08:00:00.000Z');
    const list = await occurrences(schedule.id, '?to=2027-03-30T00:00:00Z');
    expect(list.map((o) => o.occurrenceStart)).toEqual([
      '2027-03-22T08:00:00.000Z',
      '2027-03-24T08:00:00.000Z',
      // Berlin moves to summer time on 28 March: still 09:00 local.
      '2027-03-29T07:00:00.000Z',
    ]);
    expect(list[0]).toMatchObject({
      plannedStartAt: '2027-03-22T07:59:30.000Z',
      plannedEndAt: '2027-03-22T09:01:00.000Z',
    });
    for (const occurrence of list) {
      expect(occurrence.jobs.map((j) => j.nodeId).sort()).toEqual([branch.nodeId, studio.nodeId].sort());
      expect(occurrence.jobs.every((j) => j.state === 'queued')).toBe(true);
    }
    const events = await ctl.db.auditEvent.findMany({
      where: { action: 'schedule.create', targetId: schedule.id },
    });
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0]!.after!)).toMatchObject({ name: 'Morning show', timeZone: 'Europe/Berlin' });
    expect(
      commands
        .filter((c) => c.command.type === 'schedule-changed')
        .map((c) => c.nodeId)
        .sort(),
    ).toEqual([branch.nodeId, studio.nodeId].sort());
    const job = await ctl.db.recordingJob.findFirstOrThrow({
      where: { scheduleId: schedule.id, nodeId: branch.nodeId },
    });
    expect(JSON.parse(job.channelSelection!)).toEqual([2]);
    await api('DELETE', `/schedules/${schedule.id}`);
  });

  it('leases a node its occurrences once through the sync; later syncs list the same epochs', async () => {
    const schedule = await create(weekly());
    const first = await sync(studio, schedule.id);
    const mine = first.occurrences.filter((o) => o.jobId);
    expect(mine.length).toBeGreaterThanOrEqual(2);
    expect(mine.every((o) => o.epoch === 1)).toBe(true);
    const claims = await ctl.db.auditEvent.count({ where: { action: 'recording_job.claim' } });
    const again = await sync(studio, schedule.id);
    expect(again.occurrences.map((o) => [o.jobId, o.epoch])).toEqual(
      first.occurrences.map((o) => [o.jobId, o.epoch]),
    );
    expect(await ctl.db.auditEvent.count({ where: { action: 'recording_job.claim' } })).toBe(claims);
    // The other node holds none of them, and claim-next never hands out a scheduled occurrence.
    expect((await sync(branch, schedule.id)).occurrences).toEqual([]);
    const claim = await ctl.app.inject({
      method: 'POST',
      url: `/api/v1/nodes/${studio.nodeId}/recording-jobs/claim-next`,
      headers: bearer(studio.credential),
    });
    expect(claim.json().data).toBeNull();
    await api('DELETE', `/schedules/${schedule.id}`);
  });

  it('an edit re-plans occurrences not yet begun and leaves a running one alone', async () => {
    const schedule = await create(weekly());
    const held = (await sync(studio, schedule.id)).occurrences;
    const [running, next] = held;
    // The first occurrence is recording.
    clock = new Date('2027-03-22T08:00:05Z');
    const beat = await ctl.app.inject({
      method: 'POST',
      url: `/api/v1/recording-jobs/${running!.jobId}/heartbeat`,
      headers: bearer(studio.credential),
      payload: {
        epoch: running!.epoch,
        state: 'recording',
        capture: {
          firstSampleAtMs: clock.getTime(),
          plannedStartMs: Date.parse(running!.plannedStartAt),
          clockOffsetMs: 12,
        },
      },
    });
    expect(beat.statusCode, beat.body).toBe(200);

    // Longer: same occurrences, longer windows, same jobs and epochs.
    const longer = await api('PATCH', `/schedules/${schedule.id}`, { durationSeconds: 5400 });
    expect(longer.statusCode, longer.body).toBe(200);
    const after = (await sync(studio, schedule.id)).occurrences;
    const nextAfter = after.find((o) => o.jobId === next!.jobId)!;
    expect(nextAfter.epoch).toBe(next!.epoch);
    expect(Date.parse(nextAfter.plannedEndAt) - Date.parse(next!.plannedEndAt)).toBe(1800_000);
    const runningAfter = await ctl.db.recordingJob.findUniqueOrThrow({ where: { id: running!.jobId } });
    expect(runningAfter.state).toBe('recording');
    expect(runningAfter.plannedEndAt!.toISOString()).toBe(running!.plannedEndAt);
    const recording = await ctl.db.recording.findUniqueOrThrow({ where: { id: runningAfter.recordingId } });
    expect(recording).toMatchObject({ clockOffsetMs: 12, firstSampleAt: clock });

    // Another time of day: the future occurrences are replaced, the running one stays.
    const moved = await api('PATCH', `/schedules/${schedule.id}`, { start: '2027-03-01T14:00' });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(await ctl.db.recordingJob.findUnique({ where: { id: next!.jobId } })).toBeNull();
    expect((await ctl.db.recordingJob.findUniqueOrThrow({ where: { id: running!.jobId } })).state).toBe(
      'recording',
    );
    const list = await occurrences(schedule.id);
    expect(list[0]!.occurrenceStart).toBe('2027-03-22T13:00:00.000Z');
    const before = await ctl.db.auditEvent.findFirstOrThrow({
      where: { action: 'schedule.update', targetId: schedule.id },
      orderBy: { seq: 'desc' },
    });
    expect(JSON.parse(before.before!).start).toBe('2027-03-01T09:00:00');
    expect(JSON.parse(before.after!).start).toBe('2027-03-01T14:00:00');
    await api('DELETE', `/schedules/${schedule.id}`);
  });

  it('skips and un-skips the next occurrence, pauses and resumes, runs now', async () => {
    const schedule = await create(weekly());
    const skipped = await api('POST', `/schedules/${schedule.id}/skip-next`);
    expect(skipped.statusCode, skipped.body).toBe(200);
    expect(skipped.json().data.skipped).toEqual(['2027-03-22T08:00:00.000Z']);
    expect(skipped.json().data.nextOccurrence).toBe('2027-03-24T08:00:00.000Z');
    let list = await occurrences(schedule.id);
    expect(list[0]).toMatchObject({ skipped: true, jobs: [] });
    const unskip = await api('POST', `/schedules/${schedule.id}/unskip`, {
      occurrenceStart: '2027-03-22T08:00:00Z',
    });
    expect(unskip.statusCode, unskip.body).toBe(200);
    list = await occurrences(schedule.id);
    expect(list[0]!.jobs).toHaveLength(1);
    expect(
      (await api('POST', `/schedules/${schedule.id}/unskip`, { occurrenceStart: '2027-03-22T08:00:00Z' }))
        .statusCode,
    ).toBe(409);

    expect((await api('POST', `/schedules/${schedule.id}/pause`)).statusCode).toBe(200);
    expect((await api('POST', `/schedules/${schedule.id}/pause`)).statusCode).toBe(409);
    expect((await occurrences(schedule.id)).every((o) => o.jobs.length === 0)).toBe(true);
    const actions = (await api('GET', `/schedules/${schedule.id}/actions`)).json().data;
    expect(actions.pause).toEqual({ allowed: false, reason: 'already paused' });
    expect(actions.resume).toEqual({ allowed: true, reason: null });
    expect((await api('POST', `/schedules/${schedule.id}/resume`)).statusCode).toBe(200);
    expect((await occurrences(schedule.id))[0]!.jobs).toHaveLength(1);

    const run = await api('POST', `/schedules/${schedule.id}/run-now`);
    expect(run.statusCode, run.body).toBe(202);
    const [job] = run.json().data.jobs;
    expect(
      commands.some((c) => c.command.type === 'job-available' && c.command.args?.jobId === job.jobId),
    ).toBe(true);
    const claim = await ctl.app.inject({
      method: 'POST',
      url: `/api/v1/nodes/${studio.nodeId}/recording-jobs/claim-next`,
      headers: bearer(studio.credential),
    });
    // Its duration and post-roll, from now.
    expect(claim.json().data).toMatchObject({ jobId: job.jobId, durationSeconds: 3660 });

    const viewerToken = await userWithRole(ctl, 'sched-viewer', 'viewer');
    const viewerActions = (
      await api('GET', `/schedules/${schedule.id}/actions`, undefined, viewerToken)
    ).json().data;
    expect(viewerActions.delete.allowed).toBe(false);
    expect(viewerActions.delete.reason).toMatch(/schedule:manage/);

    const deleted = await api('DELETE', `/schedules/${schedule.id}`);
    expect(deleted.statusCode).toBe(204);
    // Occurrences not begun are gone; the run-now recording is kept.
    expect(await ctl.db.recordingJob.count({ where: { scheduleId: schedule.id } })).toBe(0);
    expect(await ctl.db.recordingJob.findUnique({ where: { id: job.jobId } })).not.toBeNull();
  });

  it('keeps local time across DST in two zones (spring forward, fall back, a missing and a doubled hour)', async () => {
    const berlin = await create(
      weekly({ recurrence: 'RRULE:FREQ=DAILY', start: '2027-03-01T02:30', durationSeconds: 600 }),
    );
    const spring = await occurrences(berlin.id, '?from=2027-03-27T00:00:00Z&to=2027-03-30T00:00:00Z');
    expect(spring.map((o) => o.occurrenceStart)).toEqual([
      '2027-03-27T01:30:00.000Z', // 02:30 CET
      '2027-03-28T01:30:00.000Z', // 02:30 does not exist: 03:30 CEST
      '2027-03-29T00:30:00.000Z', // 02:30 CEST
    ]);
    const autumn = await occurrences(berlin.id, '?from=2027-10-30T00:00:00Z&to=2027-11-02T00:00:00Z');
    expect(autumn.map((o) => o.occurrenceStart)).toEqual([
      '2027-10-30T00:30:00.000Z', // 02:30 CEST
      '2027-10-31T00:30:00.000Z', // 02:30 happens twice: the first (CEST)
      '2027-11-01T01:30:00.000Z', // 02:30 CET
    ]);
    const ny = await create(
      weekly({
        timeZone: 'America/New_York',
        recurrence: 'RRULE:FREQ=WEEKLY;BYDAY=SU',
        start: '2027-03-07T09:00',
      }),
    );
    const nySpring = await occurrences(ny.id, '?from=2027-03-06T00:00:00Z&to=2027-03-22T00:00:00Z');
    expect(nySpring.map((o) => o.occurrenceStart)).toEqual([
      '2027-03-07T14:00:00.000Z', // EST
      '2027-03-14T13:00:00.000Z', // EDT from 14 March
      '2027-03-21T13:00:00.000Z',
    ]);
    const nyAutumn = await occurrences(ny.id, '?from=2027-10-31T00:00:00Z&to=2027-11-15T00:00:00Z');
    expect(nyAutumn.map((o) => o.occurrenceStart)).toEqual([
      '2027-10-31T13:00:00.000Z', // EDT
      '2027-11-07T14:00:00.000Z', // EST from 7 November
      '2027-11-14T14:00:00.000Z',
    ]);
    // Materialised jobs follow the same rule: the 28 March job plans 03:30 CEST less its pre-roll.
    clock = new Date('2027-03-26T12:00:00Z');
    await ctl.services.schedules.materialiseDue(100);
    const job = await ctl.db.recordingJob.findFirstOrThrow({
      where: { scheduleId: berlin.id, occurrenceStart: new Date('2027-03-28T01:30:00Z') },
    });
    expect(job.plannedStartAt!.toISOString()).toBe('2027-03-28T01:29:30.000Z');
    await api('DELETE', `/schedules/${berlin.id}`);
    await api('DELETE', `/schedules/${ny.id}`);
  });

  it('fails an occurrence no node took before its window ended, as missed, once', async () => {
    const schedule = await create(weekly());
    const [first] = await occurrences(schedule.id);
    const jobId = first!.jobs[0]!.jobId;
    expect(await ctl.services.occurrences.markMissed()).toBe(0);
    clock = new Date('2027-03-22T09:01:01Z'); // its window (with post-roll) has ended
    expect(await ctl.services.occurrences.markMissed()).toBe(1);
    expect(await ctl.services.occurrences.markMissed()).toBe(0);
    const job = await ctl.db.recordingJob.findUniqueOrThrow({ where: { id: jobId } });
    expect(job).toMatchObject({ state: 'failed', failureReason: expect.stringMatching(/^missed/) });
    expect((await sync(studio, schedule.id)).occurrences.map((o) => o.jobId)).not.toContain(jobId);
    await api('DELETE', `/schedules/${schedule.id}`);
  });

  it('plans nothing more on a decommissioned node; its occurrences not yet begun go at the next re-plan', async () => {
    const retiring = await enrolledNode(ctl, { id: 'sched-retiring', site: 'hq' });
    const schedule = await create(
      weekly({ targets: [{ nodeId: studio.nodeId }, { nodeId: retiring.nodeId }] }),
    );
    expect(
      await ctl.db.recordingJob.count({ where: { scheduleId: schedule.id, nodeId: retiring.nodeId } }),
    ).toBeGreaterThan(0);
    const decommissioned = await api('POST', `/nodes/${retiring.nodeId}/decommission`);
    expect(decommissioned.statusCode, decommissioned.body).toBe(200);
    expect(
      (await api('PATCH', `/schedules/${schedule.id}`, { name: 'Morning show (studio only)' })).statusCode,
    ).toBe(200);
    expect(
      await ctl.db.recordingJob.count({ where: { scheduleId: schedule.id, nodeId: retiring.nodeId } }),
    ).toBe(0);
    expect(
      await ctl.db.recordingJob.count({ where: { scheduleId: schedule.id, nodeId: studio.nodeId } }),
    ).toBeGreaterThan(0);
    await api('DELETE', `/schedules/${schedule.id}`);
  });

  it('leaves the occurrences of a stored rule it cannot read alone (never empties them)', async () => {
    const schedule = await create(weekly());
    const before = await ctl.db.recordingJob.count({ where: { scheduleId: schedule.id } });
    // As another version might have stored it: a rule this one refuses.
    await ctl.db.schedule.update({
      where: { id: schedule.id },
      data: { recurrence: 'RRULE:FREQ=MINUTELY', materializedUntil: null },
    });
    await ctl.services.schedules.materialiseDue(100);
    expect(await ctl.db.recordingJob.count({ where: { scheduleId: schedule.id } })).toBe(before);
    // An edit must give it a rule it can read first.
    const rename = await api('PATCH', `/schedules/${schedule.id}`, { name: 'renamed' });
    expect(rename.statusCode).toBe(400);
    expect(rename.json().error.message).toMatch(/FREQ/);
    expect(await ctl.db.recordingJob.count({ where: { scheduleId: schedule.id } })).toBe(before);
    await api('DELETE', `/schedules/${schedule.id}`);
  });

  it('answers bad input with a 4xx and creates nothing', async () => {
    const before = await ctl.db.schedule.count();
    const jobsBefore = await ctl.db.recordingJob.count();
    const bad: [object, number, RegExp][] = [
      [weekly({ recurrence: 'RRULE:FREQ=FORTNIGHTLY' }), 400, /RRULE/],
      [weekly({ recurrence: 'RRULE:FREQ=DAILY;BYHOUR=25' }), 400, /BYHOUR/],
      [
        weekly({ recurrence: 'RRULE:FREQ=HOURLY;BYMINUTE=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15' }),
        400,
        /occurrences/,
      ],
      [weekly({ recurrence: 'DTSTART:20270101T000000' }), 400, /RRULE, RDATE and EXDATE/],
      [weekly({ recurrence: 'RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30' }), 400, /matches no day/],
      [weekly({ recurrence: 'RRULE:FREQ=DAILY;UNTIL=20200101T000000' }), 400, /no occurrence.*UNTIL/],
      // Every fourth year from a year after a leap year: never a 29 February (rrule.js alone
      // would look until the year 9999); and a first occurrence more than 10 years away.
      [
        weekly({
          start: '2027-01-04T09:00',
          recurrence: 'RRULE:FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29',
        }),
        400,
        /matches no day of any year its INTERVAL reaches/,
      ],
      [
        weekly({
          start: '2100-01-04T09:00',
          recurrence: 'RRULE:FREQ=YEARLY;INTERVAL=100;BYMONTH=2;BYMONTHDAY=29',
        }),
        400,
        /no occurrence within 10 years/,
      ],
      // A step that never lands on a value it names (rrule.js alone: forever, or to the year 9999).
      [weekly({ recurrence: 'RRULE:FREQ=HOURLY;INTERVAL=24;BYHOUR=5' }), 400, /INTERVAL=24.*BYHOUR/],
      [weekly({ recurrence: 'RRULE:FREQ=DAILY;INTERVAL=7;BYDAY=TU' }), 400, /INTERVAL=7.*BYDAY/],
      [weekly({ recurrence: 'RRULE:FREQ=HOURLY;INTERVAL=28;BYDAY=FR' }), 400, /INTERVAL=28.*BYDAY/],
      [weekly({ recurrence: 'RRULE:FREQ=DAILY;BYSETPOS=2' }), 400, /BYSETPOS=2 asks for a position/],
      [weekly({ timeZone: 'Mars/Olympus_Mons' }), 400, /time zone/],
      [weekly({ start: '2027-02-30T09:00' }), 400, /calendar/],
      [weekly({ durationSeconds: -5 }), 400, /durationSeconds/],
      [weekly({ targets: [] }), 400, /targets/],
      [weekly({ targets: [{ nodeId: studio.nodeId }, { nodeId: studio.nodeId }] }), 400, /twice/],
      [weekly({ targets: [{ nodeId: studio.nodeId, channels: [3] }] }), 400, /channel 3/],
      [weekly({ targets: [{ nodeId: 'no-such-node' }] }), 404, /not found/],
      [weekly({ targets: [{ nodeId: 'bad/node#' }] }), 400, /nodeId/],
      [weekly({ voiceChannel: { guildId: 'abc', channelId: '1' } }), 400, /guildId/],
    ];
    for (const [body, status, message] of bad) {
      const res = await api('POST', '/schedules', body);
      expect(res.statusCode, res.body).toBe(status);
      expect(res.json().error.message).toMatch(message);
    }
    // A node outside the caller's scope: hidden (404), one denial audited.
    const hqOperator = await userWithRole(ctl, 'sched-hq-op', 'operator', {
      type: 'site',
      id: studio.siteId,
    });
    const denied = await api(
      'POST',
      '/schedules',
      weekly({ targets: [{ nodeId: branch.nodeId }] }),
      hqOperator,
    );
    expect(denied.statusCode).toBe(404);
    expect(await ctl.db.schedule.count()).toBe(before);
    expect(await ctl.db.recordingJob.count()).toBe(jobsBefore);
    // Edits: the same rules, and nothing half-changed.
    const schedule = await create(weekly());
    const patch = await api('PATCH', `/schedules/${schedule.id}`, { recurrence: 'RRULE:FREQ=SECONDLY' });
    expect(patch.statusCode).toBe(400);
    expect((await api('PATCH', `/schedules/${schedule.id}`, {})).statusCode).toBe(400);
    expect(
      (
        await api(
          'GET',
          `/schedules/${schedule.id}/occurrences?from=2027-04-01T00:00:00Z&to=2027-03-01T00:00:00Z`,
        )
      ).statusCode,
    ).toBe(400);
    expect((await api('GET', '/schedules/not-a-uuid')).statusCode).toBe(400);
    expect((await api('GET', '/schedules/00000000-0000-4000-8000-000000000000')).statusCode).toBe(404);
    await api('DELETE', `/schedules/${schedule.id}`);
  });

  it('shows a site operator only schedules whose every node is in the site', async () => {
    const hqOnly = await create(weekly({ name: 'HQ only' }));
    const both = await create(
      weekly({ name: 'Both', targets: [{ nodeId: studio.nodeId }, { nodeId: branch.nodeId }] }),
    );
    const hqViewer = await userWithRole(ctl, 'sched-hq-viewer', 'viewer', {
      type: 'site',
      id: studio.siteId,
    });
    const list = await api('GET', '/schedules', undefined, hqViewer);
    expect(list.json().data.map((s: { id: string }) => s.id)).toEqual([hqOnly.id]);
    expect((await api('GET', `/schedules/${both.id}`, undefined, hqViewer)).statusCode).toBe(404);
    const facets = (await api('GET', '/schedules/facets', undefined, hqViewer)).json().data;
    expect(facets.total).toBe(1);
    const csv = await api('GET', '/schedules/export?format=csv', undefined, hqViewer);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.body.split('\n')[0]).toMatch(/^id,name,enabled/);
    expect(csv.body).toContain('HQ only');
    expect(csv.body).not.toContain('Both');
    const picked = await api('POST', '/schedules/export', { ids: [hqOnly.id, both.id] }, hqViewer);
    expect(
      picked.body
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual([hqOnly.id]);
    await api('DELETE', `/schedules/${hqOnly.id}`);
    await api('DELETE', `/schedules/${both.id}`);
  });
});
