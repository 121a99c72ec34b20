// The schedule runner's timing: what it does about each cached occurrence at a given wall
// clock, how long it sleeps, and that a clock that jumps moves the plan with it.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LATE_MS, type RecordJob } from '../../agent/src/jobs/recorder.js';
import {
  MAX_SLEEP_MS,
  occurrenceJob,
  PREPARE_MS,
  planOccurrences,
  ScheduleRunner,
} from '../../agent/src/jobs/schedule-runner.js';
import { silentLogger } from '../../agent/src/support/log.js';
import type { ScheduledOccurrence } from '../../shared/src/agent-api.js';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const MIN = 60_000;

function occurrence(id: string, startMs: number, endMs: number, patch: Partial<ScheduledOccurrence> = {}) {
  return {
    jobId: `job-${id}`,
    recordingId: `rec-${id}`,
    nodeId: 'node-1',
    epoch: 1,
    leaseExpiresAt: new Date(endMs).toISOString(),
    durationSeconds: Math.round((endMs - startMs) / 1000),
    stopRequested: false,
    sampleRate: 48_000,
    channels: 2,
    channelSelection: null,
    part: 1,
    scheduleId: 'sched-1',
    scheduleName: 'Lecture',
    occurrenceStart: new Date(startMs).toISOString(),
    plannedStartAt: new Date(startMs).toISOString(),
    plannedEndAt: new Date(endMs).toISOString(),
    ...patch,
  } satisfies ScheduledOccurrence;
}

const none = () => false;

describe('planOccurrences', () => {
  const a = occurrence('a', T0, T0 + 60 * MIN);

  it('sleeps until PREPARE_MS before the start, at most a minute at a time', () => {
    expect(planOccurrences([a], none, T0 - 10 * MIN)).toEqual({ actions: [], sleepMs: MAX_SLEEP_MS });
    expect(planOccurrences([a], none, T0 - 30_000)).toEqual({ actions: [], sleepMs: 30_000 - PREPARE_MS });
    expect(planOccurrences([], none, T0)).toEqual({ actions: [], sleepMs: MAX_SLEEP_MS });
  });

  it('begins an occurrence PREPARE_MS early, on time (not late) up to LATE_MS after the start', () => {
    for (const now of [T0 - PREPARE_MS, T0 - 1, T0, T0 + LATE_MS]) {
      expect(planOccurrences([a], none, now).actions).toEqual([
        { kind: 'start', occurrence: a, late: false },
      ]);
    }
  });

  it('inside the window later than that: starts late (partial); after the window: missed', () => {
    expect(planOccurrences([a], none, T0 + LATE_MS + 1).actions).toEqual([
      { kind: 'start', occurrence: a, late: true },
    ]);
    expect(planOccurrences([a], none, T0 + 60 * MIN - 500).actions).toEqual([
      { kind: 'missed', occurrence: a },
    ]);
  });

  it('skips handled occurrences, cancels stopped ones when due, plans the next of several', () => {
    const b = occurrence('b', T0 + 60 * MIN, T0 + 120 * MIN);
    const c = occurrence('c', T0 + 30_000, T0 + 90_000, { stopRequested: true });
    const plan = planOccurrences([b, a, c], (jobId) => jobId === 'job-a', T0 + 10_000);
    expect(plan).toEqual({ actions: [], sleepMs: 20_000 - PREPARE_MS });
    expect(planOccurrences([c], none, T0 + 29_000).actions).toEqual([{ kind: 'cancel', occurrence: c }]);
  });

  it('back to back: the second begins while the first records, and each ends at its own end', () => {
    const b = occurrence('b', T0 + 60 * MIN, T0 + 120 * MIN);
    const plan = planOccurrences([a, b], (jobId) => jobId === 'job-a', T0 + 60 * MIN - PREPARE_MS);
    expect(plan.actions).toEqual([{ kind: 'start', occurrence: b, late: false }]);
    expect(occurrenceJob(b, false)).toMatchObject({
      startAtMs: T0 + 60 * MIN,
      endAtMs: T0 + 120 * MIN,
      windowEndMs: T0 + 120 * MIN,
      plannedStartMs: T0 + 60 * MIN,
    });
    expect(occurrenceJob(a, false).endAtMs).toBe(occurrenceJob(b, false).startAtMs);
    expect(occurrenceJob(a, true).partialReason).toMatch(/started late/);
  });
});

describe('ScheduleRunner', () => {
  let clock: number;
  let begun: { job: RecordJob; at: number }[];
  let started: Set<string>;

  beforeEach(() => {
    vi.useFakeTimers();
    clock = T0 - 10 * MIN;
    begun = [];
    started = new Set();
  });
  afterEach(() => vi.useRealTimers());

  function runner() {
    const api = { jobCancelled: vi.fn(async () => {}), jobFailed: vi.fn(async () => {}) };
    const schedule = new ScheduleRunner({
      recorder: {
        begin: async (job) => {
          begun.push({ job, at: clock });
          return undefined;
        },
        isRecording: () => false,
      },
      journal: { list: () => [] },
      started: {
        wasStarted: (jobId) => started.has(jobId),
        markStarted: async (jobId) => {
          started.add(jobId);
        },
      },
      api,
      log: silentLogger(),
      now: () => clock,
    });
    return { schedule, api };
  }

  /** Moves the wall clock and the timers together. */
  async function advance(ms: number) {
    clock += ms;
    await vi.advanceTimersByTimeAsync(ms);
  }

  it('begins each occurrence between PREPARE_MS and 0 before its start, once', async () => {
    const { schedule } = runner();
    schedule.update([occurrence('a', T0, T0 + 60 * MIN), occurrence('b', T0 + 60 * MIN, T0 + 120 * MIN)]);
    schedule.start();
    for (let i = 0; i < 130; i++) await advance(MIN);
    expect(begun.map((b) => b.job.jobId)).toEqual(['job-a', 'job-b']);
    expect(begun[0]!.at).toBeGreaterThanOrEqual(T0 - PREPARE_MS);
    expect(begun[0]!.at).toBeLessThanOrEqual(T0);
    expect(begun[1]!.at).toBeGreaterThanOrEqual(T0 + 60 * MIN - PREPARE_MS);
    expect(begun[1]!.at).toBeLessThanOrEqual(T0 + 60 * MIN);
    expect(begun.every((b) => b.job.partialReason === undefined)).toBe(true);
    await schedule.stop();
  });

  it('a wall clock that jumps forward is noticed within a minute', async () => {
    const { schedule } = runner();
    schedule.update([occurrence('a', T0, T0 + 60 * MIN)]);
    schedule.start();
    await advance(1000);
    // NTP steps the clock 9 minutes ahead while the runner sleeps (timers do not move).
    clock += 9 * MIN;
    await advance(MAX_SLEEP_MS);
    expect(begun).toHaveLength(1);
    expect(begun[0]!.job.jobId).toBe('job-a');
    await schedule.stop();
  });

  it('an agent booting inside a window records the rest at once, partial; a started one is not repeated', async () => {
    clock = T0 + 5 * MIN;
    started.add('job-b');
    const { schedule } = runner();
    schedule.update([occurrence('a', T0, T0 + 60 * MIN), occurrence('b', T0, T0 + 60 * MIN)]);
    schedule.start();
    await advance(0);
    expect(begun.map((b) => [b.job.jobId, b.job.partialReason])).toEqual([
      ['job-a', 'started late: agent started inside the window'],
    ]);
    await schedule.stop();
  });

  it('drops an occurrence a later sync no longer lists; reports a stopped one cancelled', async () => {
    const { schedule, api } = runner();
    schedule.update([occurrence('a', T0, T0 + 60 * MIN)]);
    schedule.start();
    await advance(MIN);
    schedule.update([occurrence('c', T0, T0 + 60 * MIN, { stopRequested: true })]);
    for (let i = 0; i < 12; i++) await advance(MIN);
    expect(begun).toEqual([]);
    expect(api.jobCancelled).toHaveBeenCalledWith(
      'job-c',
      { epoch: 1, reason: 'stop requested before start' },
      expect.anything(),
    );
    await schedule.stop();
  });
});
