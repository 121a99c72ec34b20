/** Guild registration for attendance sources other than the Discord bot, and the guild itself. */
import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  clampLimit,
  Data,
  decodeCursor,
  ErrorResponse,
  encodeCursor,
  PageOf,
  pageOf,
} from '../../../core/pagination.js';
import { callContext } from '../../../http/route-access.js';
import {
  GuildListQuery,
  GuildParams,
  GuildSchema,
  RegisterGuildBody,
  UpdateGuildBody,
} from './attendance.schemas.js';
import type { GuildAccess } from './guild-access.js';
import { type GuildsService, presentGuild } from './guilds.service.js';

const tags = ['attendance'];

export function guildsRoutes(deps: {
  access: GuildAccess;
  guilds: GuildsService;
}): FastifyPluginAsyncTypebox {
  const { access, guilds } = deps;
  return async (app) => {
    app.post(
      '/guilds',
      {
        // Checked against the guild id in the body: a grant on that guild, or the fleet.
        config: { access: { user: 'attendance:manage', scope: 'scoped' } },
        schema: {
          tags,
          summary:
            'Register a guild, so the inbound webhook, signing, resets and exports work without the bot',
          body: RegisterGuildBody,
          response: { 201: Data(GuildSchema), 400: ErrorResponse, 403: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request, reply) =>
        reply
          .status(201)
          .send({ data: presentGuild(await guilds.register(request.body, callContext(request))) }),
    );

    app.get(
      '/guilds',
      {
        config: { access: { user: 'attendance:read', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'The guilds whose attendance you may read, by id',
          querystring: GuildListQuery,
          response: { 200: PageOf(GuildSchema), 400: ErrorResponse },
        },
      },
      async (request) => {
        const take = clampLimit(request.query.limit);
        const after = decodeCursor<string>(request.query.cursor, 'string');
        const rows = await guilds.list(request.principal, take, after);
        return pageOf(rows, take, presentGuild, (row) => encodeCursor(row.id));
      },
    );

    app.get(
      '/guilds/:guildId',
      {
        config: { access: { user: 'attendance:read', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'One guild: name, time zone, tracking mode, whether the bot is in it, its period',
          params: GuildParams,
          response: { 200: Data(GuildSchema), 400: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request) => ({
        data: presentGuild(
          await access.visibleGuild(request.principal, 'attendance:read', request.params.guildId),
        ),
      }),
    );

    app.patch(
      '/guilds/:guildId',
      {
        config: { access: { user: 'attendance:manage', scope: 'scoped' } },
        schema: {
          tags,
          summary: "Change a guild's name or time zone",
          params: GuildParams,
          body: UpdateGuildBody,
          response: { 200: Data(GuildSchema), 400: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request) => ({
        data: presentGuild(
          await guilds.update(
            await access.visibleGuild(request.principal, 'attendance:manage', request.params.guildId),
            request.body,
            callContext(request),
          ),
        ),
      }),
    );
  };
}
