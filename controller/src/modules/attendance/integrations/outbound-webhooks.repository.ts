/**
 * Outbound webhook persistence: a guild's settings and sealed secret (columns of Guild)
 * and the delivery outbox (WebhookDelivery). Prisma only; the rules are in the service.
 */
import type { Db, Tx } from '../../../db/client.js';
import type { Prisma, WebhookDelivery } from '../../../db/rows.js';

export type { WebhookDelivery };

export interface GuildWebhookRow {
  id: string;
  planTier: string;
  webhookSettings: string | null;
  webhookSecret: string | null;
}

const guildWebhookFields = { id: true, planTier: true, webhookSettings: true, webhookSecret: true } as const;

export class OutboundWebhooksRepository {
  constructor(private readonly db: Db) {}

  guild(guildId: string, tx: Tx | Db = this.db): Promise<GuildWebhookRow | null> {
    return tx.guild.findUnique({ where: { id: guildId }, select: guildWebhookFields });
  }

  async saveSettings(
    tx: Tx,
    guildId: string,
    data: { webhookSettings: string | null; webhookSecret: string | null },
  ): Promise<void> {
    await tx.guild.update({ where: { id: guildId }, data });
  }

  async enqueue(tx: Tx, rows: Prisma.WebhookDeliveryUncheckedCreateInput[]): Promise<void> {
    if (rows.length > 0) await tx.webhookDelivery.createMany({ data: rows });
  }

  /** Pending deliveries due at `now`, oldest due first (candidates: each must still be claimed). */
  due(now: Date, limit: number): Promise<WebhookDelivery[]> {
    return this.db.webhookDelivery.findMany({
      where: { status: 'pending', nextAttemptAt: { lte: now } },
      orderBy: [{ nextAttemptAt: 'asc' }, { id: 'asc' }],
      take: limit,
    });
  }

  /**
   * Takes one attempt of a delivery, atomically: a compare-and-set on (status, attempts,
   * due time), so of several processes (replicas on one PostgreSQL) exactly one wins.
   * The winner pushes the due time past the attempt (`leaseUntil`): if it dies mid-send,
   * the delivery is due again then, and the attempt counts.
   */
  async claim(id: string, attempts: number, now: Date, leaseUntil: Date): Promise<boolean> {
    const result = await this.db.webhookDelivery.updateMany({
      where: { id, status: 'pending', attempts, nextAttemptAt: { lte: now } },
      data: { attempts: attempts + 1, nextAttemptAt: leaseUntil },
    });
    return result.count === 1;
  }

  /** Records an attempt's outcome, only while the claim is still ours (fenced on attempts). */
  async finish(
    tx: Tx | Db,
    id: string,
    attempts: number,
    data: Prisma.WebhookDeliveryUncheckedUpdateManyInput,
  ): Promise<boolean> {
    const result = await tx.webhookDelivery.updateMany({ where: { id, status: 'pending', attempts }, data });
    return result.count === 1;
  }

  /** Deletes settled (delivered or failed) deliveries created before `before`; pending ones stay. */
  async pruneSettled(before: Date): Promise<number> {
    const result = await this.db.webhookDelivery.deleteMany({
      where: { status: { in: ['delivered', 'failed'] }, createdAt: { lt: before } },
    });
    return result.count;
  }

  /** When the next pending delivery is due (for the sender's timer). */
  async nextDueAt(): Promise<Date | undefined> {
    const row = await this.db.webhookDelivery.findFirst({
      where: { status: 'pending' },
      orderBy: { nextAttemptAt: 'asc' },
      select: { nextAttemptAt: true },
    });
    return row?.nextAttemptAt;
  }

  /** Newest first; the cursor is the last row's (createdAt, id). */
  list(
    guildId: string,
    where: { status?: string },
    limit: number,
    after?: { createdAt: Date; id: string },
  ): Promise<WebhookDelivery[]> {
    return this.db.webhookDelivery.findMany({
      where: {
        guildId,
        ...where,
        ...(after
          ? {
              OR: [
                { createdAt: { lt: after.createdAt } },
                { createdAt: after.createdAt, id: { lt: after.id } },
              ],
            }
          : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
    });
  }
}
