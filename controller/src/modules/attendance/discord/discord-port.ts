/**
 * What the attendance services ask of Discord, without knowing whether a bot runs:
 * the composition root passes the running bot's implementation when a token is
 * configured, and `DISCORD_DISABLED` otherwise. Services depend on this port, never
 * on discord.js.
 */
import { ERROR_CODES } from '../../../../../shared/src/errors.js';
import { AppError } from '../../../core/errors.js';
import type { DiscordBotState } from './discord-bot.js';

/** A guild channel as the API lists it. */
export interface GuildChannelInfo {
  id: string;
  name: string;
  /** text | voice | stage | category | announcement | forum | other */
  type: string;
  parentId: string | null;
  position: number;
}

export interface DiscordPort {
  /** `stopped` when no bot is configured. */
  readonly state: DiscordBotState;
  /** Whether the bot is configured at all. */
  readonly enabled: boolean;
  /** `listener` hears every change of `state` from now on (the operational event log); returns its stop. */
  onStateChange(listener: (state: DiscordBotState) => void): () => void;
  /** Whether the bot is currently a member of the guild (from the gateway's guild list). */
  isInGuild(guildId: string): boolean;
  /** How many guilds the bot is in now (0 when not connected). */
  guildCount(): number;
  /**
   * The guild's channels from the gateway cache; throws `discordUnavailable` (503) when
   * the bot is not configured or not connected, `discordNotInGuild` (409) when it is
   * connected but not a member of the guild.
   */
  listChannels(guildId: string): GuildChannelInfo[];
  /** Posts a message in a channel (log destinations); mentions never ping. */
  postMessage(channelId: string, content: string): Promise<void>;
  /** Grants or removes a member's role (verified roles). */
  setMemberRole(
    guildId: string,
    userId: string,
    roleId: string,
    granted: boolean,
    reason?: string,
  ): Promise<void>;
  /** Owner, Manage Server or Administrator in the guild; false for a non-member. */
  canManageGuild(guildId: string, userId: string): Promise<boolean>;
}

export function discordUnavailable(what = 'This'): AppError {
  return new AppError(
    503,
    ERROR_CODES.discordUnavailable,
    `${what} needs the Discord bot, which is not connected. Set EARSHOT_DISCORD_BOT_TOKEN, or wait for the bot to reconnect.`,
  );
}

/** The bot is connected but not in the guild: the admin has to invite it (a 409, not an outage). */
export function discordNotInGuild(): AppError {
  return new AppError(
    409,
    ERROR_CODES.discordNotInGuild,
    'The Discord bot is not a member of this guild. Invite the bot to the server (with the applications.commands and bot scopes), then try again.',
  );
}

/** The bot is in the guild but Discord reports it unavailable (a Discord outage). */
export function discordGuildUnavailable(): AppError {
  return new AppError(
    503,
    ERROR_CODES.discordUnavailable,
    'Discord reports this guild as temporarily unavailable (an outage on its side); try again shortly.',
  );
}

/** The port when no bot token is configured: reads answer "absent", actions refuse clearly. */
export const DISCORD_DISABLED: DiscordPort = {
  state: 'stopped',
  enabled: false,
  onStateChange: () => () => {},
  isInGuild: () => false,
  guildCount: () => 0,
  listChannels: () => {
    throw discordUnavailable('Listing channels');
  },
  postMessage: async () => {
    throw discordUnavailable('Posting a message');
  },
  setMemberRole: async () => {
    throw discordUnavailable('Granting a role');
  },
  canManageGuild: async () => {
    throw discordUnavailable('Checking Manage Server');
  },
};
