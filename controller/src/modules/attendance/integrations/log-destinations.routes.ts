/** Log destinations: Discord channels that get attendance posts. */
import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { Data, ErrorResponse, NoContent } from '../../../core/pagination.js';
import { callContext } from '../../../http/route-access.js';
import { GuildParams } from '../guilds/attendance.schemas.js';
import type { GuildAccess } from '../guilds/guild-access.js';
import {
  FrequencyBody,
  LogDestination,
  LogDestinationBody,
  LogDestinationParams,
  LogTypeBody,
} from './integrations.schemas.js';
import type { LogDestinationsService } from './log-destinations.service.js';

const tags = ['attendance'];
const errors = { 400: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse };

export function logDestinationsRoutes(deps: {
  access: GuildAccess;
  destinations: LogDestinationsService;
}): FastifyPluginAsyncTypebox {
  const { access, destinations } = deps;
  return async (app) => {
    app.get(
      '/guilds/:guildId/log-destinations',
      {
        config: { access: { user: 'attendance:read', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'Log destinations: channels, log types and summary frequency',
          params: GuildParams,
          response: { 200: Data(Type.Array(LogDestination)), ...errors },
        },
      },
      async (request) => ({
        data: await destinations.list(
          await access.visibleGuild(request.principal, 'attendance:read', request.params.guildId),
        ),
      }),
    );

    app.post(
      '/guilds/:guildId/log-destinations',
      {
        config: { access: { user: 'attendance:manage', scope: 'scoped' } },
        schema: {
          tags,
          summary:
            'Add a channel as a log destination (all log types unless listed; no summary unless a frequency)',
          params: GuildParams,
          body: LogDestinationBody,
          response: { 201: Data(LogDestination), ...errors, 409: ErrorResponse },
        },
      },
      async (request, reply) =>
        reply.status(201).send({
          data: await destinations.create(
            await access.visibleGuild(request.principal, 'attendance:manage', request.params.guildId),
            request.body,
            callContext(request),
          ),
        }),
    );

    app.delete(
      '/guilds/:guildId/log-destinations/:destinationId',
      {
        config: { access: { user: 'attendance:manage', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'Remove a log destination',
          params: LogDestinationParams,
          response: { 204: NoContent, ...errors },
        },
      },
      async (request, reply) => {
        await destinations.remove(
          await access.visibleGuild(request.principal, 'attendance:manage', request.params.guildId),
          request.params.destinationId,
          callContext(request),
        );
        return reply.status(204).send(null);
      },
    );

    app.patch(
      '/guilds/:guildId/log-destinations/:destinationId/types',
      {
        config: { access: { user: 'attendance:manage', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'Enable or disable one log type at a destination',
          params: LogDestinationParams,
          body: LogTypeBody,
          response: { 200: Data(LogDestination), ...errors },
        },
      },
      async (request) => ({
        data: await destinations.setLogType(
          await access.visibleGuild(request.principal, 'attendance:manage', request.params.guildId),
          request.params.destinationId,
          request.body.log_type,
          request.body.enabled,
          callContext(request),
        ),
      }),
    );

    app.patch(
      '/guilds/:guildId/log-destinations/:destinationId/frequency',
      {
        config: { access: { user: 'attendance:manage', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'Set how often the leaderboard summary is posted (off, hourly, daily, weekly)',
          params: LogDestinationParams,
          body: FrequencyBody,
          response: { 200: Data(LogDestination), ...errors },
        },
      },
      async (request) => ({
        data: await destinations.setFrequency(
          await access.visibleGuild(request.principal, 'attendance:manage', request.params.guildId),
          request.params.destinationId,
          request.body.frequency,
          callContext(request),
        ),
      }),
    );
  };
}
