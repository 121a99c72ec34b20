/**
 * Records the node's scheduled occurrences on time, from the cached occurrence sync, with
 * or without the controller. Each occurrence is begun PREPARE_MS before its planned start
 * (file opened, journaled) and the recorder takes audio from the first frame at the planned
 * start to the last before the planned end, so the start does not depend on a timer firing
 * on the millisecond. The runner sleeps at most a minute at a time and re-reads the wall
 * clock whenever it wakes, so a clock that jumps (NTP stepping it) moves the plan with it.
 *
 * An occurrence is started once: the cache remembers which were started, and the journal
 * holds those recording or waiting for upload. An agent that comes up inside a window it
 * never started records the rest at once, marked partial ("started late").
 */
import type { ScheduledOccurrence } from '../../../shared/src/agent-api.js';
import { type AgentHttpClient, describeError } from '../link/http-client.js';
import type { JobJournal } from '../state/journal.js';
import type { OfflineCache } from '../state/offline-cache.js';
import type { BackoffOptions } from '../support/backoff.js';
import type { Logger } from '../support/log.js';
import { LATE_MS, MIN_PART_MS, PARTIAL_REASONS, type Recorder, type RecordJob } from './recorder.js';

import { reportTerminal } from './report-terminal.js';

/** Begin (open the file, journal it) this long before the planned start. */
export const PREPARE_MS = 2000;
/** The longest the runner sleeps before looking at the clock again. */
export const MAX_SLEEP_MS = 60_000;

export type OccurrenceAction =
  | { kind: 'start'; occurrence: ScheduledOccurrence; late: boolean }
  | { kind: 'cancel'; occurrence: ScheduledOccurrence }
  | { kind: 'missed'; occurrence: ScheduledOccurrence };

export interface SchedulePlan {
  actions: OccurrenceAction[];
  /** How long to sleep before planning again. */
  sleepMs: number;
}

/** What to do now about each occurrence not yet handled, and when to look again. Pure. */
export function planOccurrences(
  occurrences: readonly ScheduledOccurrence[],
  handled: (jobId: string) => boolean,
  nowMs: number,
): SchedulePlan {
  const actions: OccurrenceAction[] = [];
  let nextMs = Number.POSITIVE_INFINITY;
  for (const occurrence of occurrences) {
    if (handled(occurrence.jobId)) continue;
    const startMs = Date.parse(occurrence.plannedStartAt);
    const endMs = Date.parse(occurrence.plannedEndAt);
    if (endMs - nowMs < MIN_PART_MS) {
      actions.push({ kind: 'missed', occurrence });
    } else if (nowMs >= startMs - PREPARE_MS) {
      actions.push(
        occurrence.stopRequested
          ? { kind: 'cancel', occurrence }
          : { kind: 'start', occurrence, late: nowMs > startMs + LATE_MS },
      );
    } else {
      nextMs = Math.min(nextMs, startMs - PREPARE_MS);
    }
  }
  const sleepMs = Math.min(MAX_SLEEP_MS, Math.max(0, nextMs - nowMs));
  return { actions, sleepMs };
}

/** The recorder's job for an occurrence. */
export function occurrenceJob(occurrence: ScheduledOccurrence, late: boolean): RecordJob {
  const startMs = Date.parse(occurrence.plannedStartAt);
  const endMs = Date.parse(occurrence.plannedEndAt);
  return {
    jobId: occurrence.jobId,
    recordingId: occurrence.recordingId,
    epoch: occurrence.epoch,
    startAtMs: startMs,
    endAtMs: endMs,
    windowEndMs: endMs,
    channelSelection: occurrence.channelSelection,
    sampleRate: occurrence.sampleRate,
    channels: occurrence.channels,
    plannedStartMs: startMs,
    ...(late ? { partialReason: PARTIAL_REASONS.startedLate } : {}),
  };
}

export interface ScheduleRunnerOptions {
  recorder: Pick<Recorder, 'begin' | 'isRecording'>;
  journal: Pick<JobJournal, 'list'>;
  /** Where started occurrences are remembered (loadStarted() already called). */
  started: Pick<OfflineCache, 'wasStarted' | 'markStarted'>;
  api: Pick<AgentHttpClient, 'jobCancelled' | 'jobFailed'>;
  log: Logger;
  backoff?: BackoffOptions;
  now?: () => number;
}

export class ScheduleRunner {
  private occurrences: ScheduledOccurrence[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private readonly stopping = new AbortController();
  /** Handled in this run (started, cancelled or missed), before the cache says so. */
  private readonly handledHere = new Set<string>();
  private ticking: Promise<void> | undefined;
  private again = false;

  constructor(private readonly options: ScheduleRunnerOptions) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** The occurrences the runner works from. */
  get scheduled(): readonly ScheduledOccurrence[] {
    return this.occurrences;
  }

  start(): void {
    this.stopped = false;
    this.tick();
  }

  /**
   * A new list (from a sync or the cache). Occurrences no longer listed are dropped; one
   * already recording goes on (the recorder has it).
   */
  update(occurrences: readonly ScheduledOccurrence[]): void {
    this.occurrences = [...occurrences];
    if (!this.stopped) this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    clearTimeout(this.timer);
    await this.ticking;
  }

  private handled = (jobId: string): boolean => {
    if (this.handledHere.has(jobId) || this.options.started.wasStarted(jobId)) return true;
    if (this.options.recorder.isRecording(jobId)) return true;
    return this.options.journal.list().some((e) => e.jobId === jobId || e.continues?.jobId === jobId);
  };

  /** Plans and acts now; one plan at a time (a tick asked for meanwhile runs after it). */
  private tick(): void {
    clearTimeout(this.timer);
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = this.run().finally(() => {
      this.ticking = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        this.tick();
      }
    });
  }

  private async run(): Promise<void> {
    if (this.stopped) return;
    const plan = planOccurrences(this.occurrences, this.handled, this.now());
    for (const action of plan.actions) {
      if (this.stopped) return;
      await this.act(action);
    }
    if (this.stopped) return;
    // Acting took time: plan again from the clock rather than trusting plan.sleepMs.
    const next = plan.actions.length > 0 ? 0 : plan.sleepMs;
    this.timer = setTimeout(() => this.tick(), next);
  }

  private async act(action: OccurrenceAction): Promise<void> {
    const { api, log, started } = this.options;
    const { occurrence } = action;
    const { jobId } = occurrence;
    this.handledHere.add(jobId);
    await started
      .markStarted(jobId, Date.parse(occurrence.plannedEndAt), this.now())
      .catch((error: unknown) =>
        log.error({ jobId }, `cannot remember the occurrence: ${describeError(error)}`),
      );
    const where = { jobId, schedule: occurrence.scheduleName, plannedStartAt: occurrence.plannedStartAt };
    if (action.kind === 'start') {
      if (action.late) log.warn(where, 'inside a scheduled window not started yet: recording the rest now');
      await this.options.recorder.begin(occurrenceJob(occurrence, action.late));
      return;
    }
    const cancelled = action.kind === 'cancel';
    const reason = cancelled
      ? 'stop requested before start'
      : 'missed: the agent was not running during the scheduled window';
    log.warn(where, cancelled ? 'occurrence stopped before it began' : 'scheduled window missed');
    void reportTerminal(
      (cancelled ? api.jobCancelled : api.jobFailed).bind(api),
      jobId,
      { epoch: occurrence.epoch, reason },
      this.options,
      this.stopping.signal,
    );
  }
}
