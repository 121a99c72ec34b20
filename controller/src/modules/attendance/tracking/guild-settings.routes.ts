/** A guild's tracking settings: mode, tracked channels, fairness. */
import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Data, ErrorResponse, NoContent } from '../../../core/pagination.js';
import { callContext } from '../../../http/route-access.js';
import {
  Fairness,
  FairnessPatch,
  GuildChannelParams,
  GuildParams,
  TrackedChannelBody,
  TrackedChannels,
  TrackingModeBody,
} from '../guilds/attendance.schemas.js';
import type { GuildAccess } from '../guilds/guild-access.js';
import {
  type GuildSettingsService,
  presentFairness,
  presentTrackedChannels,
} from './guild-settings.service.js';

const tags = ['attendance'];
const errors = { 400: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse };

export function guildSettingsRoutes(deps: {
  access: GuildAccess;
  settings: GuildSettingsService;
}): FastifyPluginAsyncTypebox {
  const { access, settings } = deps;
  return async (app) => {
    app.patch(
      '/guilds/:guildId/tracking-mode',
      {
        config: { access: { user: 'attendance:manage', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'Set the tracking mode: off, allowlist, denylist or all',
          params: GuildParams,
          body: TrackingModeBody,
          response: { 200: Data(TrackedChannels), ...errors },
        },
      },
      async (request) => ({
        data: await settings.setTrackingMode(
          await access.visibleGuild(request.principal, 'attendance:manage', request.params.guildId),
          request.body.mode,
          callContext(request),
        ),
      }),
    );

    app.get(
      '/guilds/:guildId/tracked-channels',
      {
        config: { access: { user: 'attendance:read', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'Tracking mode and the listed channels',
          params: GuildParams,
          response: { 200: Data(TrackedChannels), ...errors },
        },
      },
      async (request) => ({
        data: presentTrackedChannels(
          await access.visibleGuild(request.principal, 'attendance:read', request.params.guildId),
        ),
      }),
    );

    app.post(
      '/guilds/:guildId/tracked-channels',
      {
        config: { access: { user: 'attendance:manage', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'Add a channel to the allow- or denylist',
          params: GuildParams,
          body: TrackedChannelBody,
          response: { 201: Data(TrackedChannels), ...errors },
        },
      },
      async (request, reply) =>
        reply.status(201).send({
          data: await settings.addTrackedChannel(
            await access.visibleGuild(request.principal, 'attendance:manage', request.params.guildId),
            request.body.channel_id,
            callContext(request),
          ),
        }),
    );

    app.delete(
      '/guilds/:guildId/tracked-channels/:channelId',
      {
        config: { access: { user: 'attendance:manage', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'Remove a channel from the list',
          params: GuildChannelParams,
          response: { 204: NoContent, ...errors },
        },
      },
      async (request, reply) => {
        await settings.removeTrackedChannel(
          await access.visibleGuild(request.principal, 'attendance:manage', request.params.guildId),
          request.params.channelId,
          callContext(request),
        );
        return reply.status(204).send(null);
      },
    );

    app.get(
      '/guilds/:guildId/fairness',
      {
        config: { access: { user: 'attendance:read', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'Fairness settings',
          params: GuildParams,
          response: { 200: Data(Fairness), ...errors },
        },
      },
      async (request) => ({
        data: presentFairness(
          await access.visibleGuild(request.principal, 'attendance:read', request.params.guildId),
        ),
      }),
    );

    app.patch(
      '/guilds/:guildId/fairness',
      {
        config: { access: { user: 'attendance:manage', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'Update fairness settings (pauses and minimum session length)',
          params: GuildParams,
          body: FairnessPatch,
          response: { 200: Data(Fairness), ...errors },
        },
      },
      async (request) => ({
        data: await settings.updateFairness(
          await access.visibleGuild(request.principal, 'attendance:manage', request.params.guildId),
          request.body,
          callContext(request),
        ),
      }),
    );
  };
}
