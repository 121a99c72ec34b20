// The planned window of a scheduled occurrence on each node: the schedule's pre/post roll, or the
// node profile's when longer; and which nodes' rolls changed between two runner passes.
import { describe, expect, it } from 'vitest';
import { effectiveRolls, RollWatch } from '../../controller/src/modules/schedules/profile-rolls.js';
import { plansAt } from '../../controller/src/modules/schedules/schedule-plans.js';
import type { ScheduleRow } from '../../controller/src/modules/schedules/schedules.repository.js';

const node = (id: string) => ({
  scheduleId: 's',
  nodeId: id,
  channels: null,
  node: {
    name: id,
    siteId: 'hq',
    sampleRate: 48_000,
    channels: 2,
    decommissionedAt: null,
    recordingProfileId: null,
  },
});

const schedule = {
  id: 's',
  name: 'News',
  timeZone: 'UTC',
  durationSeconds: 600,
  preRollSeconds: 30,
  postRollSeconds: 60,
  profile: '{}',
  targets: [node('a'), node('b')],
} as unknown as ScheduleRow;

describe('effective pre/post roll', () => {
  it('is the larger of the schedule and the profile, field by field', () => {
    expect(effectiveRolls(schedule, { preRollSeconds: 120, postRollSeconds: 10 })).toEqual({
      preRollSeconds: 120,
      postRollSeconds: 60,
    });
    expect(effectiveRolls(schedule, undefined)).toEqual({ preRollSeconds: 30, postRollSeconds: 60 });
  });

  it('plans each node its own window', () => {
    const start = new Date('2027-03-22T09:00:00Z');
    const plans = plansAt(schedule, start, (id) =>
      id === 'a' ? { preRollSeconds: 120, postRollSeconds: 300 } : undefined,
    );
    expect(
      plans.map((p) => [p.nodeId, p.plannedStartAt.toISOString(), p.plannedEndAt.toISOString()]),
    ).toEqual([
      ['a', '2027-03-22T08:58:00.000Z', '2027-03-22T09:15:00.000Z'],
      ['b', '2027-03-22T08:59:30.000Z', '2027-03-22T09:11:00.000Z'],
    ]);
  });
});

describe('RollWatch', () => {
  it('reports every node first, then only those whose rolls changed', () => {
    const watch = new RollWatch();
    const rolls = new Map([['a', { preRollSeconds: 5, postRollSeconds: 5 }]]);
    expect(watch.changed(['a', 'b'], rolls)).toEqual(new Set(['a', 'b']));
    expect(watch.changed(['a', 'b'], rolls)).toEqual(new Set());
    rolls.set('b', { preRollSeconds: 0, postRollSeconds: 9 });
    expect(watch.changed(['a', 'b'], rolls)).toEqual(new Set(['b']));
    watch.reset();
    expect(watch.changed(['a', 'b'], rolls)).toEqual(new Set(['a', 'b']));
  });
});
