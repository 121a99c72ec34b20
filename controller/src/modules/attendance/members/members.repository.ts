/** The names members were last seen under, per guild. Prisma only. */
import type { Db, Tx } from '../../../db/client.js';

export interface MemberName {
  userId: string;
  displayName: string;
  seenAt: Date;
}

export class MembersRepository {
  constructor(private readonly db: Db) {}

  /** Each member's name as seen at `at`, created or replaced, in one transaction. */
  async saveNames(
    guildId: string,
    names: readonly { userId: string; displayName: string }[],
    at: Date,
  ): Promise<void> {
    await this.db.$transaction((tx) => this.saveNamesIn(tx, guildId, names, at));
  }

  /** `saveNames` within the caller's transaction. */
  async saveNamesIn(
    tx: Tx,
    guildId: string,
    names: readonly { userId: string; displayName: string }[],
    at: Date,
  ): Promise<void> {
    for (const { userId, displayName } of names)
      await tx.guildMember.upsert({
        where: { guildId_userId: { guildId, userId } },
        create: { guildId, userId, displayName, seenAt: at },
        update: { displayName, seenAt: at },
      });
  }

  /** The members named `userIds` (those seen), or without ids the guild's first `limit` by name. */
  find(guildId: string, query: { userIds?: readonly string[]; limit: number }): Promise<MemberName[]> {
    return this.db.guildMember.findMany({
      where: { guildId, ...(query.userIds ? { userId: { in: [...query.userIds] } } : {}) },
      select: { userId: true, displayName: true, seenAt: true },
      orderBy: [{ displayName: 'asc' }, { userId: 'asc' }],
      take: query.limit,
    });
  }
}
