/**
 * A node's recording profile widens its scheduled windows: effective pre-roll = max(schedule's,
 * profile's), the same for post-roll, per node. A profile edit or a node given another profile
 * re-plans the node's future occurrences on the runner's next pass (replanChangedProfiles), in
 * place: same jobs, same epochs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestAs } from '../support/api.js';
import {
  bearer,
  enrolledNode,
  ownerApiToken,
  type TestController,
  testController,
} from '../support/controller.js';

type Held = {
  jobId: string;
  scheduleId: string;
  epoch: number;
  plannedStartAt: string;
  plannedEndAt: string;
};

describe('scheduled windows and the recording profile pre/post roll', () => {
  let ctl: TestController;
  let owner: string;
  const clock = new Date('2027-03-22T07:00:00Z');
  let profiled: { nodeId: string; credential: string };
  let plain: { nodeId: string; credential: string };
  let scheduleId: string;
  let profileId: string;

  const api = async (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) => {
    const res = await requestAs(ctl.app, owner, method, `/api/v1${url}`, payload);
    expect(res.statusCode, res.body).toBeLessThan(300);
    return res.json().data;
  };
  /** The node's held occurrences of the schedule (the agent's sync). */
  const held = async (node: { nodeId: string; credential: string }): Promise<Held[]> => {
    const res = await ctl.app.inject({
      method: 'POST',
      url: `/api/v1/nodes/${node.nodeId}/occurrences/sync`,
      headers: bearer(node.credential),
    });
    expect(res.statusCode, res.body).toBe(200);
    return (res.json().data.occurrences as Held[]).filter((o) => o.scheduleId === scheduleId);
  };
  const window = (o: Held) => [o.plannedStartAt, o.plannedEndAt];

  beforeAll(async () => {
    ctl = await testController({}, () => clock);
    owner = await ownerApiToken(ctl);
    profiled = await enrolledNode(ctl, { id: 'rolls-profiled', site: 'hq' });
    plain = await enrolledNode(ctl, { id: 'rolls-plain', site: 'hq' });
    const profile = await api('POST', '/settings/recording-profiles', {
      name: 'long rolls',
      body: { preRollSeconds: 120, postRollSeconds: 300 },
    });
    profileId = profile.id;
    await api('PATCH', `/nodes/${profiled.nodeId}`, { recordingProfileId: profileId });
    const schedule = await api('POST', '/schedules', {
      name: 'Daily news',
      recurrence: 'RRULE:FREQ=DAILY;COUNT=2',
      timeZone: 'UTC',
      start: '2027-03-22T09:00',
      durationSeconds: 600,
      preRollSeconds: 30,
      postRollSeconds: 60,
      targets: [{ nodeId: profiled.nodeId }, { nodeId: plain.nodeId }],
    });
    scheduleId = schedule.id;
  });
  afterAll(async () => ctl.stop());

  it('plans each node from the larger of the schedule and its profile rolls', async () => {
    expect((await held(profiled)).map(window)).toEqual([
      ['2027-03-22T08:58:00.000Z', '2027-03-22T09:15:00.000Z'],
      ['2027-03-23T08:58:00.000Z', '2027-03-23T09:15:00.000Z'],
    ]);
    expect((await held(plain)).map(window)).toEqual([
      ['2027-03-22T08:59:30.000Z', '2027-03-22T09:11:00.000Z'],
      ['2027-03-23T08:59:30.000Z', '2027-03-23T09:11:00.000Z'],
    ]);
    // The leased jobs carry the whole window as their length.
    const [first] = await held(profiled);
    const job = await api('GET', `/recording-jobs/${first!.jobId}`);
    expect(job.durationSeconds).toBe(17 * 60);
  });

  it('a profile edit re-plans the future occurrences on the next runner pass, in place', async () => {
    await ctl.services.schedules.replanChangedProfiles(); // the first pass sees every node
    const before = await held(profiled);
    // Shorter than the schedule's post-roll: the schedule's 60 s wins there.
    await api('PATCH', `/settings/recording-profiles/${profileId}`, {
      body: { preRollSeconds: 45, postRollSeconds: 10 },
    });
    expect((await held(profiled)).map(window)).toEqual(before.map(window)); // not yet
    expect(await ctl.services.schedules.replanChangedProfiles()).toBe(1);
    const after = await held(profiled);
    expect(after.map(window)).toEqual([
      ['2027-03-22T08:59:15.000Z', '2027-03-22T09:11:00.000Z'],
      ['2027-03-23T08:59:15.000Z', '2027-03-23T09:11:00.000Z'],
    ]);
    expect(after.map((o) => [o.jobId, o.epoch])).toEqual(before.map((o) => [o.jobId, o.epoch]));
    expect(await ctl.services.schedules.replanChangedProfiles()).toBe(0); // nothing changed since
  });

  it('a node given the profile is re-planned too', async () => {
    await api('PATCH', `/nodes/${plain.nodeId}`, { recordingProfileId: profileId });
    expect(await ctl.services.schedules.replanChangedProfiles()).toBe(1);
    expect((await held(plain)).map(window)[0]).toEqual([
      '2027-03-22T08:59:15.000Z',
      '2027-03-22T09:11:00.000Z',
    ]);
  });
});
