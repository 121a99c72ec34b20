import { olderThan, type PagePosition } from '../../../core/page-position.js';
import type { Db, Tx } from '../../../db/client.js';
import type { ApiToken, Session, User } from '../../../db/rows.js';

export class SessionsRepository {
  constructor(private readonly db: Db) {}

  create(
    tx: Tx,
    data: Pick<
      Session,
      | 'tokenHash'
      | 'csrfToken'
      | 'userId'
      | 'createdAt'
      | 'lastSeenAt'
      | 'idleExpiresAt'
      | 'absoluteExpiresAt'
      | 'sourceIp'
      | 'userAgent'
    >,
  ): Promise<Session> {
    return tx.session.create({ data });
  }

  findActive(tokenHash: string, now: Date): Promise<(Session & { user: User }) | null> {
    return this.db.session.findFirst({
      where: { tokenHash, revokedAt: null, idleExpiresAt: { gt: now }, absoluteExpiresAt: { gt: now } },
      include: { user: true },
    });
  }

  async touch(id: string, now: Date, idleExpiresAt: Date): Promise<void> {
    await this.db.session.update({ where: { id }, data: { lastSeenAt: now, idleExpiresAt } });
  }

  find(id: string): Promise<Session | null> {
    return this.db.session.findUnique({ where: { id } });
  }

  /** Revokes one session; returns 1 when it was live, 0 when it was already revoked. */
  async revoke(tx: Tx, id: string, now: Date): Promise<number> {
    const { count } = await tx.session.updateMany({
      where: { id, revokedAt: null },
      data: { revokedAt: now },
    });
    return count;
  }

  /** Revokes every live session of the user, except `keepSessionId` when given; returns how many. */
  async revokeAllOfUser(tx: Tx, userId: string, now: Date, keepSessionId?: string): Promise<number> {
    const result = await tx.session.updateMany({
      where: { userId, revokedAt: null, ...(keepSessionId ? { id: { not: keepSessionId } } : {}) },
      data: { revokedAt: now },
    });
    return result.count;
  }
}

export class ApiTokensRepository {
  constructor(private readonly db: Db) {}

  create(
    tx: Tx,
    data: Pick<ApiToken, 'userId' | 'name' | 'tokenHash' | 'hint' | 'expiresAt'>,
  ): Promise<ApiToken> {
    return tx.apiToken.create({ data });
  }

  findActive(tokenHash: string, now: Date): Promise<(ApiToken & { user: User }) | null> {
    return this.db.apiToken.findFirst({
      where: { tokenHash, revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
      include: { user: true },
    });
  }

  /** A page of the user's tokens (revoked and expired ones too), newest first. */
  pageOfUser(userId: string, limit: number, after?: PagePosition): Promise<ApiToken[]> {
    return this.db.apiToken.findMany({
      where: { userId, ...olderThan(after) },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
    });
  }

  find(id: string): Promise<ApiToken | null> {
    return this.db.apiToken.findUnique({ where: { id } });
  }

  async markUsed(id: string, now: Date): Promise<void> {
    await this.db.apiToken.update({ where: { id }, data: { lastUsedAt: now } });
  }

  async revoke(tx: Tx, id: string, now: Date): Promise<void> {
    await tx.apiToken.update({ where: { id }, data: { revokedAt: now } });
  }

  /** Revokes every live token of a user; returns how many were live. */
  async revokeAllOfUser(tx: Tx, userId: string, now: Date): Promise<number> {
    const result = await tx.apiToken.updateMany({
      where: { userId, revokedAt: null },
      data: { revokedAt: now },
    });
    return result.count;
  }
}
