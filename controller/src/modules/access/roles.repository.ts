/** Prisma queries for roles (built-in and custom). */
import type { Db, Tx } from '../../db/client.js';
import type { Role } from '../../db/rows.js';

/** Where a page of roles ended. */
export type RolePosition = Pick<Role, 'builtIn' | 'name'>;

export class RolesRepository {
  constructor(private readonly db: Db) {}

  /** A page of the roles: built-in first, then custom, each by name; after the role at `after`. */
  page(limit: number, after?: RolePosition): Promise<Role[]> {
    const where =
      after === undefined
        ? {}
        : after.builtIn
          ? { OR: [{ builtIn: true, name: { gt: after.name } }, { builtIn: false }] }
          : { builtIn: false, name: { gt: after.name } };
    return this.db.role.findMany({ where, orderBy: [{ builtIn: 'desc' }, { name: 'asc' }], take: limit });
  }

  find(tx: Tx | Db, id: string): Promise<Role | null> {
    return tx.role.findUnique({ where: { id } });
  }

  async nameTaken(tx: Tx, name: string): Promise<boolean> {
    return (await tx.role.count({ where: { name } })) > 0;
  }

  create(tx: Tx, data: { name: string; description: string | null; permissions: string }): Promise<Role> {
    return tx.role.create({ data: { ...data, builtIn: false } });
  }

  update(tx: Tx, id: string, data: { description?: string | null; permissions?: string }): Promise<Role> {
    return tx.role.update({ where: { id }, data });
  }

  async delete(tx: Tx, id: string): Promise<void> {
    await tx.role.delete({ where: { id } });
  }
}
