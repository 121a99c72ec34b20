/**
 * Attendance periods: the reset schedule, "reset now" and scheduled resets.
 * A reset closes every open session (reason `reset`), stores them in the ending
 * period, archives a signed snapshot of its leaderboard (unsigned while the key is
 * locked, signed on unlock), moves the guild to the next period and reopens sessions
 * for the members still present.
 */

import type { Actor, AuditWriter, RequestContext } from '../../../core/audit.types.js';
import type { AuditAction } from '../../../core/audit-actions.js';
import { badRequest, conflict, notFound } from '../../../core/errors.js';
import { actorOf, type CallContext } from '../../../core/principal.js';
import type { Db } from '../../../db/client.js';
import type { ResetScheduleInput } from '../guilds/attendance.schemas.js';
import type { AttendanceEvent, AttendanceEvents, PeriodArchivedEvent } from '../guilds/attendance-events.js';
import type { VisibleGuild } from '../guilds/guild-access.js';
import type { GuildLocks } from '../guilds/guild-locks.js';
import type { GuildsRepository } from '../guilds/guilds.repository.js';
import { buildPeriodExport } from '../signing/period-export.js';
import { preparePayload } from '../signing/records.js';
import { periodSnapshotOf } from '../signing/session-receipts.js';
import type { AttendanceSigningService } from '../signing/signing.service.js';
import type { SessionsRepository } from '../tracking/sessions.repository.js';
import type { AttendanceService, StoreOrigin } from '../tracking/sessions.service.js';
import type { CompletedSession } from '../tracking/tracker.types.js';
import type { AttendancePeriod, PeriodsRepository } from './periods.repository.js';
import { PeriodCalendar, type ResetSchedule } from './reset-schedule.js';

const SCHEDULER_ACTOR: Actor = { type: 'system', id: null, name: 'attendance-scheduler' };

export function scheduleOf(guild: { resetSchedule: string | null }): ResetSchedule {
  if (!guild.resetSchedule) return { kind: 'manual' };
  return JSON.parse(guild.resetSchedule) as ResetSchedule;
}

export function nextResetAt(guild: { resetSchedule: string | null; periodStartedAt: Date }): Date | null {
  try {
    const next = new PeriodCalendar(scheduleOf(guild)).nextResetAfter(guild.periodStartedAt.getTime());
    return next === null ? null : new Date(next);
  } catch {
    return null;
  }
}

/** One pass of the scheduler: the guilds reset, and those whose reset failed (retried next tick). */
export interface DueResets {
  reset: string[];
  failed: { guildId: string; error: unknown }[];
}

function isResetDue(guild: { resetSchedule: string | null; periodStartedAt: Date }, at: Date): boolean {
  const due = nextResetAt(guild);
  return due !== null && due <= at;
}

export class AttendancePeriodsService {
  private readonly db: Db;
  private readonly guildsRepo: GuildsRepository;
  private readonly sessionsRepo: SessionsRepository;
  private readonly periodsRepo: PeriodsRepository;
  private readonly sessions: AttendanceService;
  private readonly signing: AttendanceSigningService;
  private readonly audit: AuditWriter;
  private readonly locks: GuildLocks;
  private readonly events: AttendanceEvents;
  private readonly now: () => Date;

  constructor(options: {
    db: Db;
    guildsRepo: GuildsRepository;
    sessionsRepo: SessionsRepository;
    periodsRepo: PeriodsRepository;
    sessions: AttendanceService;
    signing: AttendanceSigningService;
    audit: AuditWriter;
    locks: GuildLocks;
    events: AttendanceEvents;
    now?: () => Date;
  }) {
    this.db = options.db;
    this.guildsRepo = options.guildsRepo;
    this.sessionsRepo = options.sessionsRepo;
    this.periodsRepo = options.periodsRepo;
    this.sessions = options.sessions;
    this.signing = options.signing;
    this.audit = options.audit;
    this.locks = options.locks;
    this.events = options.events;
    this.now = options.now ?? (() => new Date());
  }

  async setSchedule(guild: VisibleGuild, input: ResetScheduleInput, ctx: CallContext) {
    const schedule: ResetSchedule =
      input.kind === 'rolling'
        ? { kind: 'rolling', intervalMs: input.intervalMs, anchorMs: input.anchorMs ?? this.now().getTime() }
        : (input as ResetSchedule);
    try {
      new PeriodCalendar(schedule);
    } catch (error) {
      throw badRequest(`Invalid reset schedule: ${error instanceof Error ? error.message : String(error)}`);
    }
    const updated = await this.db.$transaction(async (tx) => {
      const after = await this.guildsRepo.updateGuild(tx, guild.id, {
        resetSchedule: schedule.kind === 'manual' ? null : JSON.stringify(schedule),
        ...(schedule.kind === 'calendar' ? { timeZone: schedule.timeZone } : {}),
      });
      await this.audit.recordChange(tx, ctx, {
        permission: 'attendance:manage',
        action: 'attendance.reset_schedule.update',
        target: { type: 'guild', id: guild.id },
        before: scheduleOf(guild),
        after: schedule,
      });
      return after;
    });
    return { schedule, next_reset_at: nextResetAt(updated)?.toISOString() ?? null };
  }

  resetNow(guild: VisibleGuild, ctx: CallContext) {
    return this.locks.run(guild.id, () =>
      this.reset(guild.id, actorOf(ctx.principal), ctx.request, 'attendance.period.reset'),
    );
  }

  /**
   * Runs every scheduled reset that is due (the scheduler's tick). A guild whose reset
   * fails is reported and retried at the next tick; it does not hold up the others.
   */
  async runDueResets(): Promise<DueResets> {
    const result: DueResets = { reset: [], failed: [] };
    for (const guild of await this.guildsRepo.guildsWithSchedule()) {
      if (!isResetDue(guild, this.now())) continue;
      try {
        if (await this.resetIfDue(guild.id)) result.reset.push(guild.id);
      } catch (error) {
        result.failed.push({ guildId: guild.id, error });
      }
    }
    return result;
  }

  /**
   * Due is decided again under the guild's lock: the list was read before it, and a reset
   * that finished in between (reset-now, an overlapping pass) moved the period on, or the
   * schedule changed. Deciding on the stale row archived a second, empty period.
   */
  private resetIfDue(guildId: string): Promise<boolean> {
    return this.locks.run(guildId, async () => {
      const guild = await this.guildsRepo.findGuild(guildId);
      if (!guild || !isResetDue(guild, this.now())) return false;
      await this.reset(guildId, SCHEDULER_ACTOR, undefined, 'attendance.period.scheduled_reset');
      return true;
    });
  }

  /** The reset itself; the caller holds the guild's lock. */
  private async reset(
    guildId: string,
    actor: Actor,
    context: RequestContext | undefined,
    action: AuditAction,
  ) {
    const at = this.now();
    const nowMs = at.getTime();
    const closed = this.sessions.closeForReset(guildId, nowMs);
    const published: AttendanceEvent[] = [];
    const origin: StoreOrigin = { actor, context };
    const archived = await this.archive(guildId, closed, at, origin, action, published).catch(
      async (error: unknown) => {
        await this.keepTracking(guildId, closed, origin, nowMs);
        throw error;
      },
    );
    this.events.afterCommit(published);
    const reopened = this.sessions.reopenAfterReset(guildId, nowMs);
    return {
      archived_period_index: archived.periodIndex,
      period_index: archived.periodIndex + 1,
      sessions: archived.sessions,
      signed: archived.signed,
      reopened_sessions: reopened,
    };
  }

  /**
   * A failed reset has already closed the open sessions: store them in the period that
   * goes on and reopen sessions for the members still present, so no attendance is lost
   * while the reset waits for the next tick. If storing fails too, the reset's error
   * (thrown by the caller) says why.
   */
  private async keepTracking(
    guildId: string,
    closed: CompletedSession[],
    origin: StoreOrigin,
    nowMs: number,
  ) {
    const published: AttendanceEvent[] = [];
    try {
      await this.db.$transaction((tx) => this.sessions.storeInTx(tx, guildId, closed, origin, published));
      this.events.afterCommit(published);
    } catch {
      // Reported through the reset's own error.
    }
    this.sessions.reopenAfterReset(guildId, nowMs);
  }

  /** Stores the closed sessions, archives the period's snapshot and moves the guild on, in one transaction. */
  private archive(
    guildId: string,
    closed: CompletedSession[],
    at: Date,
    origin: StoreOrigin,
    action: AuditAction,
    published: AttendanceEvent[],
  ) {
    return this.db.$transaction(async (tx) => {
      const guild = await this.guildsRepo.findGuild(guildId, tx);
      if (!guild) throw notFound('guild');
      await this.sessions.storeInTx(tx, guildId, closed, origin, published);
      const periodSessions = await this.sessionsRepo.periodSessions(guildId, guild.periodIndex, tx);
      const payload = periodSnapshotOf({
        guildId,
        periodIndex: guild.periodIndex,
        startedAt: guild.periodStartedAt,
        endedAt: at,
        sessions: periodSessions,
      });
      const prepared = preparePayload(payload);
      const signed = await this.signing.signNow(guildId, payload);
      if (!(await this.guildsRepo.advancePeriod(tx, guildId, guild.periodIndex, at)))
        throw conflict('The period was reset concurrently; try again.');
      await this.periodsRepo.createPeriod(tx, {
        guildId,
        periodIndex: guild.periodIndex,
        startedAt: guild.periodStartedAt,
        endedAt: at,
        snapshot: prepared.signedBytes,
        ...(signed && {
          signedBytes: signed.signedBytes,
          signature: signed.signature,
          keyId: signed.keyId,
          payloadHash: signed.payloadHash,
        }),
      });
      await this.audit.record(tx, {
        actor: origin.actor,
        permission: 'attendance:manage',
        action,
        target: { type: 'guild', id: guildId },
        outcome: 'success',
        before: { periodIndex: guild.periodIndex, periodStartedAt: guild.periodStartedAt },
        after: {
          periodIndex: guild.periodIndex + 1,
          archivedSessions: periodSessions.length,
          signed: signed !== undefined,
        },
        context: origin.context,
      });
      const event: PeriodArchivedEvent = {
        type: 'period.archived',
        guildId,
        periodIndex: guild.periodIndex,
        startedAt: guild.periodStartedAt.toISOString(),
        endedAt: at.toISOString(),
        sessions: periodSessions.length,
        signed: signed !== undefined,
      };
      await this.events.inTransaction(tx, [event]);
      published.push(event);
      return {
        periodIndex: guild.periodIndex,
        sessions: periodSessions.length,
        signed: signed !== undefined,
      };
    });
  }

  presentPeriod(row: AttendancePeriod) {
    return {
      period_index: row.periodIndex,
      started_at: row.startedAt.toISOString(),
      ended_at: row.endedAt.toISOString(),
      signed: row.signedBytes !== null,
      key_id: row.keyId,
      payload_hash: row.payloadHash,
      snapshot: JSON.parse(row.snapshot) as unknown,
    };
  }

  async history(guildId: string, limit: number, beforeIndex?: number) {
    return (await this.periodsRepo.periods(guildId, limit, beforeIndex)).map((p) => this.presentPeriod(p));
  }

  async findPeriod(guildId: string, periodIndex: number): Promise<AttendancePeriod> {
    const period = await this.periodsRepo.findPeriod(guildId, periodIndex);
    if (!period) throw notFound('period');
    return period;
  }

  /** The self-contained signed export of an archived period (checked by earshot-attendance-verify). */
  async exportPeriod(guildId: string, periodIndex: number) {
    const period = await this.findPeriod(guildId, periodIndex);
    const sessions = await this.sessionsRepo.periodSessions(guildId, periodIndex);
    if (!period.signedBytes || sessions.some((s) => s.signedBytes === null))
      throw conflict('This period still has unsigned records: unlock the signing key first.');
    const keys = (await this.signing.keyRing(guildId)).toJSON();
    if (!keys.active) throw conflict('This guild has no active signing key.');
    return buildPeriodExport({
      snapshot: {
        signedBytes: period.signedBytes,
        signature: period.signature!,
        keyId: period.keyId!,
        payloadHash: period.payloadHash!,
      },
      sessions: sessions.map((s) => ({
        signedBytes: s.signedBytes!,
        signature: s.signature!,
        keyId: s.keyId!,
        payloadHash: s.payloadHash!,
      })),
      keyId: keys.active.keyId,
      publicKey: keys.active.publicKey,
      retiredKeys: keys.retired,
    });
  }
}
