/** Prisma queries for managing user accounts (sign-in lookups stay in auth/users.repository.ts). */
import type { Db, Tx } from '../../db/client.js';
import type { Prisma } from '../../db/rows.js';
import { usernameTaken } from './usernames.repository.js';

const DETAIL = {
  grants: { include: { role: true }, orderBy: { createdAt: 'asc' } },
  groups: { include: { group: { include: { grants: { include: { role: true } } } } } },
} satisfies Prisma.UserInclude;

export type UserDetailRow = Prisma.UserGetPayload<{ include: typeof DETAIL }>;

export interface NewGrant {
  roleId: string;
  scopeType: string;
  scopeId: string | null;
}

export class UserAdminRepository {
  constructor(private readonly db: Db) {}

  page(
    filter: { ids?: string[]; q?: string; disabled?: boolean },
    limit: number,
    afterUsername?: string,
  ): Promise<UserDetailRow[]> {
    return this.db.user.findMany({
      where: {
        AND: [
          filter.ids ? { id: { in: filter.ids } } : {},
          filter.q ? { username: { contains: filter.q } } : {},
          filter.disabled !== undefined ? { disabled: filter.disabled } : {},
          afterUsername !== undefined ? { username: { gt: afterUsername } } : {},
        ],
      },
      include: DETAIL,
      orderBy: { username: 'asc' },
      take: limit,
    });
  }

  find(tx: Tx | Db, id: string): Promise<UserDetailRow | null> {
    return tx.user.findUnique({ where: { id }, include: DETAIL });
  }

  usernameTaken(tx: Tx | Db, username: string): Promise<boolean> {
    return usernameTaken(tx, username);
  }

  create(
    tx: Tx,
    data: { username: string; displayName: string; email: string | null; passwordHash: string | null },
  ): Promise<{ id: string }> {
    return tx.user.create({ data, select: { id: true } });
  }

  async replaceGrants(tx: Tx, userId: string, grants: NewGrant[]): Promise<void> {
    await tx.grant.deleteMany({ where: { userId } });
    if (grants.length > 0) await tx.grant.createMany({ data: grants.map((g) => ({ ...g, userId })) });
  }

  async replaceGroups(tx: Tx, userId: string, groupIds: string[]): Promise<void> {
    await tx.groupMember.deleteMany({ where: { userId } });
    if (groupIds.length > 0)
      await tx.groupMember.createMany({ data: groupIds.map((groupId) => ({ groupId, userId })) });
  }

  async setPasswordHash(tx: Tx, id: string, passwordHash: string | null): Promise<void> {
    await tx.user.update({ where: { id }, data: { passwordHash } });
  }

  async setDisabled(tx: Tx, id: string, disabled: boolean): Promise<void> {
    await tx.user.update({ where: { id }, data: { disabled } });
  }

  async delete(tx: Tx, id: string): Promise<void> {
    await tx.user.delete({ where: { id } });
  }
}
