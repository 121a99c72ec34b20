/**
 * A node's audio interfaces: the agent's report (PUT, node credential) and the operator's reads
 * and edits.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { InterfaceReport, InterfaceReportResult } from '../../../../shared/src/agent-api.js';
import { Data, ErrorResponse } from '../../core/pagination.js';
import { callContext } from '../../http/route-access.js';
import { InterfaceParams, InterfaceSchema, UpdateInterfaceBody } from './interfaces.schemas.js';
import type { InterfacesService } from './interfaces.service.js';
import { NodeParams } from './nodes.schemas.js';

export function interfacesRoutes(interfaces: InterfacesService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/nodes/:id/interfaces',
      {
        config: { access: { user: 'node:read', scope: 'scoped' } },
        schema: {
          tags: ['nodes'],
          summary: 'The node’s audio interfaces as its agent reported them (absent ones kept)',
          params: NodeParams,
          response: { 200: Data(Type.Array(InterfaceSchema)), 404: ErrorResponse },
        },
      },
      async (request) => ({ data: await interfaces.list(request.params.id, request.principal) }),
    );

    app.patch(
      '/nodes/:id/interfaces/:iid',
      {
        config: { access: { user: 'node:manage', scope: 'scoped' } },
        schema: {
          tags: ['nodes'],
          summary: 'Set an interface’s alias, enabled channels and channel names',
          params: InterfaceParams,
          body: UpdateInterfaceBody,
          response: { 200: Data(InterfaceSchema), 400: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request) => ({
        data: await interfaces.update(
          request.params.id,
          request.params.iid,
          request.body,
          callContext(request),
        ),
      }),
    );

    app.put(
      '/nodes/:id/interfaces',
      {
        config: { access: { agent: 'node:control' } },
        schema: {
          tags: ['agent'],
          summary: 'The agent reports its capture devices; devices it no longer lists are marked absent',
          params: NodeParams,
          body: InterfaceReport,
          response: { 200: Data(InterfaceReportResult), 400: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request) => ({
        data: await interfaces.report(request.params.id, request.body, callContext(request)),
      }),
    );
  };
}
