/**
 * Voice sessions: the completed ones (stored per period, pending until signed) and the open
 * ones (the tracker's snapshot). Prisma only; rules live in the services.
 */
import type { Db, Tx } from '../../../db/client.js';
import type { Prisma, VoiceSession as VoiceSessionRecord } from '../../../db/rows.js';

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

/** The signature columns of a stored record (a session here, an archived period in periods/). */
export interface SignatureFields {
  signedBytes: string;
  signature: string;
  keyId: string;
  payloadHash: string;
}

export class SessionsRepository {
  constructor(private readonly db: Db) {}

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

  /** Completed sessions in one channel that overlap [from, to) at all, by start. */
  async channelSessionsOverlapping(
    guildId: string,
    channelId: string,
    window: { from: Date; to: Date },
    limit: number,
  ): Promise<VoiceSession[]> {
    const rows = await this.db.voiceSession.findMany({
      where: { guildId, channelId, startedAt: { lt: window.to }, endedAt: { gt: window.from } },
      orderBy: [{ startedAt: 'asc' }, { id: 'asc' }],
      take: limit,
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
}
