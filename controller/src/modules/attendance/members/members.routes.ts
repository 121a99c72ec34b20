/** The names of a guild's members, as the bot last saw them in voice. */
import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { clampLimit, Data, ErrorResponse } from '../../../core/pagination.js';
import { GuildParams, MemberNames, MembersQuery } from '../guilds/attendance.schemas.js';
import type { GuildAccess } from '../guilds/guild-access.js';
import type { MemberNamesService } from './member-names.service.js';

const tags = ['attendance'];

export function membersRoutes(deps: {
  access: GuildAccess;
  members: MemberNamesService;
}): FastifyPluginAsyncTypebox {
  const { access, members } = deps;
  return async (app) => {
    app.get(
      '/guilds/:guildId/members',
      {
        config: { access: { user: 'attendance:read', scope: 'scoped' } },
        schema: {
          tags,
          summary: "Members' names, as the bot last saw them in voice",
          description:
            'With `user_ids`, the names of those members (ids never seen with a name are left out), for showing an archived leaderboard; without, the first `limit` members by name. Names are never part of a signed record.',
          params: GuildParams,
          querystring: MembersQuery,
          response: { 200: Data(MemberNames), 400: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request) => {
        const guild = await access.visibleGuild(request.principal, 'attendance:read', request.params.guildId);
        const userIds = request.query.user_ids?.split(',');
        const limit = userIds ? userIds.length : clampLimit(request.query.limit);
        return { data: { members: await members.list(guild, { userIds, limit }) } };
      },
    );
  };
}
