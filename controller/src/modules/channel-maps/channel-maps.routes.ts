/**
 * Channel-map routes: assignments (`/settings/channel-map-assignments`: list, set or clear,
 * bulk, history, rollback), staged plans (`/settings/channel-map-plans`: stage, list, detail
 * with its diff, apply, discard), and the agent's resolved map (`/nodes/:id/channel-map-assignments`).
 * Assignments and plans act on nodes: settings:read / settings:manage in the node's scope.
 * The templates are a settings family: their routes are the settings module's.
 */
import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { NodeChannelMap } from '../../../../shared/src/agent-api.js';
import { parsePositionCursor, positionCursor } from '../../core/page-position.js';
import {
  clampLimit,
  Data,
  decodeCursor,
  ErrorResponse,
  encodeCursor,
  NoContent,
  PageOf,
  PageOnlyQuery,
} from '../../core/pagination.js';
import { callContext } from '../../http/route-access.js';
import type { ChannelMapPlans } from './channel-map-plans.service.js';
import {
  Assignment,
  AssignmentHistoryEntry,
  AssignmentListQuery,
  AssignmentParams,
  BulkAssignmentBody,
  Plan,
  PlanActions,
  PlanListQuery,
  PlanParams,
  PutAssignmentBody,
  RollbackAssignmentBody,
  StagePlanBody,
} from './channel-maps.schemas.js';
import { type ChannelMapsService, presentAssignment } from './channel-maps.service.js';

const read = { access: { user: 'settings:read', scope: 'scoped' } } as const;
const manage = { access: { user: 'settings:manage', scope: 'scoped' } } as const;
const tags = ['settings'];
const ASSIGNMENTS = '/settings/channel-map-assignments';
const PLANS = '/settings/channel-map-plans';
const Refusals = { 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };

export function channelMapsRoutes(
  service: ChannelMapsService,
  plans: ChannelMapPlans,
): FastifyPluginAsyncTypebox {
  return async (app) => {
    await app.register(assignmentRoutes(service));
    await app.register(planRoutes(plans));
    app.get(
      '/nodes/:id/channel-map-assignments',
      {
        config: { access: { agent: 'node:control' } },
        schema: {
          tags: ['agent'],
          summary: 'The channel map assigned to this node, resolved: template and groups',
          params: Type.Object({ id: AssignmentParams.properties.nodeId }),
          response: { 200: Data(NodeChannelMap), 404: ErrorResponse },
        },
      },
      async (request) => ({ data: await service.agentMap(request.params.id, request.principal) }),
    );
  };
}

function assignmentRoutes(service: ChannelMapsService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      ASSIGNMENTS,
      {
        config: read,
        schema: {
          tags,
          summary: 'Channel-map assignments of the nodes you may see (filter by nodeId, templateId)',
          querystring: AssignmentListQuery,
          response: { 200: PageOf(Assignment), 400: ErrorResponse },
        },
      },
      async (request) => {
        const { cursor, limit, ...query } = request.query;
        const take = clampLimit(limit);
        const after = decodeCursor<string>(cursor, 'string');
        const { rows, templates } = await service.list(request.principal, query, take, after);
        return {
          data: rows.map((r) => presentAssignment(r, templates)),
          nextCursor: rows.length === take ? encodeCursor(rows[rows.length - 1]!.nodeId) : null,
        };
      },
    );

    app.put(
      `${ASSIGNMENTS}/:nodeId`,
      {
        config: manage,
        schema: {
          tags,
          summary: 'Set or replace the node’s channel map (templateId null clears it): a new revision',
          params: AssignmentParams,
          body: PutAssignmentBody,
          response: { 200: Data(Assignment), ...Refusals },
        },
      },
      async (request) => {
        const { rows, templates } = await service.put(
          request.params.nodeId,
          request.body,
          callContext(request),
        );
        return { data: presentAssignment(rows[0]!, templates) };
      },
    );

    app.delete(
      `${ASSIGNMENTS}/:nodeId`,
      {
        config: manage,
        schema: {
          tags,
          summary: 'Clear the node’s channel map (it records all channels): a new revision',
          description:
            'The cleared revision is in the history (`GET …/:nodeId/history`), which can roll it back.',
          params: AssignmentParams,
          response: { 204: NoContent, ...Refusals },
        },
      },
      async (request, reply) => {
        await service.put(request.params.nodeId, { templateId: null }, callContext(request));
        return reply.code(204).send(null);
      },
    );

    app.post(
      `${ASSIGNMENTS}/bulk`,
      {
        config: manage,
        schema: {
          tags,
          summary: 'Set many nodes’ channel maps in one transaction: all or nothing (400 lists each problem)',
          body: BulkAssignmentBody,
          response: { 200: Data(Type.Array(Assignment)), ...Refusals },
        },
      },
      async (request) => {
        const { items, reason } = request.body;
        const { rows, templates } = await service.bulk(items, reason ?? null, callContext(request));
        return { data: rows.map((r) => presentAssignment(r, templates)) };
      },
    );

    app.get(
      `${ASSIGNMENTS}/:nodeId/history`,
      {
        config: read,
        schema: {
          tags,
          summary:
            'The revisions of the node’s channel-map assignment, oldest first: who, when, before and after',
          params: AssignmentParams,
          querystring: PageOnlyQuery,
          response: { 200: PageOf(AssignmentHistoryEntry), 400: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request) => {
        const { cursor, limit } = request.query;
        return service.history(request.params.nodeId, request.principal, clampLimit(limit), cursor);
      },
    );

    app.post(
      `${ASSIGNMENTS}/:nodeId/rollback`,
      {
        config: manage,
        schema: {
          tags,
          summary: 'Restore an earlier revision of the node’s channel-map assignment, as a new revision',
          params: AssignmentParams,
          body: RollbackAssignmentBody,
          response: { 200: Data(Assignment), ...Refusals },
        },
      },
      async (request) => {
        const { row, templates } = await service.rollback(
          request.params.nodeId,
          request.body,
          callContext(request),
        );
        return { data: presentAssignment(row, templates) };
      },
    );
  };
}

function planRoutes(plans: ChannelMapPlans): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      PLANS,
      {
        config: manage,
        schema: {
          tags,
          summary: 'Stage a set of channel-map assignment changes (stored, nothing applied)',
          body: StagePlanBody,
          response: { 201: Data(Plan), ...Refusals },
        },
      },
      async (request, reply) =>
        reply.code(201).send({ data: await plans.stage(request.body, callContext(request)) }),
    );

    app.get(
      PLANS,
      {
        config: read,
        schema: {
          tags,
          summary: 'Channel-map plans whose nodes you may all see, newest first, with their diffs',
          querystring: PlanListQuery,
          response: { 200: PageOf(Plan), 400: ErrorResponse },
        },
      },
      async (request) => {
        const take = clampLimit(request.query.limit);
        const after = parsePositionCursor(request.query.cursor);
        const listed = await plans.list(request.principal, request.query.state, take, after);
        const last = listed[listed.length - 1];
        return {
          data: listed.map((p) => p.view),
          nextCursor: listed.length === take && last ? positionCursor(last.plan) : null,
        };
      },
    );

    app.get(
      `${PLANS}/:id`,
      {
        config: read,
        schema: {
          tags,
          summary: 'One channel-map plan with its diff (per node, before → after template)',
          params: PlanParams,
          response: { 200: Data(Plan), 404: ErrorResponse },
        },
      },
      async (request) => ({ data: await plans.detail(request.params.id, request.principal) }),
    );

    app.get(
      `${PLANS}/:id/actions`,
      {
        config: read,
        schema: {
          tags,
          summary: 'What you may do to this plan now (apply, discard), and why not when not',
          params: PlanParams,
          response: { 200: Data(PlanActions), 404: ErrorResponse },
        },
      },
      async (request) => ({ data: await plans.actions(request.params.id, request.principal) }),
    );

    app.post(
      `${PLANS}/:id/apply`,
      {
        config: manage,
        schema: {
          tags,
          summary: 'Apply a staged plan in one transaction (409 when stale: a node changed since staging)',
          params: PlanParams,
          response: { 200: Data(Plan), ...Refusals },
        },
      },
      async (request) => ({ data: await plans.apply(request.params.id, callContext(request)) }),
    );

    app.post(
      `${PLANS}/:id/discard`,
      {
        config: manage,
        schema: {
          tags,
          summary: 'Discard a staged plan: nothing is applied, the plan is kept read-only',
          params: PlanParams,
          response: { 200: Data(Plan), 404: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request) => ({ data: await plans.discard(request.params.id, callContext(request)) }),
    );
  };
}
