/** A guild's outbound webhook: its settings (`…/webhooks/settings`) and its delivery log. */
import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Data, ErrorResponse, PageOf } from '../../../core/pagination.js';
import { callContext } from '../../../http/route-access.js';
import { GuildParams } from '../guilds/attendance.schemas.js';
import type { GuildAccess } from '../guilds/guild-access.js';
import {
  DeliveriesQuery,
  WebhookDelivery,
  WebhookSettings,
  WebhookSettingsChanged,
  WebhookSettingsPatch,
} from './outbound-webhooks.schemas.js';
import type { OutboundWebhooksService } from './outbound-webhooks.service.js';

const tags = ['attendance'];
const errors = { 400: ErrorResponse, 402: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse };

export function outboundWebhooksRoutes(deps: {
  access: GuildAccess;
  webhooks: OutboundWebhooksService;
}): FastifyPluginAsyncTypebox {
  const { access, webhooks } = deps;
  return async (app) => {
    app.get(
      '/guilds/:guildId/webhooks/settings',
      {
        config: { access: { user: 'attendance:read', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'Outbound webhook settings (Pro); the signing secret only as a hint',
          params: GuildParams,
          response: { 200: Data(WebhookSettings), ...errors },
        },
      },
      async (request) => ({
        data: webhooks.get(
          await access.visibleGuild(request.principal, 'attendance:read', request.params.guildId),
        ),
      }),
    );

    app.patch(
      '/guilds/:guildId/webhooks/settings',
      {
        config: { access: { user: 'attendance:manage', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'Set the webhook URL, events and on/off, or rotate the signing secret (Pro)',
          description:
            'The signing secret is generated when the first URL is set or with rotate_secret, and returned ' +
            'once, in this answer, as signing_secret. Each delivery is a POST signed with ' +
            'x-earshot-signature: v1=<hex HMAC-SHA256(secret, "<x-earshot-timestamp>.<body>")>.',
          params: GuildParams,
          body: WebhookSettingsPatch,
          response: { 200: Data(WebhookSettingsChanged), ...errors, 422: ErrorResponse },
        },
      },
      async (request) => ({
        data: await webhooks.update(
          await access.visibleGuild(request.principal, 'attendance:manage', request.params.guildId),
          request.body,
          callContext(request),
        ),
      }),
    );

    app.get(
      '/guilds/:guildId/webhooks/deliveries',
      {
        config: { access: { user: 'attendance:read', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'The delivery log, newest first: status, attempts, last answer (Pro)',
          params: GuildParams,
          querystring: DeliveriesQuery,
          response: { 200: PageOf(WebhookDelivery), ...errors },
        },
      },
      async (request) =>
        webhooks.deliveries(
          await access.visibleGuild(request.principal, 'attendance:read', request.params.guildId),
          request.query,
        ),
    );
  };
}
