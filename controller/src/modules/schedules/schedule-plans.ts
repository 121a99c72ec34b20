/**
 * From a schedule to its occurrences: the rule's instants in a window, less the skipped ones,
 * each planned on every target node with pre- and post-roll (pure functions, no I/O). A node's
 * roll is the larger of the schedule's and its recording profile's (`rollsOf`, profile-rolls.ts).
 */
import type { OccurrencePlan } from '../recordings/index.js';
import { effectiveRolls, noProfileRolls, type RollsOf } from './profile-rolls.js';
import { nextOccurrence, occurrencesBetween, parseRecurrence } from './recurrence.js';
import type { ScheduleRow } from './schedules.repository.js';
import type { RecordingProfile } from './schedules.schemas.js';

/** At most this many occurrences of one schedule within a materialisation window. */
export const MAX_OCCURRENCES_PER_WINDOW = 2000;

export function skippedOf(schedule: Pick<ScheduleRow, 'skipped'>): string[] {
  return JSON.parse(schedule.skipped) as string[];
}

/** A target's channel selection (1-based), null for every channel. */
export function channelsOf(target: Pick<ScheduleRow['targets'][number], 'channels'>): number[] | null {
  return target.channels === null ? null : (JSON.parse(target.channels) as number[]);
}

export function profileOf(schedule: Pick<ScheduleRow, 'profile'>): RecordingProfile {
  return JSON.parse(schedule.profile) as RecordingProfile;
}

export function ruleOf(schedule: Pick<ScheduleRow, 'recurrence' | 'timeZone' | 'startLocal'>) {
  return parseRecurrence({
    rule: schedule.recurrence,
    timeZone: schedule.timeZone,
    start: schedule.startLocal,
  });
}

/** The rule's instants in [from, to) (skipped ones included), ascending. */
export function instantsBetween(
  schedule: ScheduleRow,
  from: Date,
  to: Date,
  limit = MAX_OCCURRENCES_PER_WINDOW,
) {
  return occurrencesBetween(ruleOf(schedule), schedule.timeZone, from, to, limit);
}

/** The next instant at or after `from` that is not skipped. */
export function nextUnskipped(schedule: ScheduleRow, from: Date): Date | undefined {
  const rule = ruleOf(schedule);
  const skipped = new Set(skippedOf(schedule));
  let at = from;
  for (let guard = 0; guard < 1000; guard++) {
    const next = nextOccurrence(rule, schedule.timeZone, at);
    if (!next || !skipped.has(next.toISOString())) return next;
    at = new Date(next.getTime() + 1000);
  }
  return undefined;
}

function localLabel(instant: Date, zone: string): string {
  return new Intl.DateTimeFormat('sv-SE', {
    timeZone: zone,
    dateStyle: 'short',
    timeStyle: 'short',
  }).format(instant);
}

/** The longest pre-roll of the schedule on any of its nodes, in seconds. */
export function maxPreRollSeconds(schedule: ScheduleRow, rollsOf: RollsOf = noProfileRolls): number {
  return Math.max(
    schedule.preRollSeconds,
    ...schedule.targets.map((t) => effectiveRolls(schedule, rollsOf(t.nodeId)).preRollSeconds),
  );
}

/**
 * One occurrence planned on every target node still in service (a decommissioned one records
 * nothing), each from its pre-roll to its post-roll: the schedule's, or the node profile's when longer.
 */
export function plansAt(
  schedule: ScheduleRow,
  occurrenceStart: Date,
  rollsOf: RollsOf = noProfileRolls,
): OccurrencePlan[] {
  const profile = profileOf(schedule);
  const title = `${schedule.name} ${localLabel(occurrenceStart, schedule.timeZone)}`;
  return schedule.targets
    .filter((target) => !target.node.decommissionedAt)
    .map((target) => {
      const rolls = effectiveRolls(schedule, rollsOf(target.nodeId));
      return {
        scheduleId: schedule.id,
        nodeId: target.nodeId,
        title,
        occurrenceStart,
        plannedStartAt: new Date(occurrenceStart.getTime() - rolls.preRollSeconds * 1000),
        plannedEndAt: new Date(
          occurrenceStart.getTime() + (schedule.durationSeconds + rolls.postRollSeconds) * 1000,
        ),
        sampleRate: profile.sampleRate ?? target.node.sampleRate,
        channels: target.node.channels,
        channelSelection: channelsOf(target),
      };
    });
}

/**
 * Every occurrence that should exist as jobs for [from, to): none when the schedule is paused;
 * skipped ones left out. An occurrence already begun (pre-roll started) is the caller's to keep.
 */
export function plansBetween(
  schedule: ScheduleRow,
  from: Date,
  to: Date,
  rollsOf: RollsOf = noProfileRolls,
): OccurrencePlan[] {
  if (!schedule.enabled) return [];
  const skipped = new Set(skippedOf(schedule));
  // Widened by the pre-roll: an occurrence just after `to` may plan to start before it.
  const until = new Date(to.getTime() + maxPreRollSeconds(schedule, rollsOf) * 1000);
  return instantsBetween(schedule, from, until)
    .starts.filter((start) => !skipped.has(start.toISOString()))
    .flatMap((start) => plansAt(schedule, start, rollsOf));
}
