/** Guild signing keys and verification of stored records (README, "Discord attendance"). */
import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Data, ErrorResponse } from '../../../core/pagination.js';
import { callContext } from '../../../http/route-access.js';
import {
  GenerateKeysResult,
  GuildParams,
  PassphraseBody,
  PublicKeys,
  SigningStatus,
  UnlockResult,
  Verification,
  VerifyPeriodBody,
  VerifySessionBody,
} from '../guilds/attendance.schemas.js';
import type { GuildAccess } from '../guilds/guild-access.js';
import type { AttendanceStatsService } from '../stats/attendance-stats.service.js';
import type { AttendanceSigningService } from './signing.service.js';
import type { AttendanceVerifyService } from './verify.service.js';

const tags = ['attendance'];
const errors = { 400: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse };

export function signingRoutes(deps: {
  access: GuildAccess;
  signing: AttendanceSigningService;
  stats: AttendanceStatsService;
  verify: AttendanceVerifyService;
}): FastifyPluginAsyncTypebox {
  const { access, signing, verify, stats } = deps;
  return async (app) => {
    app.post(
      '/guilds/:guildId/signing/generate-keys',
      {
        config: { access: { user: 'attendance:manage', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'Generate the guild signing key (rotates: the old key is retired, stays published)',
          params: GuildParams,
          body: PassphraseBody,
          response: { 201: Data(GenerateKeysResult), ...errors },
        },
      },
      async (request, reply) => {
        const guild = await access.visibleGuild(
          request.principal,
          'attendance:manage',
          request.params.guildId,
        );
        return reply.status(201).send({
          data: await signing.generateKeys(guild.id, request.body.passphrase, callContext(request)),
        });
      },
    );

    app.post(
      '/guilds/:guildId/signing/unlock',
      {
        config: { access: { user: 'attendance:manage', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'Unlock the signing key (memory only) and sign everything pending',
          params: GuildParams,
          body: PassphraseBody,
          response: { 200: Data(UnlockResult), ...errors, 409: ErrorResponse, 422: ErrorResponse },
        },
      },
      async (request) => {
        const guild = await access.visibleGuild(
          request.principal,
          'attendance:manage',
          request.params.guildId,
        );
        return { data: await signing.unlock(guild.id, request.body.passphrase, callContext(request)) };
      },
    );

    app.get(
      '/guilds/:guildId/signing/status',
      {
        config: { access: { user: 'attendance:read', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'Signing and period status',
          params: GuildParams,
          response: { 200: Data(SigningStatus), ...errors },
        },
      },
      async (request) => {
        const guild = await access.visibleGuild(request.principal, 'attendance:read', request.params.guildId);
        return { data: { ...(await signing.status(guild.id)), period: stats.periodState(guild) } };
      },
    );

    app.get(
      '/guilds/:guildId/signing/public-key',
      {
        config: { access: { user: 'attendance:read', scope: 'scoped' } },
        schema: {
          tags,
          summary: 'Public verification keys: the active one and every retired one',
          params: GuildParams,
          response: { 200: Data(PublicKeys), ...errors },
        },
      },
      async (request) => {
        const guild = await access.visibleGuild(request.principal, 'attendance:read', request.params.guildId);
        return { data: await signing.publicKeys(guild.id) };
      },
    );

    app.post(
      '/guilds/:guildId/signing/verify-session',
      {
        config: { access: { user: 'attendance:read', scope: 'scoped' } },
        schema: {
          tags,
          summary: "Verify a stored session's signature",
          params: GuildParams,
          body: VerifySessionBody,
          response: { 200: Data(Verification), ...errors },
        },
      },
      async (request) => {
        const guild = await access.visibleGuild(request.principal, 'attendance:read', request.params.guildId);
        return { data: await verify.guildSession(guild.id, request.body.session_id, callContext(request)) };
      },
    );

    app.post(
      '/guilds/:guildId/signing/verify-period',
      {
        config: { access: { user: 'attendance:read', scope: 'scoped' } },
        schema: {
          tags,
          summary: "Verify an archived period snapshot's signature",
          params: GuildParams,
          body: VerifyPeriodBody,
          response: { 200: Data(Verification), ...errors },
        },
      },
      async (request) => {
        const guild = await access.visibleGuild(request.principal, 'attendance:read', request.params.guildId);
        return { data: await verify.guildPeriod(guild.id, request.body.period_index, callContext(request)) };
      },
    );
  };
}
