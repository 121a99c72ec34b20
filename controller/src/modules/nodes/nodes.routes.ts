import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  EnrollExchangeBody,
  EnrollExchangeResult,
  HeartbeatBody,
  HeartbeatResult,
  NodeConfig,
} from '../../../../shared/src/agent-api.js';
import {
  clampLimit,
  Data,
  decodeCursor,
  ErrorResponse,
  encodeCursor,
  PageOf,
  pageOf,
} from '../../core/pagination.js';
import { callContext } from '../../http/route-access.js';
import {
  EnrollBody,
  EnrollResult,
  NodeListQuery,
  NodeParams,
  NodeSchema,
  RotateResult,
} from './nodes.schemas.js';
import type { NodesService } from './nodes.service.js';

export function nodesRoutes(nodes: NodesService): FastifyPluginAsyncTypebox {
  return async (app) => {
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
      async (request) => {
        const { cursor, limit, ...query } = request.query;
        const take = clampLimit(limit);
        const rows = await nodes.list(request.principal, query, take, decodeCursor<string>(cursor, 'string'));
        return pageOf(
          rows,
          take,
          (n) => nodes.present(n),
          (n) => encodeCursor(n.id),
        );
      },
    );

    app.get(
      '/nodes/:id',
      {
        config: { access: { user: 'node:read', scope: 'scoped' } },
        schema: {
          tags: ['nodes'],
          summary: 'One node with presence',
          params: NodeParams,
          response: { 200: Data(NodeSchema), 404: ErrorResponse },
        },
      },
      async (request) => ({
        data: nodes.present(await nodes.visibleNode(request.principal, 'node:read', request.params.id)),
      }),
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
