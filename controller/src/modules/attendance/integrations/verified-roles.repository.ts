/** Verified role rules and their grants (one per rule, member and period). Prisma only. */
import type { Db, Tx } from '../../../db/client.js';
import type { VerifiedRole, VerifiedRoleGrant } from '../../../db/rows.js';

export type { VerifiedRole, VerifiedRoleGrant };

export type GrantKey = { ruleId: string; userId: string; periodIndex: number };

export class VerifiedRolesRepository {
  constructor(private readonly db: Db) {}

  list(guildId: string, tx: Tx | Db = this.db): Promise<VerifiedRole[]> {
    return tx.verifiedRole.findMany({
      where: { guildId },
      orderBy: [{ thresholdSeconds: 'asc' }, { roleId: 'asc' }],
    });
  }

  find(guildId: string, id: string, tx: Tx | Db = this.db): Promise<VerifiedRole | null> {
    return tx.verifiedRole.findFirst({ where: { id, guildId } });
  }

  findByRole(guildId: string, roleId: string, tx: Tx | Db = this.db): Promise<VerifiedRole | null> {
    return tx.verifiedRole.findUnique({ where: { guildId_roleId: { guildId, roleId } } });
  }

  create(tx: Tx, data: { guildId: string; roleId: string; thresholdSeconds: number }): Promise<VerifiedRole> {
    return tx.verifiedRole.create({ data });
  }

  update(tx: Tx, id: string, thresholdSeconds: number): Promise<VerifiedRole> {
    return tx.verifiedRole.update({ where: { id }, data: { thresholdSeconds } });
  }

  async remove(tx: Tx, guildId: string, id: string): Promise<boolean> {
    return (await tx.verifiedRole.deleteMany({ where: { id, guildId } })).count > 0;
  }

  /** A member's stored active time in one period. */
  async activeMs(guildId: string, userId: string, periodIndex: number): Promise<number> {
    const result = await this.db.voiceSession.aggregate({
      where: { guildId, userId, periodIndex },
      _sum: { activeMs: true },
    });
    return Number(result._sum.activeMs ?? 0);
  }

  grants(guildId: string, userId: string, periodIndex: number): Promise<VerifiedRoleGrant[]> {
    return this.db.verifiedRoleGrant.findMany({ where: { guildId, userId, periodIndex } });
  }

  /** The first attempt: a new pending grant with attempts = 1 (a unique violation if one exists). */
  async insertPending(key: GrantKey & { guildId: string }): Promise<void> {
    await this.db.verifiedRoleGrant.create({ data: { ...key, status: 'pending', attempts: 1 } });
  }

  /**
   * A retry: claims attempt `attempts + 1` of a grant not yet granted, only if nobody
   * else did since it was read (compare-and-set on `attempts`).
   */
  async claimRetry(key: GrantKey, attempts: number): Promise<boolean> {
    const result = await this.db.verifiedRoleGrant.updateMany({
      where: { ...key, attempts, status: { not: 'granted' } },
      data: { attempts: attempts + 1, status: 'pending' },
    });
    return result.count === 1;
  }

  async finish(
    tx: Tx,
    key: GrantKey,
    outcome: { status: 'granted'; grantedAt: Date } | { status: 'failed'; lastError: string },
  ): Promise<void> {
    await tx.verifiedRoleGrant.updateMany({
      where: key,
      data:
        outcome.status === 'granted'
          ? { status: 'granted', grantedAt: outcome.grantedAt, lastError: null }
          : { status: 'failed', lastError: outcome.lastError },
    });
  }
}
