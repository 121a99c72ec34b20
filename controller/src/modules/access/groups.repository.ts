/** Prisma queries for groups, their members and their grants. */
import type { Db, Tx } from '../../db/client.js';
import type { Prisma } from '../../db/rows.js';
import type { NewGrant } from './users.repository.js';

const DETAIL = {
  grants: { include: { role: true }, orderBy: { createdAt: 'asc' } },
  members: { include: { user: { select: { id: true, username: true, disabled: true } } } },
} satisfies Prisma.GroupInclude;

export type GroupRow = Prisma.GroupGetPayload<{ include: typeof DETAIL }>;

export class GroupsRepository {
  constructor(private readonly db: Db) {}

  /** Up to `limit` groups by name, after the group named `afterName`. */
  page(limit: number, afterName?: string): Promise<GroupRow[]> {
    return this.db.group.findMany({
      where: afterName === undefined ? {} : { name: { gt: afterName } },
      include: DETAIL,
      orderBy: { name: 'asc' },
      take: limit,
    });
  }

  find(tx: Tx | Db, id: string): Promise<GroupRow | null> {
    return tx.group.findUnique({ where: { id }, include: DETAIL });
  }

  findMany(tx: Tx | Db, ids: string[]): Promise<GroupRow[]> {
    return tx.group.findMany({ where: { id: { in: ids } }, include: DETAIL });
  }

  /** Another group already using the name or the IdP group value. */
  async clash(
    tx: Tx,
    input: { name?: string; oidcGroup?: string | null },
    exceptId?: string,
  ): Promise<'name' | 'oidcGroup' | undefined> {
    const not = exceptId ? { id: { not: exceptId } } : {};
    if (input.name && (await tx.group.count({ where: { name: input.name, ...not } })) > 0) return 'name';
    if (input.oidcGroup && (await tx.group.count({ where: { oidcGroup: input.oidcGroup, ...not } })) > 0)
      return 'oidcGroup';
    return undefined;
  }

  create(
    tx: Tx,
    data: { name: string; description: string | null; oidcGroup: string | null; grants: NewGrant[] },
  ): Promise<{ id: string }> {
    const { grants, ...group } = data;
    return tx.group.create({ data: { ...group, grants: { create: grants } }, select: { id: true } });
  }

  async update(
    tx: Tx,
    id: string,
    data: { name?: string; description?: string | null; oidcGroup?: string | null },
  ): Promise<void> {
    await tx.group.update({ where: { id }, data });
  }

  async replaceGrants(tx: Tx, groupId: string, grants: NewGrant[]): Promise<void> {
    await tx.groupGrant.deleteMany({ where: { groupId } });
    if (grants.length > 0) await tx.groupGrant.createMany({ data: grants.map((g) => ({ ...g, groupId })) });
  }

  async delete(tx: Tx, id: string): Promise<void> {
    await tx.group.delete({ where: { id } });
  }

  async addMember(tx: Tx, groupId: string, userId: string): Promise<boolean> {
    const exists = await tx.groupMember.count({ where: { groupId, userId } });
    if (exists > 0) return false;
    await tx.groupMember.create({ data: { groupId, userId } });
    return true;
  }

  async removeMember(tx: Tx, groupId: string, userId: string): Promise<boolean> {
    const { count } = await tx.groupMember.deleteMany({ where: { groupId, userId } });
    return count > 0;
  }
}
