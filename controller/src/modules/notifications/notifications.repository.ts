/**
 * Notification integrations in the database (the only place this module calls Prisma): the
 * integrations, their outbox / delivery log, and the quiet period's memory per condition.
 */

import { olderThan, type PagePosition } from '../../core/page-position.js';
import type { Db, Tx } from '../../db/client.js';
import type {
  NotificationCondition,
  NotificationDelivery,
  NotificationIntegration,
  Prisma,
} from '../../db/rows.js';

export type { NotificationCondition, NotificationDelivery, NotificationIntegration };

const NEWEST_FIRST = [{ createdAt: 'desc' }, { id: 'desc' }] as const;

export class NotificationsRepository {
  constructor(private readonly db: Db) {}

  find(id: string, tx: Tx | Db = this.db): Promise<NotificationIntegration | null> {
    return tx.notificationIntegration.findUnique({ where: { id } });
  }

  findByName(name: string, tx: Tx | Db = this.db): Promise<NotificationIntegration | null> {
    return tx.notificationIntegration.findUnique({ where: { name } });
  }

  list(limit: number, after?: PagePosition): Promise<NotificationIntegration[]> {
    return this.db.notificationIntegration.findMany({
      where: olderThan(after),
      orderBy: [...NEWEST_FIRST],
      take: limit,
    });
  }

  enabled(): Promise<NotificationIntegration[]> {
    return this.db.notificationIntegration.findMany({ where: { status: 'enabled' } });
  }

  create(tx: Tx, data: Prisma.NotificationIntegrationUncheckedCreateInput): Promise<NotificationIntegration> {
    return tx.notificationIntegration.create({ data });
  }

  update(
    tx: Tx | Db,
    id: string,
    data: Prisma.NotificationIntegrationUncheckedUpdateInput,
  ): Promise<NotificationIntegration> {
    return tx.notificationIntegration.update({ where: { id }, data });
  }

  async delete(tx: Tx, id: string): Promise<void> {
    await tx.notificationIntegration.delete({ where: { id } });
  }

  condition(tx: Tx, integrationId: string, key: string): Promise<NotificationCondition | null> {
    return tx.notificationCondition.findUnique({ where: { integrationId_key: { integrationId, key } } });
  }

  async saveCondition(tx: Tx, row: NotificationCondition): Promise<void> {
    const { integrationId, key, ...data } = row;
    await tx.notificationCondition.upsert({
      where: { integrationId_key: { integrationId, key } },
      create: row,
      update: data,
    });
  }

  /**
   * Cancels a message not yet tried that was not due at `at` (a resolution a reopening overtook);
   * false when too late (claimed or sent: a claim counts an attempt).
   */
  async cancelUnsent(tx: Tx, id: string, at: Date): Promise<boolean> {
    const { count } = await tx.notificationDelivery.deleteMany({
      where: { id, status: 'pending', attempts: 0, nextAttemptAt: { gt: at } },
    });
    return count === 1;
  }

  async enqueue(tx: Tx | Db, rows: Prisma.NotificationDeliveryUncheckedCreateInput[]): Promise<void> {
    if (rows.length > 0) await tx.notificationDelivery.createMany({ data: rows });
  }

  /** Pending deliveries due at `now`, oldest due first (candidates: each must still be claimed). */
  due(now: Date, limit: number): Promise<NotificationDelivery[]> {
    return this.db.notificationDelivery.findMany({
      where: { status: 'pending', nextAttemptAt: { lte: now } },
      orderBy: [{ nextAttemptAt: 'asc' }, { id: 'asc' }],
      take: limit,
    });
  }

  /**
   * Takes one attempt of a delivery, atomically: a compare-and-set on (status, attempts, due
   * time), so of several replicas exactly one wins; the winner pushes the due time past the
   * attempt (`leaseUntil`), so a delivery whose sender died is due again then.
   */
  async claim(id: string, attempts: number, now: Date, leaseUntil: Date): Promise<boolean> {
    const result = await this.db.notificationDelivery.updateMany({
      where: { id, status: 'pending', attempts, nextAttemptAt: { lte: now } },
      data: { attempts: attempts + 1, nextAttemptAt: leaseUntil },
    });
    return result.count === 1;
  }

  /** Records an attempt's outcome, only while the claim is still ours (fenced on attempts). */
  async finish(
    id: string,
    attempts: number,
    data: Prisma.NotificationDeliveryUncheckedUpdateManyInput,
    tx: Tx | Db = this.db,
  ) {
    const result = await tx.notificationDelivery.updateMany({
      where: { id, status: 'pending', attempts },
      data,
    });
    return result.count === 1;
  }

  async pruneSettled(before: Date): Promise<number> {
    const result = await this.db.notificationDelivery.deleteMany({
      where: { status: { in: ['delivered', 'failed'] }, createdAt: { lt: before } },
    });
    return result.count;
  }

  async nextDueAt(): Promise<Date | undefined> {
    const row = await this.db.notificationDelivery.findFirst({
      where: { status: 'pending' },
      orderBy: { nextAttemptAt: 'asc' },
      select: { nextAttemptAt: true },
    });
    return row?.nextAttemptAt;
  }

  deliveries(
    integrationId: string,
    status: string | undefined,
    limit: number,
    after?: PagePosition,
  ): Promise<NotificationDelivery[]> {
    return this.db.notificationDelivery.findMany({
      where: { integrationId, ...(status ? { status } : {}), ...olderThan(after) },
      orderBy: [...NEWEST_FIRST],
      take: limit,
    });
  }
}
