/**
 * The controller's own health events for what the recordings module sees, with an injected
 * clock: a scheduled occurrence that ends unrecorded (one `occurrence_missed` per node and
 * schedule, counting every miss, resolved when the node's next recording of the schedule is
 * uploaded) and an upload that keeps failing (`upload_failing` from the third failed request,
 * resolved when the upload completes). Each is audited as the system, listed by
 * GET /health-events and counted in the Prometheus open-events gauge.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type ControllerAlerts,
  UPLOAD_FAILURES_BEFORE_EVENT,
} from '../../controller/src/modules/health/controller-alerts.js';
import { requestAs } from '../support/api.js';
import {
  bearer,
  enrolledNode,
  ownerApiToken,
  type TestController,
  testController,
} from '../support/controller.js';
import { claimNext, createRecording, sha256, uploadHeaders, wavBytes } from '../support/recordings.js';

interface EventView {
  id: string;
  type: string;
  severity: string;
  status: string;
  source: string;
  count: number;
  values: Record<string, unknown>;
}

describe('health events the controller raises', () => {
  let ctl: TestController;
  let owner: string;
  let clock = new Date('2027-03-22T07:00:00Z'); // a Monday, an hour before the first occurrence
  let node: { nodeId: string; credential: string };

  beforeAll(async () => {
    ctl = await testController({}, () => clock);
    owner = await ownerApiToken(ctl);
    vi.spyOn(ctl.broker, 'publishToNode').mockResolvedValue(undefined);
    node = await enrolledNode(ctl, { id: 'alerted-1', site: 'hq' });
  });
  afterAll(async () => ctl.stop());

  const api = async (method: 'GET' | 'POST', url: string, payload?: object) => {
    const res = await requestAs(ctl.app, owner, method, `/api/v1${url}`, payload);
    expect(res.statusCode, res.body).toBeLessThan(300);
    return res.json().data;
  };
  const events = (type: string): Promise<EventView[]> =>
    api('GET', `/health-events?nodeId=${node.nodeId}&type=${type}`);
  const missedTotal = async () =>
    Number(/^earshot_occurrences_missed_total (\d+)$/m.exec(await ctl.metrics.render())?.[1]);
  const reports = (eventId: string) =>
    ctl.db.auditEvent.findMany({
      where: { action: 'health_event.report', targetId: eventId },
      orderBy: { seq: 'asc' },
    });
  const put = (recordingId: string, epoch: number, body: Buffer, digest = sha256(body)) =>
    ctl.app.inject({
      method: 'PUT',
      url: `/api/v1/recordings/${recordingId}/cache-file`,
      headers: uploadHeaders(node.credential, epoch, digest, body.length),
      payload: body,
    });

  it('raises occurrence_missed once per node and schedule, counts each miss, and resolves it when the node records the schedule again', async () => {
    const schedule = await api('POST', '/schedules', {
      name: 'Morning show',
      recurrence: 'RRULE:FREQ=WEEKLY;BYDAY=MO,WE',
      timeZone: 'Europe/Berlin',
      start: '2027-03-01T09:00',
      durationSeconds: 3600,
      targets: [{ nodeId: node.nodeId }],
    });
    expect(await ctl.services.occurrences.markMissed()).toBe(0);
    expect(await events('occurrence_missed')).toEqual([]);

    clock = new Date('2027-03-22T09:00:01Z'); // Monday's window has ended, never taken
    expect(await ctl.services.occurrences.markMissed()).toBe(1);
    expect(await ctl.services.occurrences.markMissed()).toBe(0); // once per occurrence
    const [opened, ...more] = await events('occurrence_missed');
    expect(more).toEqual([]);
    expect(opened).toMatchObject({
      status: 'open',
      severity: 'critical',
      source: 'controller',
      count: 1,
      values: { scheduleId: schedule.id, plannedStartAt: '2027-03-22T08:00:00.000Z' },
    });
    expect(await ctl.metrics.render()).toMatch(
      /earshot_health_events_open\{type="occurrence_missed",severity="critical"\} 1/,
    );
    // Counted for Prometheus as well, whatever becomes of the event.
    expect(await ctl.metrics.render()).toMatch(/^earshot_occurrences_missed_total 1$/m);

    clock = new Date('2027-03-24T09:00:01Z'); // Wednesday's too: the same event, counted
    expect(await ctl.services.occurrences.markMissed()).toBe(1);
    const [again, ...none] = await events('occurrence_missed');
    expect(none).toEqual([]);
    expect(again).toMatchObject({ id: opened!.id, status: 'open', count: 2 });
    expect(again!.values.plannedStartAt).toBe('2027-03-24T08:00:00.000Z');
    expect(await ctl.metrics.render()).toMatch(/^earshot_occurrences_missed_total 2$/m);

    // The node syncs, records next Monday's occurrence and uploads it: the schedule is recorded again.
    clock = new Date('2027-03-29T06:59:00Z');
    const synced = await ctl.app.inject({
      method: 'POST',
      url: `/api/v1/nodes/${node.nodeId}/occurrences/sync`,
      headers: bearer(node.credential),
    });
    expect(synced.statusCode, synced.body).toBe(200);
    const next = (
      synced.json().data.occurrences as { jobId: string; recordingId: string; epoch: number }[]
    )[0]!;
    clock = new Date('2027-03-29T08:00:10Z');
    const uploaded = await put(next.recordingId, next.epoch, wavBytes(4000));
    expect(uploaded.statusCode, uploaded.body).toBe(200);
    expect(uploaded.json().data).toMatchObject({ complete: true });
    const [resolved] = await events('occurrence_missed');
    expect(resolved).toMatchObject({ id: opened!.id, status: 'resolved', count: 2 });
    expect(await ctl.metrics.render()).not.toMatch(
      /earshot_health_events_open\{type="occurrence_missed",severity="critical"\} [1-9]/,
    );

    // Raised and resolved as the system, audited each time (a further miss only counts).
    const audited = await reports(opened!.id);
    expect(audited.map((a) => [a.actorType, a.reason])).toEqual([
      ['system', 'reported'],
      ['system', 'cleared'],
    ]);
  });

  it('raises occurrence_missed when the agent reports a window it held as missed, and not for other failures', async () => {
    clock = new Date('2027-03-30T06:00:00Z');
    const schedule = await api('POST', '/schedules', {
      name: 'Evening show',
      recurrence: 'RRULE:FREQ=DAILY',
      timeZone: 'UTC',
      start: '2027-03-30T18:00',
      durationSeconds: 600,
      targets: [{ nodeId: node.nodeId }],
    });
    const synced = await ctl.app.inject({
      method: 'POST',
      url: `/api/v1/nodes/${node.nodeId}/occurrences/sync`,
      headers: bearer(node.credential),
    });
    const held = (
      synced.json().data.occurrences as { jobId: string; scheduleId: string; epoch: number }[]
    ).filter((o) => o.scheduleId === schedule.id);
    const fail = (job: { jobId: string; epoch: number }, reason: string) =>
      ctl.app.inject({
        method: 'POST',
        url: `/api/v1/recording-jobs/${job.jobId}/failed`,
        headers: bearer(node.credential),
        payload: { epoch: job.epoch, reason },
      });
    const ofSchedule = async () =>
      (await events('occurrence_missed')).filter((e) => e.values.scheduleId === schedule.id);

    clock = new Date('2027-03-31T07:00:00Z'); // the agent is back after the window
    expect((await fail(held[0]!, 'the capture device failed')).statusCode).toBe(200);
    expect(await ofSchedule()).toEqual([]);
    const missedBefore = await missedTotal();
    const missed = await fail(held[1]!, 'missed: the agent was not running during the scheduled window');
    expect(missed.statusCode, missed.body).toBe(200);
    const [event, ...more] = await ofSchedule();
    expect(more).toEqual([]);
    expect(event).toMatchObject({ status: 'open', source: 'controller', count: 1 });
    expect(event!.values.jobId).toBe(held[1]!.jobId);
    expect(await missedTotal()).toBe(missedBefore + 1);
  });

  it(`raises upload_failing at the ${UPLOAD_FAILURES_BEFORE_EVENT}rd failed upload of a recording, counts the rest, and resolves it when the upload completes`, async () => {
    clock = new Date('2027-04-01T10:00:00Z');
    const created = await createRecording(ctl, owner, node.nodeId);
    const { lease } = await claimNext(ctl, node.nodeId, node.credential);
    expect(lease?.recordingId).toBe(created.id);
    const body = wavBytes(6000);
    const wrong = sha256(Buffer.from('not this file'));

    for (let failure = 1; failure <= UPLOAD_FAILURES_BEFORE_EVENT + 1; failure++) {
      if (failure === UPLOAD_FAILURES_BEFORE_EVENT) expect(await events('upload_failing')).toEqual([]);
      clock = new Date(clock.getTime() + 60_000);
      const rejected = await put(created.id, lease!.epoch, body, wrong);
      expect(rejected.statusCode, rejected.body).toBe(422);
    }
    const [failing, ...more] = await events('upload_failing');
    expect(more).toEqual([]);
    expect(failing).toMatchObject({
      status: 'open',
      severity: 'warning',
      source: 'controller',
      count: UPLOAD_FAILURES_BEFORE_EVENT + 1,
      values: { recordingId: created.id, failures: UPLOAD_FAILURES_BEFORE_EVENT + 1 },
    });
    expect(await ctl.metrics.render()).toMatch(
      /earshot_health_events_open\{type="upload_failing",severity="warning"\} 1/,
    );

    // Offsets that do not line up are the protocol at work, not a failure.
    const resumeFrom = await ctl.app.inject({
      method: 'PUT',
      url: `/api/v1/recordings/${created.id}/cache-file`,
      headers: {
        ...uploadHeaders(node.credential, lease!.epoch, sha256(body), body.length),
        'content-range': `bytes 10-${body.length - 1}/${body.length}`,
      },
      payload: body.subarray(10),
    });
    expect(resumeFrom.statusCode, resumeFrom.body).toBe(409);
    expect((await events('upload_failing'))[0]).toMatchObject({ count: UPLOAD_FAILURES_BEFORE_EVENT + 1 });

    clock = new Date(clock.getTime() + 60_000);
    const done = await put(created.id, lease!.epoch, body);
    expect(done.statusCode, done.body).toBe(200);
    const [resolved] = await events('upload_failing');
    expect(resolved).toMatchObject({ id: failing!.id, status: 'resolved' });
    expect((await reports(failing!.id)).map((a) => [a.actorType, a.reason])).toEqual([
      ['system', 'reported'],
      ['system', 'cleared'],
    ]);
  });

  it('raises nothing for an upload that fails fewer times before it completes', async () => {
    const created = await createRecording(ctl, owner, node.nodeId);
    const { lease } = await claimNext(ctl, node.nodeId, node.credential);
    const body = wavBytes(3000);
    const rejected = await put(created.id, lease!.epoch, body, sha256(Buffer.from('other')));
    expect(rejected.statusCode).toBe(422);
    expect((await put(created.id, lease!.epoch, body)).statusCode).toBe(200);
    expect((await events('upload_failing')).map((e) => e.values.recordingId)).not.toContain(created.id);
  });

  it("reads the controller's own disk into /metrics, and opens one disk_low event of no node while it is low", async () => {
    await ctl.services.diskWatch.sweep();
    const metrics = await ctl.app.inject({ method: 'GET', url: '/metrics', headers: bearer(owner) });
    const free = /^earshot_controller_disk_free_bytes (\d+(\.\d+)?(e\+\d+)?)$/m.exec(metrics.body);
    expect(Number(free?.[1])).toBeGreaterThan(0);
    expect(metrics.body).toMatch(/^earshot_controller_disk_headroom_seconds \S+$/m);

    const low = { freeBytes: 1e9, totalBytes: 100e9, headroomHours: 3, bytesPerHour: 3e8 };
    const alerts = ctl.services.healthAlerts as ControllerAlerts;
    await alerts.controllerDisk('low', low);
    await alerts.controllerDisk('low', low); // still low: the same event
    const diskEvents = (): Promise<(EventView & { nodeId: string | null; message: string })[]> =>
      api('GET', '/health-events?type=disk_low');
    const [opened, ...more] = await diskEvents();
    expect(more).toEqual([]);
    expect(opened).toMatchObject({
      status: 'open',
      severity: 'warning',
      source: 'controller',
      nodeId: null,
      count: 1,
    });
    expect(opened!.message).toMatch(/0\.9 GiB free of 93\.1 GiB, 3\.0 h/);
    await alerts.controllerDisk('clear', { ...low, freeBytes: 80e9, headroomHours: 100 });
    const [resolved] = await diskEvents();
    expect(resolved).toMatchObject({ id: opened!.id, status: 'resolved' });
  });
});
