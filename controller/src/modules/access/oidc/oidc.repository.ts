import type { Db, Tx } from '../../../db/client.js';
import type { OidcLogin, User } from '../../../db/rows.js';
import { usernameTaken } from '../usernames.repository.js';

export interface DirectGrant {
  id: string;
  roleId: string;
  scopeType: string;
  scopeId: string | null;
}

export class OidcRepository {
  constructor(private readonly db: Db) {}

  async createLogin(data: Pick<OidcLogin, 'state' | 'nonce' | 'codeVerifier' | 'returnTo' | 'expiresAt'>) {
    await this.db.oidcLogin.create({ data });
  }

  async purgeExpiredLogins(now: Date): Promise<void> {
    await this.db.oidcLogin.deleteMany({ where: { expiresAt: { lte: now } } });
  }

  /**
   * Removes a pending login and returns it; undefined when unknown or already taken.
   * Single use even under concurrency: only the caller whose delete removed the row wins.
   */
  takeLogin(state: string): Promise<OidcLogin | undefined> {
    return this.db.$transaction(async (tx) => {
      const row = await tx.oidcLogin.findUnique({ where: { state } });
      if (!row) return undefined;
      const { count } = await tx.oidcLogin.deleteMany({ where: { state } });
      return count === 1 ? row : undefined;
    });
  }

  findUserByIdentity(issuer: string, subject: string, tx: Tx | Db = this.db): Promise<User | null> {
    return tx.user.findUnique({
      where: { oidcIssuer_oidcSubject: { oidcIssuer: issuer, oidcSubject: subject } },
    });
  }

  usernameTaken(tx: Tx, username: string): Promise<boolean> {
    return usernameTaken(tx, username);
  }

  /** An SSO user has no password: it can only sign in through its identity provider. */
  createUser(
    tx: Tx,
    data: { username: string; displayName: string; email: string | null; issuer: string; subject: string },
  ): Promise<User> {
    return tx.user.create({
      data: {
        username: data.username,
        displayName: data.displayName,
        email: data.email,
        passwordHash: null,
        oidcIssuer: data.issuer,
        oidcSubject: data.subject,
      },
    });
  }

  async updateEmail(tx: Tx, userId: string, email: string | null): Promise<void> {
    await tx.user.update({ where: { id: userId }, data: { email } });
  }

  /** Groups an IdP group maps onto (Group.oidcGroup set). */
  mappedGroups(tx: Tx): Promise<{ id: string; name: string; oidcGroup: string }[]> {
    return tx.group
      .findMany({ where: { oidcGroup: { not: null } }, select: { id: true, name: true, oidcGroup: true } })
      .then((rows) => rows.map((r) => ({ id: r.id, name: r.name, oidcGroup: r.oidcGroup! })));
  }

  async groupIdsOf(tx: Tx, userId: string, among: string[]): Promise<string[]> {
    const rows = await tx.groupMember.findMany({
      where: { userId, groupId: { in: among } },
      select: { groupId: true },
    });
    return rows.map((r) => r.groupId);
  }

  async addMemberships(tx: Tx, userId: string, groupIds: string[]): Promise<void> {
    if (groupIds.length > 0)
      await tx.groupMember.createMany({ data: groupIds.map((groupId) => ({ groupId, userId })) });
  }

  async removeMemberships(tx: Tx, userId: string, groupIds: string[]): Promise<void> {
    if (groupIds.length > 0)
      await tx.groupMember.deleteMany({ where: { userId, groupId: { in: groupIds } } });
  }

  async roleIdsByName(tx: Tx, names: string[]): Promise<Map<string, string>> {
    const rows = await tx.role.findMany({ where: { name: { in: names } }, select: { id: true, name: true } });
    return new Map(rows.map((r) => [r.name, r.id]));
  }

  directGrants(tx: Tx, userId: string): Promise<DirectGrant[]> {
    return tx.grant.findMany({
      where: { userId },
      select: { id: true, roleId: true, scopeType: true, scopeId: true },
    });
  }

  async addGrants(
    tx: Tx,
    userId: string,
    grants: { roleId: string; scopeType: string; scopeId: string | null }[],
  ): Promise<void> {
    if (grants.length > 0) await tx.grant.createMany({ data: grants.map((g) => ({ ...g, userId })) });
  }

  async removeGrants(tx: Tx, ids: string[]): Promise<void> {
    if (ids.length > 0) await tx.grant.deleteMany({ where: { id: { in: ids } } });
  }
}
