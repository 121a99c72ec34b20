/**
 * Attendance persistence: guilds and their settings, completed and open voice
 * sessions, guild keys and archived periods. Prisma only; rules live in the services.
 */
import type { Db, Tx } from '../../../db/client.js';
import type {
  AttendancePeriod,
  Guild,
  GuildKey,
  Prisma,
  TrackedChannel,
  VoiceSession as VoiceSessionRecord,
} from '../../../db/rows.js';

export type GuildRow = Guild & { trackedChannels: TrackedChannel[] };
export type { AttendancePeriod, GuildKey };

/**
 * A stored session with its durations as numbers: the columns are BIGINT (a stay can
 * outlast 2^31 ms), but no duration comes near 2^53 ms, so a number holds it exactly.
 */
export type VoiceSession = Omit<VoiceSessionRecord, 'activeMs' | 'pausedMs' | 'outageMs'> & {
  activeMs: number;
  pausedMs: number;
  outageMs: number;
};

export function sessionOf(row: VoiceSessionRecord): VoiceSession {
  return {
    ...row,
    activeMs: Number(row.activeMs),
    pausedMs: Number(row.pausedMs),
    outageMs: Number(row.outageMs),
  };
}

export interface SignatureFields {
  signedBytes: string;
  signature: string;
  keyId: string;
  payloadHash: string;
}

export class AttendanceRepository {
  constructor(private readonly db: Db) {}

  findGuild(guildId: string, tx: Tx | Db = this.db): Promise<GuildRow | null> {
    return tx.guild.findUnique({ where: { id: guildId }, include: { trackedChannels: true } });
  }

  guildsWithSchedule(): Promise<Guild[]> {
    return this.db.guild.findMany({ where: { resetSchedule: { not: null } } });
  }

  createGuild(tx: Tx, data: Prisma.GuildUncheckedCreateInput): Promise<Guild> {
    return tx.guild.create({ data });
  }

  updateGuild(tx: Tx, guildId: string, data: Prisma.GuildUncheckedUpdateInput): Promise<Guild> {
    return tx.guild.update({ where: { id: guildId }, data });
  }

  /** Moves the guild to the next period only if it is still in `fromIndex` (fencing). */
  async advancePeriod(tx: Tx, guildId: string, fromIndex: number, startedAt: Date): Promise<boolean> {
    const result = await tx.guild.updateMany({
      where: { id: guildId, periodIndex: fromIndex },
      data: { periodIndex: fromIndex + 1, periodStartedAt: startedAt },
    });
    return result.count === 1;
  }

  addTrackedChannel(tx: Tx, guildId: string, channelId: string): Promise<TrackedChannel> {
    return tx.trackedChannel.upsert({
      where: { guildId_channelId: { guildId, channelId } },
      create: { guildId, channelId },
      update: {},
    });
  }

  async removeTrackedChannel(tx: Tx, guildId: string, channelId: string): Promise<boolean> {
    const result = await tx.trackedChannel.deleteMany({ where: { guildId, channelId } });
    return result.count > 0;
  }

  // Slash command usage

  async recordCommandUsage(guildId: string, command: string, at: Date): Promise<void> {
    const upsert = () =>
      this.db.commandUsage.upsert({
        where: { guildId_command: { guildId, command } },
        create: { guildId, command, count: 1, lastAt: at },
        update: { count: { increment: 1 }, lastAt: at },
      });
    // Two first uses at once both try to create; the loser's retry increments.
    await upsert().catch(upsert);
  }

  commandUsage(guildId: string): Promise<{ command: string; count: number; lastAt: Date }[]> {
    return this.db.commandUsage.findMany({
      where: { guildId },
      select: { command: true, count: true, lastAt: true },
      orderBy: { command: 'asc' },
    });
  }

  // Completed sessions

  async existingSessionIds(tx: Tx, ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await tx.voiceSession.findMany({ where: { id: { in: ids } }, select: { id: true } });
    return new Set(rows.map((r) => r.id));
  }

  async insertSessions(tx: Tx, rows: Prisma.VoiceSessionUncheckedCreateInput[]): Promise<void> {
    if (rows.length > 0) await tx.voiceSession.createMany({ data: rows });
  }

  async findSession(sessionId: string): Promise<VoiceSession | null> {
    const row = await this.db.voiceSession.findUnique({ where: { id: sessionId } });
    return row && sessionOf(row);
  }

  async periodSessions(guildId: string, periodIndex: number, tx: Tx | Db = this.db): Promise<VoiceSession[]> {
    const rows = await tx.voiceSession.findMany({
      where: { guildId, periodIndex },
      orderBy: [{ startedAt: 'asc' }, { id: 'asc' }],
    });
    return rows.map(sessionOf);
  }

  async pendingSessions(guildId: string, limit: number): Promise<VoiceSession[]> {
    const rows = await this.db.voiceSession.findMany({
      where: { guildId, signedAt: null },
      orderBy: [{ startedAt: 'asc' }, { id: 'asc' }],
      take: limit,
    });
    return rows.map(sessionOf);
  }

  countPendingSessions(guildId: string): Promise<number> {
    return this.db.voiceSession.count({ where: { guildId, signedAt: null } });
  }

  async signSession(tx: Tx, sessionId: string, fields: SignatureFields, signedAt: Date): Promise<void> {
    // Only a still-unsigned row: a record is signed once.
    await tx.voiceSession.updateMany({
      where: { id: sessionId, signedAt: null },
      data: { ...fields, signedAt },
    });
  }

  // Open sessions (tracker snapshot)

  openSessionStates(): Promise<{ guildId: string; userId: string; state: string }[]> {
    return this.db.openVoiceSession.findMany({ select: { guildId: true, userId: true, state: true } });
  }

  async replaceOpenSessions(rows: { guildId: string; userId: string; state: string }[]): Promise<void> {
    await this.db.$transaction(async (tx) => {
      await tx.openVoiceSession.deleteMany({});
      if (rows.length > 0) await tx.openVoiceSession.createMany({ data: rows });
    });
  }

  async forgetOpenSessions(tx: Tx, members: { guildId: string; userId: string }[]): Promise<void> {
    if (members.length > 0) await tx.openVoiceSession.deleteMany({ where: { OR: members } });
  }

  // Keys

  guildKeys(guildId: string, tx: Tx | Db = this.db): Promise<GuildKey[]> {
    return tx.guildKey.findMany({ where: { guildId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  }

  activeKey(guildId: string, tx: Tx | Db = this.db): Promise<GuildKey | null> {
    return tx.guildKey.findFirst({ where: { guildId, active: true }, orderBy: { createdAt: 'desc' } });
  }

  async retireKeys(tx: Tx, guildId: string, retiredAt: Date): Promise<number> {
    const result = await tx.guildKey.updateMany({
      where: { guildId, active: true },
      data: { active: false, retiredAt },
    });
    return result.count;
  }

  createKey(tx: Tx, data: Prisma.GuildKeyUncheckedCreateInput): Promise<GuildKey> {
    return tx.guildKey.create({ data });
  }

  // Archived periods

  createPeriod(tx: Tx, data: Prisma.AttendancePeriodUncheckedCreateInput): Promise<AttendancePeriod> {
    return tx.attendancePeriod.create({ data });
  }

  findPeriod(guildId: string, periodIndex: number): Promise<AttendancePeriod | null> {
    return this.db.attendancePeriod.findUnique({ where: { guildId_periodIndex: { guildId, periodIndex } } });
  }

  periods(guildId: string, limit: number, beforeIndex?: number): Promise<AttendancePeriod[]> {
    return this.db.attendancePeriod.findMany({
      where: { guildId, ...(beforeIndex === undefined ? {} : { periodIndex: { lt: beforeIndex } }) },
      orderBy: { periodIndex: 'desc' },
      take: limit,
    });
  }

  pendingPeriods(guildId: string): Promise<AttendancePeriod[]> {
    return this.db.attendancePeriod.findMany({
      where: { guildId, signedBytes: null },
      orderBy: { periodIndex: 'asc' },
    });
  }

  async signPeriod(tx: Tx, guildId: string, periodIndex: number, fields: SignatureFields): Promise<void> {
    await tx.attendancePeriod.updateMany({
      where: { guildId, periodIndex, signedBytes: null },
      data: fields,
    });
  }
}
