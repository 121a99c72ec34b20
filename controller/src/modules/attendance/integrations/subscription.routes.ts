/** A guild's plan tier and what it includes. */
import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Data, ErrorResponse } from '../../../core/pagination.js';
import { callContext } from '../../../http/route-access.js';
import { GuildParams } from '../guilds/attendance.schemas.js';
import type { GuildAccess } from '../guilds/guild-access.js';
import { Subscription, SubscriptionBody } from './integrations.schemas.js';
import type { SubscriptionService } from './subscription.service.js';

const tags = ['attendance'];
const errors = { 400: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse };

export function subscriptionRoutes(deps: {
  access: GuildAccess;
  subscriptions: SubscriptionService;
}): FastifyPluginAsyncTypebox {
  const { access, subscriptions } = deps;
  return async (app) => {
    app.get(
      '/guilds/:guildId/subscription',
      {
        config: { access: { user: 'attendance:read', scope: 'scoped' } },
        schema: {
          tags,
          summary: "The guild's plan tier and which features it includes",
          params: GuildParams,
          response: { 200: Data(Subscription), ...errors },
        },
      },
      async (request) => ({
        data: subscriptions.get(
          await access.visibleGuild(request.principal, 'attendance:read', request.params.guildId),
        ),
      }),
    );

    app.patch(
      '/guilds/:guildId/subscription',
      {
        // settings:manage, not attendance:manage: the plan is a setting of the controller
        // made by its operator (what a guild pays for), which a guild's own admins (and
        // front-end tokens, limited to attendance:*) must not change. The service also
        // requires the grant over the whole fleet.
        config: { access: { user: 'settings:manage', scope: 'fleet' } },
        schema: {
          tags,
          summary: "Set the guild's plan tier (the controller operator's decision)",
          params: GuildParams,
          body: SubscriptionBody,
          response: { 200: Data(Subscription), ...errors },
        },
      },
      async (request) => ({
        data: await subscriptions.setTier(
          await access.visibleGuild(request.principal, 'settings:manage', request.params.guildId),
          request.body.tier,
          callContext(request),
        ),
      }),
    );
  };
}
