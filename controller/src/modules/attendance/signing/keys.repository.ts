/** Guild signing keys: the active one and the retired ones, still published. Prisma only. */
import type { Db, Tx } from '../../../db/client.js';
import type { GuildKey, Prisma } from '../../../db/rows.js';

export type { GuildKey };

export class KeysRepository {
  constructor(private readonly db: Db) {}

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
}
