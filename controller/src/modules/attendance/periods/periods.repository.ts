/** Archived periods: each period's snapshot, pending until signed. Prisma only. */
import type { Db, Tx } from '../../../db/client.js';
import type { AttendancePeriod, Prisma } from '../../../db/rows.js';
import type { SignatureFields } from '../tracking/sessions.repository.js';

export type { AttendancePeriod };

export class PeriodsRepository {
  constructor(private readonly db: Db) {}

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
