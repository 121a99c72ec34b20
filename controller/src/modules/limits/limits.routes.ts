/**
 * Rate-limit administration under /api/v1/admin/limits. Reads need settings:read and
 * writes settings:manage: a rate limit is an operational setting (settings:manage also
 * sets a guild's plan), not an identity or grant, so auth:manage would be
 * the wrong key; login brute-force protection is separate (LoginThrottle) and is not
 * configurable here.
 */
import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  clampLimit,
  Data,
  decodeCursor,
  ErrorResponse,
  encodeCursor,
  NoContent,
  PageOf,
  PageOnlyQuery,
  pageOf,
} from '../../core/pagination.js';
import { callContext } from '../../http/route-access.js';
import { AssignmentBody, AssignmentSchema, IdParams, ProfileBody, ProfileSchema } from './limits.schemas.js';
import type { LimitsService } from './limits.service.js';

const read = { access: { user: 'settings:read', scope: 'fleet' } } as const;
const manage = { access: { user: 'settings:manage', scope: 'fleet' } } as const;
const tags = ['limits'];

export function limitsRoutes(limits: LimitsService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/admin/limits/profiles',
      {
        config: read,
        schema: {
          tags,
          summary: 'List rate-limit profiles by name',
          querystring: PageOnlyQuery,
          response: { 200: PageOf(ProfileSchema), 400: ErrorResponse },
        },
      },
      async (request) => {
        const take = clampLimit(request.query.limit);
        const rows = await limits.listProfiles(take, decodeCursor<string>(request.query.cursor, 'string'));
        return pageOf(
          rows,
          take,
          (row) => limits.presentProfile(row),
          (row) => encodeCursor(row.name),
        );
      },
    );

    app.post(
      '/admin/limits/profiles',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Create a rate-limit profile',
          body: ProfileBody,
          response: { 201: Data(ProfileSchema), 400: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request, reply) => {
        const row = await limits.createProfile(request.body, callContext(request));
        return reply.status(201).send({ data: limits.presentProfile(row) });
      },
    );

    app.put(
      '/admin/limits/profiles/:id',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Replace a profile’s name, limit, window and description (takes effect at once)',
          params: IdParams,
          body: ProfileBody,
          response: { 200: Data(ProfileSchema), 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request) => {
        const row = await limits.updateProfile(request.params.id, request.body, callContext(request));
        return { data: limits.presentProfile(row) };
      },
    );

    app.delete(
      '/admin/limits/profiles/:id',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Delete a profile (409 while it is still assigned)',
          params: IdParams,
          response: { 204: NoContent, 404: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request, reply) => {
        await limits.deleteProfile(request.params.id, callContext(request));
        return reply.status(204).send(null);
      },
    );

    app.get(
      '/admin/limits/assignments',
      {
        config: read,
        schema: {
          tags,
          summary: 'List route assignments by route',
          querystring: PageOnlyQuery,
          response: { 200: PageOf(AssignmentSchema), 400: ErrorResponse },
        },
      },
      async (request) => {
        const take = clampLimit(request.query.limit);
        const rows = await limits.listAssignments(take, decodeCursor<string>(request.query.cursor, 'string'));
        return pageOf(
          rows,
          take,
          (row) => limits.presentAssignment(row),
          (row) => encodeCursor(row.route),
        );
      },
    );

    app.post(
      '/admin/limits/assignments',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Limit a declared route (`METHOD /url/pattern`) with a profile',
          body: AssignmentBody,
          response: {
            201: Data(AssignmentSchema),
            400: ErrorResponse,
            404: ErrorResponse,
            409: ErrorResponse,
          },
        },
      },
      async (request, reply) => {
        const row = await limits.createAssignment(request.body, callContext(request));
        return reply.status(201).send({ data: limits.presentAssignment(row) });
      },
    );

    app.delete(
      '/admin/limits/assignments/:id',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Remove a route assignment (the limit lifts at once)',
          params: IdParams,
          response: { 204: NoContent, 404: ErrorResponse },
        },
      },
      async (request, reply) => {
        await limits.deleteAssignment(request.params.id, callContext(request));
        return reply.status(204).send(null);
      },
    );
  };
}
