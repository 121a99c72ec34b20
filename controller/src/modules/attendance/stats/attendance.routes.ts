/**
 * Attendance reads and period management under /guilds/:guildId.
 * Every route checks the guild against the caller's scope (404 outside it).
 */
import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { clampLimit, Data, ErrorResponse } from '../../../core/pagination.js';
import { callContext } from '../../../http/route-access.js';
import {
  ArchivedPeriod,
  ChannelStats,
  ChannelStatsQuery,
  GuildParams,
  GuildPeriodParams,
  Heatmap,
  HistoryQuery,
  Leaderboard,
  LeaderboardQuery,
  LiveOccupancy,
  Overview,
  PeriodExport,
  ResetResult,
  ResetScheduleBody,
  ScheduleResult,
  UserStats,
  UserStatsQuery,
} from '../guilds/attendance.schemas.js';
import type { GuildAccess } from '../guilds/guild-access.js';
import { requirePlan } from '../integrations/plan.js';
import type { AttendancePeriodsService } from '../periods/periods.service.js';
import type { AttendanceStatsService } from './attendance-stats.service.js';

const tags = ['attendance'];
const errors = { 400: ErrorResponse, 404: ErrorResponse };

export function attendanceRoutes(deps: {
  access: GuildAccess;
  stats: AttendanceStatsService;
  periods: AttendancePeriodsService;
}): FastifyPluginAsyncTypebox {
  const { access, stats, periods } = deps;
  return async (app) => {
    app.get(
      '/guilds/:guildId/overview',
      {
        config: { access: { user: 'attendance:read', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'Guild overview',
          params: GuildParams,
          response: { 200: Data(Overview), ...errors },
        },
      },
      async (request) => ({
        data: await stats.overview(
          await access.visibleGuild(request.principal, 'attendance:read', request.params.guildId),
        ),
      }),
    );

    app.get(
      '/guilds/:guildId/leaderboard',
      {
        config: { access: { user: 'attendance:read', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'Current period leaderboard',
          params: GuildParams,
          querystring: LeaderboardQuery,
          response: { 200: Data(Leaderboard), ...errors },
        },
      },
      async (request) => ({
        data: await stats.leaderboard(
          await access.visibleGuild(request.principal, 'attendance:read', request.params.guildId),
          clampLimit(request.query.limit),
        ),
      }),
    );

    app.get(
      '/guilds/:guildId/stats',
      {
        config: { access: { user: 'attendance:read', scope: 'scoped' } },
        schema: {
          tags,
          summary: "One member's stats in the current period",
          params: GuildParams,
          querystring: UserStatsQuery,
          response: { 200: Data(UserStats), ...errors },
        },
      },
      async (request) => ({
        data: await stats.userStats(
          await access.visibleGuild(request.principal, 'attendance:read', request.params.guildId),
          request.query.user_id,
        ),
      }),
    );

    app.get(
      '/guilds/:guildId/channel-stats',
      {
        config: { access: { user: 'attendance:read', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'Per-channel totals in the current period',
          params: GuildParams,
          querystring: ChannelStatsQuery,
          response: { 200: Data(ChannelStats), ...errors },
        },
      },
      async (request) => ({
        data: await stats.channelStats(
          await access.visibleGuild(request.principal, 'attendance:read', request.params.guildId),
          request.query.channel_id,
        ),
      }),
    );

    app.get(
      '/guilds/:guildId/analytics/heatmap',
      {
        config: { access: { user: 'attendance:read', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'Active time by local weekday × hour (current period)',
          params: GuildParams,
          response: { 200: Data(Heatmap), ...errors },
        },
      },
      async (request) => ({
        data: await stats.heatmap(
          await access.visibleGuild(request.principal, 'attendance:read', request.params.guildId),
        ),
      }),
    );

    app.get(
      '/guilds/:guildId/analytics/live-occupancy',
      {
        config: { access: { user: 'attendance:read', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'Who is in tracked voice channels now',
          params: GuildParams,
          response: { 200: Data(LiveOccupancy), ...errors },
        },
      },
      async (request) => ({
        data: stats.liveOccupancy(
          await access.visibleGuild(request.principal, 'attendance:read', request.params.guildId),
        ),
      }),
    );

    app.patch(
      '/guilds/:guildId/reset-interval',
      {
        config: { access: { user: 'attendance:manage', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'Set the period reset schedule (manual, rolling or calendar)',
          params: GuildParams,
          body: ResetScheduleBody,
          response: { 200: Data(ScheduleResult), ...errors, 403: ErrorResponse },
        },
      },
      async (request) => ({
        data: await periods.setSchedule(
          await access.visibleGuild(request.principal, 'attendance:manage', request.params.guildId),
          request.body,
          callContext(request),
        ),
      }),
    );

    app.post(
      '/guilds/:guildId/reset-now',
      {
        config: { access: { user: 'attendance:manage', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'End the current period now, archiving its signed leaderboard',
          params: GuildParams,
          response: { 200: Data(ResetResult), ...errors, 403: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request) => ({
        data: await periods.resetNow(
          await access.visibleGuild(request.principal, 'attendance:manage', request.params.guildId),
          callContext(request),
        ),
      }),
    );

    app.get(
      '/guilds/:guildId/signing/history',
      {
        config: { access: { user: 'attendance:read', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'Archived periods, newest first',
          params: GuildParams,
          querystring: HistoryQuery,
          response: { 200: Data(Type.Array(ArchivedPeriod)), ...errors },
        },
      },
      async (request) => {
        const guild = await access.visibleGuild(request.principal, 'attendance:read', request.params.guildId);
        return {
          data: await periods.history(guild.id, clampLimit(request.query.limit), request.query.before),
        };
      },
    );

    app.get(
      '/guilds/:guildId/export/period/:periodIndex',
      {
        config: { access: { user: 'attendance:read', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'Self-contained signed export of an archived period (verifiable offline) (Pro)',
          params: GuildPeriodParams,
          response: { 200: PeriodExport, ...errors, 402: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request, reply) => {
        const guild = await access.visibleGuild(request.principal, 'attendance:read', request.params.guildId);
        requirePlan(guild, 'period_export');
        const document = await periods.exportPeriod(guild.id, request.params.periodIndex);
        return reply
          .header(
            'content-disposition',
            `attachment; filename="attendance-${guild.id}-period-${request.params.periodIndex}.json"`,
          )
          .send(document);
      },
    );
  };
}
