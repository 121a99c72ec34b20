import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { clampLimit, Data, ErrorResponse, NoContent, PageOf, PageOnlyQuery } from '../../core/pagination.js';
import { callContext } from '../../http/route-access.js';
import { ActionState, UuidParams } from './access.schemas.js';
import { CreateGroupBody, GroupView, MemberParams, UpdateGroupBody } from './groups.schemas.js';
import type { GroupsService } from './groups.service.js';

const access = { user: 'auth:manage', scope: 'scoped' } as const;
const tags = ['access'];
const Refused = { 400: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };

export function groupsRoutes(groups: GroupsService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/auth/groups',
      {
        config: { access },
        schema: {
          tags,
          summary: 'Groups you manage, with members and grants, by name',
          querystring: PageOnlyQuery,
          response: { 200: PageOf(GroupView), 400: ErrorResponse },
        },
      },
      async (request) =>
        groups.list(callContext(request), clampLimit(request.query.limit), request.query.cursor),
    );

    app.post(
      '/auth/groups',
      {
        config: { access },
        schema: {
          tags,
          summary: 'Create a group (grants only what you could grant yourself)',
          body: CreateGroupBody,
          response: { 201: Data(GroupView), ...Refused },
        },
      },
      async (request, reply) =>
        reply.status(201).send({ data: await groups.create(request.body, callContext(request)) }),
    );

    app.get(
      '/auth/groups/:id',
      {
        config: { access },
        schema: {
          tags,
          summary: 'One group',
          params: UuidParams,
          response: { 200: Data(GroupView), 404: ErrorResponse },
        },
      },
      async (request) => ({ data: await groups.detail(request.params.id, callContext(request)) }),
    );

    app.get(
      '/auth/groups/:id/actions',
      {
        config: { access },
        schema: {
          tags,
          summary: 'What you may do to this group now, and why not when not',
          params: UuidParams,
          response: { 200: Data(Type.Array(ActionState)), 404: ErrorResponse },
        },
      },
      async (request) => ({ data: await groups.actions(request.params.id, callContext(request)) }),
    );

    app.patch(
      '/auth/groups/:id',
      {
        config: { access },
        schema: {
          tags,
          summary: 'Rename a group, change its IdP mapping, or replace its grants',
          params: UuidParams,
          body: UpdateGroupBody,
          response: { 200: Data(GroupView), ...Refused },
        },
      },
      async (request) => ({
        data: await groups.update(request.params.id, request.body, callContext(request)),
      }),
    );

    app.delete(
      '/auth/groups/:id',
      {
        config: { access },
        schema: {
          tags,
          summary: 'Delete a group',
          params: UuidParams,
          response: { 204: NoContent, ...Refused },
        },
      },
      async (request, reply) => {
        await groups.remove(request.params.id, callContext(request));
        return reply.status(204).send(null);
      },
    );

    app.put(
      '/auth/groups/:id/members/:userId',
      {
        config: { access },
        schema: {
          tags,
          summary: 'Add a user to a group (ends their sessions)',
          params: MemberParams,
          response: { 200: Data(GroupView), ...Refused },
        },
      },
      async (request) => ({
        data: await groups.addMember(request.params.id, request.params.userId, callContext(request)),
      }),
    );

    app.delete(
      '/auth/groups/:id/members/:userId',
      {
        config: { access },
        schema: {
          tags,
          summary: 'Remove a user from a group (ends their sessions)',
          params: MemberParams,
          response: { 204: NoContent, ...Refused },
        },
      },
      async (request, reply) => {
        await groups.removeMember(request.params.id, request.params.userId, callContext(request));
        return reply.status(204).send(null);
      },
    );
  };
}
