/**
 * Guilds: their rows, tracking settings and tracked channels, and the period they are in.
 * Prisma only; rules live in the services.
 */
import type { ScopeFilter } from '../../../core/access-set.js';
import type { Db, Tx } from '../../../db/client.js';
import type { Guild, Prisma, TrackedChannel } from '../../../db/rows.js';

export type GuildRow = Guild & { trackedChannels: TrackedChannel[] };

export class GuildsRepository {
  constructor(private readonly db: Db) {}

  findGuild(guildId: string, tx: Tx | Db = this.db): Promise<GuildRow | null> {
    return tx.guild.findUnique({ where: { id: guildId }, include: { trackedChannels: true } });
  }

  /** Guilds within `filter` (its guild grants), by id, after `afterId`. */
  listGuilds(filter: ScopeFilter, limit: number, afterId?: string): Promise<GuildRow[]> {
    return this.db.guild.findMany({
      where: {
        AND: [
          filter.all ? {} : { id: { in: filter.guildIds } },
          afterId === undefined ? {} : { id: { gt: afterId } },
        ],
      },
      orderBy: { id: 'asc' },
      take: limit,
      include: { trackedChannels: true },
    });
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
}
