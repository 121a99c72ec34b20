/** Verified role rules (a Pro feature): 402 plan_required on a free guild. */
import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { Data, ErrorResponse, NoContent } from '../../../core/pagination.js';
import { callContext } from '../../../http/route-access.js';
import { GuildParams } from '../guilds/attendance.schemas.js';
import type { GuildAccess } from '../guilds/guild-access.js';
import { VerifiedRole, VerifiedRoleBody, VerifiedRuleParams } from './integrations.schemas.js';
import type { VerifiedRolesService } from './verified-roles.service.js';

const tags = ['attendance'];
const errors = { 400: ErrorResponse, 402: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse };

export function verifiedRolesRoutes(deps: {
  access: GuildAccess;
  verifiedRoles: VerifiedRolesService;
}): FastifyPluginAsyncTypebox {
  const { access, verifiedRoles } = deps;
  return async (app) => {
    app.get(
      '/guilds/:guildId/verified-roles',
      {
        config: { access: { user: 'attendance:read', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'Verified role rules (Pro)',
          params: GuildParams,
          response: { 200: Data(Type.Array(VerifiedRole)), ...errors },
        },
      },
      async (request) => ({
        data: await verifiedRoles.list(
          await access.visibleGuild(request.principal, 'attendance:read', request.params.guildId),
        ),
      }),
    );

    app.post(
      '/guilds/:guildId/verified-roles',
      {
        config: { access: { user: 'attendance:manage', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'Create the rule for a role (201), or update its threshold (200) (Pro)',
          params: GuildParams,
          body: VerifiedRoleBody,
          response: { 200: Data(VerifiedRole), 201: Data(VerifiedRole), ...errors, 409: ErrorResponse },
        },
      },
      async (request, reply) => {
        const { created, rule } = await verifiedRoles.upsert(
          await access.visibleGuild(request.principal, 'attendance:manage', request.params.guildId),
          request.body.role_id,
          request.body.threshold_seconds,
          callContext(request),
        );
        return reply.status(created ? 201 : 200).send({ data: rule });
      },
    );

    app.delete(
      '/guilds/:guildId/verified-roles/:ruleId',
      {
        config: { access: { user: 'attendance:manage', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'Delete a verified role rule (roles already granted stay) (Pro)',
          params: VerifiedRuleParams,
          response: { 204: NoContent, ...errors },
        },
      },
      async (request, reply) => {
        await verifiedRoles.remove(
          await access.visibleGuild(request.principal, 'attendance:manage', request.params.guildId),
          request.params.ruleId,
          callContext(request),
        );
        return reply.status(204).send(null);
      },
    );
  };
}
