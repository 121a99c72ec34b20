/**
 * Attendance periods (SPEC §5): the reset schedule, "reset now" and scheduled resets.
 * A reset closes every open session (reason `reset`), stores them in the ending
 * period, archives a signed snapshot of its leaderboard (unsigned while the key is
 * locked, signed on unlock), moves the guild to the next period and reopens sessions
 * for the members still present.
 */
import type { Db } from '../../db/client.js';
import { badRequest, conflict, notFound } from '../../http/errors.js';
import { actorOf, type CallContext } from '../../http/principal.js';
import type { AuditService } from '../audit/audit.service.js';
import type { Actor, RequestContext } from '../audit/audit.types.js';
import type { AttendancePeriod, AttendanceRepository, GuildRow } from './attendance.repository.js';
import type { ResetScheduleInput } from './attendance.schemas.js';
import type { GuildLocks } from './guild-locks.js';
import { PeriodCalendar, type ResetSchedule } from './periods/reset-schedule.js';
import { periodSnapshotOf } from './session-receipts.js';
import type { AttendanceService } from './sessions.service.js';
import { buildPeriodExport } from './signing/period-export.js';
import { preparePayload } from './signing/records.js';
import type { AttendanceSigningService } from './signing.service.js';

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

export class AttendancePeriodsService {
  constructor(
    private readonly db: Db,
    private readonly repo: AttendanceRepository,
    private readonly sessions: AttendanceService,
    private readonly signing: AttendanceSigningService,
    private readonly audit: AuditService,
    private readonly locks: GuildLocks,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async setSchedule(guild: GuildRow, input: ResetScheduleInput, ctx: CallContext) {
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
      const after = await this.repo.updateGuild(tx, guild.id, {
        resetSchedule: schedule.kind === 'manual' ? null : JSON.stringify(schedule),
        ...(schedule.kind === 'calendar' ? { timeZone: schedule.timeZone } : {}),
      });
      await this.audit.record(tx, {
        actor: actorOf(ctx.principal),
        permission: 'attendance:manage',
        action: 'attendance.reset_schedule.update',
        target: { type: 'guild', id: guild.id },
        outcome: 'success',
        before: scheduleOf(guild),
        after: schedule,
        context: ctx.request,
      });
      return after;
    });
    return { schedule, next_reset_at: nextResetAt(updated)?.toISOString() ?? null };
  }

  resetNow(guild: GuildRow, ctx: CallContext) {
    return this.reset(guild.id, actorOf(ctx.principal), ctx.request, 'attendance.period.reset');
  }

  /** Runs every scheduled reset that is due (the scheduler's tick). */
  async runDueResets(): Promise<number> {
    const now = this.now();
    let done = 0;
    for (const guild of await this.repo.guildsWithSchedule()) {
      const due = nextResetAt(guild);
      if (due && due <= now) {
        await this.reset(guild.id, SCHEDULER_ACTOR, undefined, 'attendance.period.scheduled_reset');
        done++;
      }
    }
    return done;
  }

  private reset(guildId: string, actor: Actor, context: RequestContext | undefined, action: string) {
    return this.locks.run(guildId, async () => {
      const at = this.now();
      const nowMs = at.getTime();
      const closed = this.sessions.closeForReset(guildId, nowMs);
      const archived = await this.db.$transaction(async (tx) => {
        const guild = await this.repo.findGuild(guildId, tx);
        if (!guild) throw notFound('guild');
        await this.sessions.storeInTx(tx, guildId, closed, { actor, context });
        const periodSessions = await this.repo.periodSessions(guildId, guild.periodIndex, tx);
        const payload = periodSnapshotOf({
          guildId,
          periodIndex: guild.periodIndex,
          startedAt: guild.periodStartedAt,
          endedAt: at,
          sessions: periodSessions,
        });
        const prepared = preparePayload(payload);
        const signed = await this.signing.signNow(guildId, payload);
        if (!(await this.repo.advancePeriod(tx, guildId, guild.periodIndex, at)))
          throw conflict('The period was reset concurrently; try again.');
        await this.repo.createPeriod(tx, {
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
          actor,
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
          context,
        });
        return {
          periodIndex: guild.periodIndex,
          sessions: periodSessions.length,
          signed: signed !== undefined,
        };
      });
      const reopened = this.sessions.reopenAfterReset(guildId, nowMs);
      return {
        archived_period_index: archived.periodIndex,
        period_index: archived.periodIndex + 1,
        sessions: archived.sessions,
        signed: archived.signed,
        reopened_sessions: reopened,
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
    return (await this.repo.periods(guildId, limit, beforeIndex)).map((p) => this.presentPeriod(p));
  }

  async findPeriod(guildId: string, periodIndex: number): Promise<AttendancePeriod> {
    const period = await this.repo.findPeriod(guildId, periodIndex);
    if (!period) throw notFound('period');
    return period;
  }

  /** The self-contained signed export of an archived period (SPEC §5). */
  async exportPeriod(guildId: string, periodIndex: number) {
    const period = await this.findPeriod(guildId, periodIndex);
    const sessions = await this.repo.periodSessions(guildId, periodIndex);
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
