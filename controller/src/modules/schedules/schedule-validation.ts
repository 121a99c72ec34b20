/** What a schedule must satisfy beyond its JSON schema; every failure is a 400 with a reason. */
import { badRequest } from '../../core/errors.js';
import {
  firesWithin,
  intervalMissReason,
  matchesNoDay,
  nextOccurrence,
  RecurrenceError,
  setPosMissReason,
} from './recurrence.js';
import { channelsOf, instantsBetween, MAX_OCCURRENCES_PER_WINDOW, ruleOf } from './schedule-plans.js';
import type { ScheduleRow } from './schedules.repository.js';
import type { CreateScheduleBody } from './schedules.schemas.js';

/** A target with what validation needs of its node. */
export interface CheckedTarget {
  nodeId: string;
  channels?: number[] | null;
  /** How many channels the node captures. */
  channelCount: number;
}

/** Plans this far ahead must stay under MAX_OCCURRENCES_PER_WINDOW. */
const DENSITY_WINDOW_MS = 8 * 24 * 3600_000;

export function validateSchedule(body: CreateScheduleBody, targets: CheckedTarget[]) {
  for (const target of targets) {
    const channels = target.channels ?? [];
    if (new Set(channels).size !== channels.length)
      throw badRequest(`target ${target.nodeId}: a channel is listed twice`);
    const over = channels.find((c) => c > target.channelCount);
    if (over !== undefined)
      throw badRequest(
        `target ${target.nodeId}: channel ${over} does not exist (the node captures ${target.channelCount})`,
      );
  }
  const data = {
    name: body.name,
    recurrence: (body.recurrence ?? '').trim(),
    timeZone: body.timeZone,
    startLocal: body.start.length === 16 ? `${body.start}:00` : body.start,
    durationSeconds: body.durationSeconds,
    preRollSeconds: body.preRollSeconds ?? 0,
    postRollSeconds: body.postRollSeconds ?? 0,
    profile: JSON.stringify(body.profile ?? { format: 'wav' }),
    voiceGuildId: body.voiceChannel?.guildId ?? null,
    voiceChannelId: body.voiceChannel?.channelId ?? null,
    enabled: body.enabled ?? true,
  };
  checkRule(data);
  return {
    data,
    targets: targets.map((t) => ({
      nodeId: t.nodeId,
      channels: t.channels ? JSON.stringify(t.channels) : null,
    })),
  };
}

/** A rule must make its first occurrence within this many years of its start. */
const FIRST_WITHIN_YEARS = 10;

function checkRule(data: Pick<ScheduleRow, 'recurrence' | 'timeZone' | 'startLocal'>) {
  const probe = { ...data, id: '', skipped: '[]' } as unknown as ScheduleRow;
  try {
    const rule = ruleOf(probe);
    const missed = intervalMissReason(rule) ?? setPosMissReason(rule);
    if (missed) throw badRequest(`the RRULE's ${missed}`);
    if (matchesNoDay(rule))
      throw badRequest(
        'the RRULE matches no day of any year its INTERVAL reaches (like BYMONTH=2 with BYMONTHDAY=30, or ' +
          'BYMONTHDAY=29 of February every fourth year from a year after a leap year): no recording would ever start',
      );
    const first = firesWithin(rule, probe.startLocal, FIRST_WITHIN_YEARS)
      ? nextOccurrence(rule, probe.timeZone, new Date(0))
      : undefined;
    if (!first)
      throw badRequest(
        `the rule makes no occurrence within ${FIRST_WITHIN_YEARS} years of its start ${probe.startLocal}: ` +
          'check its UNTIL, COUNT and EXDATE lines, and an INTERVAL that steps over every day it names',
      );
    // Dense rules are refused: a recording plan, not a ticker (checked from the first occurrence).
    const { truncated } = instantsBetween(probe, first, new Date(first.getTime() + DENSITY_WINDOW_MS));
    if (truncated)
      throw badRequest(`the rule makes more than ${MAX_OCCURRENCES_PER_WINDOW} occurrences in 8 days`);
  } catch (error) {
    if (error instanceof RecurrenceError) throw badRequest(error.message);
    throw error;
  }
}

/** A stored schedule's targets as validation sees them. */
export function checkedTargetsOf(row: ScheduleRow): CheckedTarget[] {
  return row.targets.map((t) => ({
    nodeId: t.nodeId,
    channels: channelsOf(t),
    channelCount: t.node.channels,
  }));
}
