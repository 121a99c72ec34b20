/** Log destinations: the Discord channels a guild's attendance is posted to. Prisma only. */
import type { Db, Tx } from '../../../db/client.js';
import type { LogDestination } from '../../../db/rows.js';

export type { LogDestination };

export class LogDestinationsRepository {
  constructor(private readonly db: Db) {}

  list(guildId: string, tx: Tx | Db = this.db): Promise<LogDestination[]> {
    return tx.logDestination.findMany({ where: { guildId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  }

  /** A destination of this guild; null for an unknown id or another guild's destination. */
  find(guildId: string, id: string, tx: Tx | Db = this.db): Promise<LogDestination | null> {
    return tx.logDestination.findFirst({ where: { id, guildId } });
  }

  findByChannel(guildId: string, channelId: string, tx: Tx | Db = this.db): Promise<LogDestination | null> {
    return tx.logDestination.findUnique({ where: { guildId_channelId: { guildId, channelId } } });
  }

  create(
    tx: Tx,
    data: {
      guildId: string;
      channelId: string;
      logTypes: string;
      frequency: string;
      lastSummaryAt: Date | null;
    },
  ): Promise<LogDestination> {
    return tx.logDestination.create({ data });
  }

  update(
    tx: Tx,
    id: string,
    data: { logTypes?: string; frequency?: string; lastSummaryAt?: Date | null },
  ): Promise<LogDestination> {
    return tx.logDestination.update({ where: { id }, data });
  }

  async remove(tx: Tx, guildId: string, id: string): Promise<boolean> {
    return (await tx.logDestination.deleteMany({ where: { id, guildId } })).count > 0;
  }

  /** Destinations with a periodic summary (the scheduler's pass), with their guild's time zone. */
  withSummaries(): Promise<(LogDestination & { guild: { timeZone: string } })[]> {
    return this.db.logDestination.findMany({
      where: { frequency: { not: 'off' } },
      include: { guild: { select: { timeZone: true } } },
    });
  }

  /**
   * Claims one summary: moves `lastSummaryAt` from what the caller read to `at`. Only one
   * caller wins (a second replica, or an overlapping pass), so a summary is posted once.
   */
  async claimSummary(id: string, seen: Date | null, at: Date): Promise<boolean> {
    const result = await this.db.logDestination.updateMany({
      where: { id, lastSummaryAt: seen },
      data: { lastSummaryAt: at },
    });
    return result.count === 1;
  }
}
