/**
 * Usernames are unique regardless of letter case: `Alice` cannot be created beside `alice` (two
 * names that read alike in the audit trail), and either spelling signs in. Usernames are ASCII
 * (`Username` in auth.schemas.ts), so SQL's lower() compares them the same on SQLite and
 * PostgreSQL. Names stored before this rule that differ only in case keep working, by their
 * exact spelling.
 */
import type { Db, Tx } from '../../db/client.js';
import type { User } from '../../db/rows.js';

/** The ids of the users whose username is `username` in any letter case. */
async function idsIgnoringCase(db: Tx | Db, username: string): Promise<string[]> {
  const rows = await db.$queryRaw<{ id: string }[]>`
    SELECT "id" FROM "User" WHERE lower("username") = lower(${username}) LIMIT 2`;
  return rows.map((r) => r.id);
}

/** True when a user has this username in any letter case. */
export async function usernameTaken(tx: Tx | Db, username: string): Promise<boolean> {
  return (await idsIgnoringCase(tx, username)).length > 0;
}

/** The user who signs in as `username`: its exact spelling, else the one user it names in another case. */
export async function userForSignIn(db: Db, username: string): Promise<User | null> {
  const exact = await db.user.findUnique({ where: { username } });
  if (exact) return exact;
  const ids = await idsIgnoringCase(db, username);
  return ids.length === 1 ? db.user.findUnique({ where: { id: ids[0] } }) : null;
}
