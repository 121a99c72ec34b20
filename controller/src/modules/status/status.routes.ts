/** `GET /api/v1/status`: the aggregated, scoped status. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Data } from '../../core/pagination.js';
import { StatusSchema } from './status.schemas.js';
import type { StatusService } from './status.service.js';

export function statusRoutes(status: StatusService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/status',
      {
        config: { access: { user: 'node:read', scope: 'scoped' } },
        schema: {
          tags: ['status'],
          summary: 'Aggregated status of the nodes in your scope: online, recording, open health events',
          response: { 200: Data(StatusSchema) },
        },
      },
      async (request) => ({ data: await status.status(request.principal) }),
    );
  };
}
