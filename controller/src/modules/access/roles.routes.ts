import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { clampLimit, Data, ErrorResponse, NoContent, PageOf, PageOnlyQuery } from '../../core/pagination.js';
import { callContext } from '../../http/route-access.js';
import { UuidParams } from './access.schemas.js';
import { CreateRoleBody, RoleView, UpdateRoleBody } from './roles.schemas.js';
import type { RolesService } from './roles.service.js';

const access = { user: 'auth:manage', scope: 'scoped' } as const;
const tags = ['access'];
const Refused = { 400: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };

export function rolesRoutes(roles: RolesService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/auth/roles',
      {
        config: { access },
        schema: {
          tags,
          summary: 'Built-in and custom roles with their permissions: built-in first, then by name',
          querystring: PageOnlyQuery,
          response: { 200: PageOf(RoleView), 400: ErrorResponse },
        },
      },
      async (request) => roles.list(clampLimit(request.query.limit), request.query.cursor),
    );

    app.post(
      '/auth/roles',
      {
        config: { access },
        schema: {
          tags,
          summary: 'Create a custom role from permissions you hold',
          body: CreateRoleBody,
          response: { 201: Data(RoleView), ...Refused },
        },
      },
      async (request, reply) =>
        reply.status(201).send({ data: await roles.create(request.body, callContext(request)) }),
    );

    app.patch(
      '/auth/roles/:id',
      {
        config: { access },
        schema: {
          tags,
          summary: 'Change a custom role (built-in roles are fixed)',
          params: UuidParams,
          body: UpdateRoleBody,
          response: { 200: Data(RoleView), ...Refused },
        },
      },
      async (request) => ({
        data: await roles.update(request.params.id, request.body, callContext(request)),
      }),
    );

    app.delete(
      '/auth/roles/:id',
      {
        config: { access },
        schema: {
          tags,
          summary: 'Delete a custom role that is no longer granted',
          params: UuidParams,
          response: { 204: NoContent, ...Refused },
        },
      },
      async (request, reply) => {
        await roles.remove(request.params.id, callContext(request));
        return reply.status(204).send(null);
      },
    );
  };
}
