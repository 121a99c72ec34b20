/** Prisma queries for roles (built-in and custom). */
import type { Db, Tx } from '../../db/client.js';
import type { Role } from '../../db/rows.js';

export class RolesRepository {
  constructor(private readonly db: Db) {}

  list(): Promise<Role[]> {
    return this.db.role.findMany({ orderBy: [{ builtIn: 'desc' }, { name: 'asc' }] });
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
