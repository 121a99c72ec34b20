import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import {
  clampLimit,
  Data,
  decodeCursor,
  ErrorResponse,
  encodeCursor,
  NoContent,
  PageOf,
  pageOf,
} from '../../core/pagination.js';
import { callContext } from '../../http/route-access.js';
import { ActionState, UuidParams } from './access.schemas.js';
import {
  CreateUserBody,
  SetPasswordBody,
  SetStatusBody,
  UpdateAccessBody,
  UserDetail,
  UserListQuery,
  UserView,
} from './users.schemas.js';
import type { UserAdminService } from './users.service.js';

const access = { user: 'auth:manage', scope: 'scoped' } as const;
const tags = ['access'];
const Refused = { 400: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };

export function usersRoutes(users: UserAdminService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/auth/users',
      {
        config: { access },
        schema: {
          tags,
          summary: 'Users you manage',
          querystring: UserListQuery,
          response: { 200: PageOf(UserView), 400: ErrorResponse },
        },
      },
      async (request) => {
        const { cursor, limit, ...query } = request.query;
        const take = clampLimit(limit);
        const after = decodeCursor<string>(cursor, 'string');
        const rows = await users.list(callContext(request), query, take, after);
        return pageOf(
          rows,
          take,
          (u) => users.present(u),
          (u) => encodeCursor(u.username),
        );
      },
    );

    app.post(
      '/auth/users',
      {
        config: { access },
        schema: {
          tags,
          summary: 'Create a user (with a password, or none for single sign-on only)',
          body: CreateUserBody,
          response: { 201: Data(UserDetail), ...Refused },
        },
      },
      async (request, reply) =>
        reply.status(201).send({ data: await users.create(request.body, callContext(request)) }),
    );

    app.get(
      '/auth/users/:id',
      {
        config: { access },
        schema: {
          tags,
          summary: 'One user: grants, groups, effective permissions and action states',
          params: UuidParams,
          response: { 200: Data(UserDetail), 404: ErrorResponse },
        },
      },
      async (request) => ({ data: await users.detail(request.params.id, callContext(request)) }),
    );

    app.get(
      '/auth/users/:id/actions',
      {
        config: { access },
        schema: {
          tags,
          summary: 'What you may do to this user now, and why not when not',
          params: UuidParams,
          response: { 200: Data(Type.Array(ActionState)), 404: ErrorResponse },
        },
      },
      async (request) => ({
        data: (await users.detail(request.params.id, callContext(request))).actions,
      }),
    );

    app.patch(
      '/auth/users/:id/access',
      {
        config: { access },
        schema: {
          tags,
          summary: "Replace a user's grants and/or groups (ends their sessions)",
          params: UuidParams,
          body: UpdateAccessBody,
          response: { 200: Data(UserDetail), ...Refused },
        },
      },
      async (request) => ({
        data: await users.updateAccess(request.params.id, request.body, callContext(request)),
      }),
    );

    app.patch(
      '/auth/users/:id/password',
      {
        config: { access },
        schema: {
          tags,
          summary: "Set or remove a user's password (ends their other sessions)",
          params: UuidParams,
          body: SetPasswordBody,
          response: { 200: Data(UserDetail), ...Refused },
        },
      },
      async (request) => ({
        data: await users.setPassword(request.params.id, request.body, callContext(request)),
      }),
    );

    app.patch(
      '/auth/users/:id/status',
      {
        config: { access },
        schema: {
          tags,
          summary: 'Enable or disable a user (disabling ends all their sessions at once)',
          params: UuidParams,
          body: SetStatusBody,
          response: { 200: Data(UserDetail), ...Refused },
        },
      },
      async (request) => ({
        data: await users.setStatus(request.params.id, request.body, callContext(request)),
      }),
    );

    app.delete(
      '/auth/users/:id',
      {
        config: { access },
        schema: {
          tags,
          summary: 'Delete a user',
          params: UuidParams,
          response: { 204: NoContent, ...Refused },
        },
      },
      async (request, reply) => {
        await users.remove(request.params.id, callContext(request));
        return reply.status(204).send(null);
      },
    );
  };
}
