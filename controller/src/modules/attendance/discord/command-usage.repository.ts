/** How often each slash command was used in a guild, and when last. Prisma only. */
import type { Db } from '../../../db/client.js';

export class CommandUsageRepository {
  constructor(private readonly db: Db) {}

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
}
