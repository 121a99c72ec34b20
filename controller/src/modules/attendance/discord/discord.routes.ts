/** A guild as the live Discord gateway sees it: its channels, and whether the bot is there. */
import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Data, ErrorResponse } from '../../../core/pagination.js';
import { BotPresence, GuildChannels, GuildParams } from '../guilds/attendance.schemas.js';
import type { GuildAccess } from '../guilds/guild-access.js';
import type { DiscordGuildService } from './discord.service.js';

const tags = ['attendance'];
const errors = { 400: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse };

export function discordRoutes(deps: {
  access: GuildAccess;
  discord: DiscordGuildService;
}): FastifyPluginAsyncTypebox {
  const { access, discord } = deps;
  return async (app) => {
    app.get(
      '/guilds/:guildId/channels',
      {
        config: { access: { user: 'attendance:read', scope: 'scoped' } },
        schema: {
          tags,
          summary: "The guild's channels, from the bot's gateway connection",
          description:
            '503 `discord_unavailable` when no bot is configured or it is not connected; 409 when the bot is connected but not a member of the guild (invite it).',
          params: GuildParams,
          response: { 200: Data(GuildChannels), ...errors, 409: ErrorResponse, 503: ErrorResponse },
        },
      },
      async (request) => ({
        data: discord.channels(
          await access.visibleGuild(request.principal, 'attendance:read', request.params.guildId),
        ),
      }),
    );

    app.get(
      '/guilds/:guildId/bot-present',
      {
        config: { access: { user: 'attendance:read', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'Whether the bot is in the guild now, and its gateway state',
          params: GuildParams,
          response: { 200: Data(BotPresence), ...errors },
        },
      },
      async (request) => ({
        data: discord.presence(
          await access.visibleGuild(request.principal, 'attendance:read', request.params.guildId),
        ),
      }),
    );
  };
}
