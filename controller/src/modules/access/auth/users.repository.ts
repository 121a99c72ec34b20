import { BUILT_IN_ROLES, isPermission, type ScopeType } from '../../../../../shared/src/permissions.js';
import type { ResolvedGrant } from '../../../core/access-set.js';
import type { Db, Provider, Tx } from '../../../db/client.js';
import type { User } from '../../../db/rows.js';
import { userForSignIn } from '../usernames.repository.js';

const SETUP_LOCK_ID = 7_420_003;

export class UsersRepository {
  constructor(
    private readonly db: Db,
    private readonly provider: Provider,
  ) {}

  async lockSetup(tx: Tx): Promise<void> {
    if (this.provider === 'postgresql')
      await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${SETUP_LOCK_ID})`);
  }

  count(tx: Tx | Db = this.db): Promise<number> {
    return tx.user.count();
  }

  /** The user signing in as `username` (its exact spelling, else the one it names in another case). */
  findByUsername(username: string): Promise<User | null> {
    return userForSignIn(this.db, username);
  }

  findById(id: string): Promise<User | null> {
    return this.db.user.findUnique({ where: { id } });
  }

  /** Creates the built-in roles when missing; returns role ids by name. */
  async ensureBuiltInRoles(tx: Tx): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    for (const [name, permissions] of Object.entries(BUILT_IN_ROLES)) {
      const role = await tx.role.upsert({
        where: { name },
        create: { name, builtIn: true, permissions: JSON.stringify(permissions) },
        update: { permissions: JSON.stringify(permissions), builtIn: true },
      });
      ids.set(name, role.id);
    }
    return ids;
  }

  createUser(
    tx: Tx,
    data: { username: string; displayName: string; passwordHash: string | null },
  ): Promise<User> {
    return tx.user.create({ data });
  }

  async addGrant(
    tx: Tx,
    userId: string,
    roleId: string,
    scopeType: ScopeType,
    scopeId: string | null,
  ): Promise<void> {
    await tx.grant.create({ data: { userId, roleId, scopeType, scopeId } });
  }

  /** Effective grants: the user's own plus those of every group they belong to. */
  async grantsOf(userId: string): Promise<ResolvedGrant[]> {
    const [direct, viaGroups] = await Promise.all([
      this.db.grant.findMany({ where: { userId }, include: { role: true } }),
      this.db.groupGrant.findMany({
        where: { group: { members: { some: { userId } } } },
        include: { role: true },
      }),
    ]);
    return [...direct, ...viaGroups].map((g) => ({
      permissions: (JSON.parse(g.role.permissions) as string[]).filter(isPermission),
      scope: { type: g.scopeType as ScopeType, id: g.scopeId },
    }));
  }
}
