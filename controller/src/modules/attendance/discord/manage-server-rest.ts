/**
 * Whether a Discord user may manage a guild (owner, or Manage Server or Administrator through
 * the @everyone role or a role they hold), asked of Discord's REST API with the bot's token: no
 * gateway session needed. A follower replica answers the front-end token gate this way (the
 * bot, and so its member cache, runs on the leader only). Two calls: the member, then the guild.
 */
import { DiscordAPIError, PermissionFlagsBits, REST, RESTJSONErrorCodes, Routes } from 'discord.js';

const NOT_A_MEMBER = new Set<unknown>([RESTJSONErrorCodes.UnknownMember, RESTJSONErrorCodes.UnknownUser]);
const MANAGES = PermissionFlagsBits.Administrator | PermissionFlagsBits.ManageGuild;

export class RestManageServerCheck {
  private readonly rest: REST;

  constructor(token: string, apiBase?: string) {
    this.rest = new REST(apiBase ? { api: apiBase } : {}).setToken(token);
  }

  async canManageGuild(guildId: string, userId: string): Promise<boolean> {
    let member: { roles: string[] };
    try {
      member = (await this.rest.get(Routes.guildMember(guildId, userId))) as { roles: string[] };
    } catch (err) {
      if (err instanceof DiscordAPIError && NOT_A_MEMBER.has(err.code)) return false;
      throw err;
    }
    const guild = (await this.rest.get(Routes.guild(guildId))) as {
      owner_id: string;
      roles: { id: string; permissions: string }[];
    };
    if (guild.owner_id === userId) return true;
    const held = new Set([guildId, ...member.roles]); // @everyone's id is the guild's
    let permissions = 0n;
    for (const role of guild.roles) if (held.has(role.id)) permissions |= BigInt(role.permissions);
    return (permissions & MANAGES) !== 0n;
  }
}
