import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import {
  EnrollExchangeBody,
  EnrollExchangeResult,
  HeartbeatBody,
  HeartbeatResult,
  NodeConfig,
} from '../../../../shared/src/agent-api.js';
import { clampLimit, Data, decodeCursor, ErrorResponse, NoContent, PageOf } from '../../core/pagination.js';
import { type ExportFormat, type ExportRows, exportTable } from '../../core/table-export.js';
import { exportRoutes } from '../../http/export-routes.js';
import { sendJsonText } from '../../http/json-text.js';
import { callContext } from '../../http/route-access.js';
import { NodeDetailSchema } from './interfaces.schemas.js';
import type { InterfacesService } from './interfaces.service.js';
import type { NodeManagementService } from './node-management.service.js';
import type { NodeRow } from './nodes.repository.js';
import {
  CommandResults,
  EnrollBody,
  EnrollResult,
  NodeActions,
  NodeFacets,
  NodeFacetsQuery,
  NodeId,
  NodeListQuery,
  NodeParams,
  NodeSchema,
  RotateResult,
  UpdateNodeBody,
} from './nodes.schemas.js';
import type { NodesService } from './nodes.service.js';

const NodeFilters = Type.Omit(NodeListQuery, ['cursor', 'limit']);
const CSV_COLUMNS = [
  'id',
  'name',
  'site',
  'tags',
  'location',
  'notes',
  'enrolled',
  'online',
  'lastSeenAt',
  'agentVersion',
  'captureDevice',
  'sampleRate',
  'channels',
  'decommissionedAt',
  'createdAt',
] as const;

const read = { access: { user: 'node:read', scope: 'scoped' } } as const;
const manage = { access: { user: 'node:manage', scope: 'scoped' } } as const;

export function nodesRoutes(
  nodes: NodesService,
  management: NodeManagementService,
  interfaces: Pick<InterfacesService, 'ofVisibleNode'>,
): FastifyPluginAsyncTypebox {
  const exportOf = (rows: ExportRows<NodeRow>, format: ExportFormat) =>
    exportTable({
      name: 'nodes',
      format,
      rows,
      present: (row) => nodes.present(row),
      columns: CSV_COLUMNS,
      flatten: (row) => {
        const { presence, capture, ...v } = nodes.present(row);
        return {
          ...v,
          site: v.site.name,
          tags: v.tags.join('; '),
          online: presence.online,
          lastSeenAt: presence.lastSeenAt,
          captureDevice: capture.device,
          sampleRate: capture.sampleRate,
          channels: capture.channels,
        };
      },
      now: new Date(),
    });

  return async (app) => {
    await app.register(
      exportRoutes({
        url: '/nodes/export',
        tags: ['nodes'],
        noun: 'nodes',
        access: read.access,
        filters: NodeFilters,
        id: NodeId,
        filtered: (principal, filter, limit, after) => nodes.list(principal, filter, limit, after?.id),
        selected: (principal, ids) => management.listByIds(principal, ids),
        file: exportOf,
        audit: (ctx, summary) => management.recordExport(ctx, summary),
      }),
    );

    app.patch(
      '/nodes/:id',
      {
        config: manage,
        schema: {
          tags: ['nodes'],
          summary: 'Rename a node, move it to another site, or change its tags, location or notes',
          params: NodeParams,
          body: UpdateNodeBody,
          response: { 200: Data(NodeSchema), 400: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request) => ({
        data: nodes.present(await management.update(request.params.id, request.body, callContext(request))),
      }),
    );

    app.get(
      '/nodes/:id/actions',
      {
        config: read,
        schema: {
          tags: ['nodes'],
          summary: 'What you can do with the node now, each with the reason when not',
          params: NodeParams,
          response: { 200: Data(NodeActions), 404: ErrorResponse },
        },
      },
      async (request) => ({ data: await management.actions(request.params.id, request.principal) }),
    );

    app.get(
      '/nodes/:id/command-results',
      {
        config: read,
        schema: {
          tags: ['nodes'],
          summary: 'The last command results the node’s agent reported (newest first, kept in memory)',
          params: NodeParams,
          response: { 200: Data(CommandResults), 404: ErrorResponse },
        },
      },
      async (request) => ({ data: await management.commandResults(request.params.id, request.principal) }),
    );

    app.post(
      '/nodes/:id/decommission',
      {
        config: manage,
        schema: {
          tags: ['nodes'],
          summary: 'Retire a node: revoke its credential, disconnect it now; its recordings are kept',
          params: NodeParams,
          response: { 200: Data(NodeSchema), 404: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request) => ({
        data: nodes.present(await management.decommission(request.params.id, callContext(request))),
      }),
    );

    app.delete(
      '/nodes/:id',
      {
        config: manage,
        schema: {
          tags: ['nodes'],
          summary:
            'Delete a decommissioned node with nothing pending and no recordings (409 names what remains)',
          params: NodeParams,
          response: { 204: NoContent, 404: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request, reply) => {
        await management.remove(request.params.id, callContext(request));
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/nodes',
      {
        config: { access: { user: 'node:read', scope: 'scoped' } },
        schema: {
          tags: ['nodes'],
          summary: 'Node inventory you may see, with presence',
          querystring: NodeListQuery,
          response: { 200: PageOf(NodeSchema), 400: ErrorResponse },
        },
      },
      async (request, reply) => {
        const { cursor, limit, ...query } = request.query;
        const take = clampLimit(limit);
        const page = await nodes.listPage(
          request.principal,
          query,
          take,
          decodeCursor<string>(cursor, 'string'),
        );
        return sendJsonText(reply, page); // written in the schema's order with its types (listed-json.ts)
      },
    );

    app.get(
      '/nodes/facets',
      {
        config: { access: { user: 'node:read', scope: 'scoped' } },
        schema: {
          tags: ['nodes'],
          summary:
            'How many nodes the list’s filters select, by site, presence, enrollment and capture state',
          querystring: NodeFacetsQuery,
          response: { 200: Data(NodeFacets), 400: ErrorResponse },
        },
      },
      async (request) => ({ data: await nodes.facets(request.principal, request.query) }),
    );

    app.get(
      '/nodes/:id',
      {
        config: { access: { user: 'node:read', scope: 'scoped' } },
        schema: {
          tags: ['nodes'],
          summary: 'One node with presence and its audio interfaces',
          params: NodeParams,
          response: { 200: Data(NodeDetailSchema), 404: ErrorResponse },
        },
      },
      async (request) => {
        const node = await nodes.visibleNode(request.principal, 'node:read', request.params.id);
        return { data: { ...nodes.present(node), interfaces: await interfaces.ofVisibleNode(node) } };
      },
    );

    app.post(
      '/nodes/enroll',
      {
        config: { access: { user: 'node:manage', scope: 'scoped' } },
        schema: {
          tags: ['nodes'],
          summary: 'Create a node and a one-time enrollment token',
          body: EnrollBody,
          response: { 201: Data(EnrollResult), 403: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request, reply) =>
        reply.status(201).send({ data: await nodes.enroll(request.body, callContext(request)) }),
    );

    app.post(
      '/agent/enroll',
      {
        // Authenticated by the one-time enrollment token in the body.
        config: { access: { public: true } },
        schema: {
          tags: ['agent'],
          summary: 'Exchange an enrollment token for the node credential (once)',
          body: EnrollExchangeBody,
          response: { 200: Data(EnrollExchangeResult), 401: ErrorResponse },
        },
      },
      async (request) => ({ data: await nodes.exchangeEnrollment(request.body.token, callContext(request)) }),
    );

    app.post(
      '/nodes/:id/credentials/rotate',
      {
        config: { access: { user: 'node:manage', scope: 'scoped' } },
        schema: {
          tags: ['nodes'],
          summary: 'Replace the node credential (the old one stops working)',
          params: NodeParams,
          response: { 200: Data(RotateResult), 404: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request) => ({ data: await nodes.rotateCredential(request.params.id, callContext(request)) }),
    );

    app.get(
      '/nodes/:id/config',
      {
        config: { access: { agent: 'node:control' } },
        schema: {
          tags: ['agent'],
          summary: "The agent's configuration",
          params: NodeParams,
          response: { 200: Data(NodeConfig), 404: ErrorResponse },
        },
      },
      async (request) => ({ data: await nodes.agentConfig(request.params.id, callContext(request)) }),
    );

    app.post(
      '/nodes/:id/heartbeat',
      {
        config: { access: { agent: 'node:control' } },
        schema: {
          tags: ['agent'],
          summary: 'Agent heartbeat',
          params: NodeParams,
          body: HeartbeatBody,
          response: { 200: Data(HeartbeatResult), 404: ErrorResponse },
        },
      },
      async (request) => ({
        data: await nodes.heartbeat(request.params.id, request.body, callContext(request)),
      }),
    );
  };
}
