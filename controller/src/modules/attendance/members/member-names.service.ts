/**
 * Member names: the name each member's voice states carry (the guild's nickname, else their
 * display name, else their username) is kept per guild, so the attendance reads show people
 * beside their ids. A name is written when it differs from the one this process last wrote,
 * or that was written over REWRITE_AFTER_MS ago (so `seen_at` stays roughly true, and a name
 * another replica wrote meanwhile is corrected): a busy voice channel costs no writes. Names are
 * never signed: the signed records and exports hold ids only.
 */
import type { Tx } from '../../../db/client.js';
import type { VisibleGuild } from '../guilds/guild-access.js';
import type { MembersRepository } from './members.repository.js';

/** A member as a voice state shows them; no name, nothing to keep. */
export interface SeenMember {
  userId: string;
  displayName?: string;
}

/** Longest name kept (Discord's own limit is 32): a longer one is cut. */
export const MAX_MEMBER_NAME = 100;

/** A name as kept: trimmed, at most MAX_MEMBER_NAME long; none when nothing is left. */
function keptName(raw: string | undefined): string | undefined {
  const trimmed = raw?.trim();
  return trimmed ? trimmed.slice(0, MAX_MEMBER_NAME) : undefined;
}

/** A name written this long ago is written again when next seen. */
const REWRITE_AFTER_MS = 10 * 60_000;

export class MemberNamesService {
  /** Per guild, the names this process wrote, and when. */
  private readonly written = new Map<string, Map<string, { name: string; atMs: number }>>();

  constructor(
    private readonly options: {
      repo: MembersRepository;
      now: () => Date;
    },
  ) {}

  /** Keeps the names of `members` as seen now (only those that changed are written). */
  async seen(guildId: string, members: readonly SeenMember[]): Promise<void> {
    const now = this.options.now();
    let written = this.written.get(guildId);
    const changed = new Map<string, string>();
    for (const member of members) {
      const { userId } = member;
      const displayName = keptName(member.displayName);
      if (!displayName) continue;
      const last = written?.get(userId);
      if (last?.name !== displayName || now.getTime() - last.atMs >= REWRITE_AFTER_MS)
        changed.set(userId, displayName);
    }
    if (changed.size === 0) return;
    const names = [...changed].map(([userId, displayName]) => ({ userId, displayName }));
    await this.options.repo.saveNames(guildId, names, now);
    if (!written) {
      written = new Map();
      this.written.set(guildId, written);
    }
    for (const { userId, displayName } of names)
      written.set(userId, { name: displayName, atMs: now.getTime() });
  }

  /**
   * A member's name, written within the caller's transaction (the webhook's, with the event it
   * came with): stored with what it came with, or not at all.
   */
  async keepIn(tx: Tx, guildId: string, member: SeenMember): Promise<void> {
    const displayName = keptName(member.displayName);
    if (!displayName) return;
    await this.options.repo.saveNamesIn(
      tx,
      guildId,
      [{ userId: member.userId, displayName }],
      this.options.now(),
    );
  }

  /** The names known for `userIds` in the guild; ids never seen with a name are absent. */
  async namesOf(guildId: string, userIds: readonly string[]): Promise<Map<string, string>> {
    if (userIds.length === 0) return new Map();
    const ids = [...new Set(userIds)];
    const rows = await this.options.repo.find(guildId, { userIds: ids, limit: ids.length });
    return new Map(rows.map((row) => [row.userId, row.displayName]));
  }

  /** `GET /guilds/:guildId/members`: the named members asked for, or the first `limit` by name. */
  async list(guild: VisibleGuild, query: { userIds?: readonly string[]; limit: number }) {
    const rows = await this.options.repo.find(guild.id, query);
    return rows.map((row) => ({
      user_id: row.userId,
      display_name: row.displayName,
      seen_at: row.seenAt.toISOString(),
    }));
  }
}
