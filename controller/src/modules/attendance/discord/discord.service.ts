/**
 * What the API tells about a guild from the live Discord gateway: its channels and
 * whether the bot is there. Reads only; the bot is reached through the `DiscordPort`,
 * which refuses clearly when no bot runs.
 */

import type { VisibleGuild } from '../guilds/guild-access.js';
import type { DiscordBotState } from './discord-bot.js';
import type { DiscordPort } from './discord-port.js';

export type BotStateView = DiscordBotState | 'disabled';

export class DiscordGuildService {
  constructor(private readonly discord: DiscordPort) {}

  /** `disabled` when no bot token is configured, else the gateway state. */
  botState(): BotStateView {
    return this.discord.enabled ? this.discord.state : 'disabled';
  }

  /** The bot's state and whether it is in the guild now. */
  botView(guildId: string): { state: BotStateView; present: boolean } {
    return { state: this.botState(), present: this.discord.isInGuild(guildId) };
  }

  /** 503 when the bot is not configured or not connected; 409 when it is not in the guild. */
  channels(guild: VisibleGuild) {
    return {
      guild_id: guild.id,
      channels: this.discord.listChannels(guild.id).map((c) => ({
        id: c.id,
        name: c.name,
        type: c.type,
        parent_id: c.parentId,
        position: c.position,
      })),
    };
  }

  presence(guild: VisibleGuild) {
    const { state, present } = this.botView(guild.id);
    return {
      guild_id: guild.id,
      present,
      bot_state: state,
      enabled: this.discord.enabled,
      last_known_present: guild.botPresent,
    };
  }
}
