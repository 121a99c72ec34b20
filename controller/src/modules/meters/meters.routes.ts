import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { Data, ErrorResponse } from '../../core/pagination.js';
import { callContext } from '../../http/route-access.js';
import { MeterEventsQuery, MeterParams, MeterSnapshot } from './meters.schemas.js';
import type { MetersService } from './meters.service.js';
import { SSE_HEARTBEAT_MS, sendMeterEvents } from './meters.sse.js';

export function metersRoutes(
  meters: MetersService,
  options: { heartbeatMs?: number } = {},
): FastifyPluginAsyncTypebox {
  const heartbeatMs = options.heartbeatMs ?? SSE_HEARTBEAT_MS;
  return async (app) => {
    app.get(
      '/nodes/:id/meters',
      {
        config: { access: { user: 'node:read', scope: 'scoped' } },
        schema: {
          tags: ['nodes'],
          summary: "The node's latest meter frame (live, from memory)",
          params: MeterParams,
          response: { 200: Data(MeterSnapshot), 404: ErrorResponse },
        },
      },
      async (request) => ({ data: await meters.latest(request.principal, request.params.id) }),
    );

    app.get(
      '/meter-events',
      {
        config: { access: { user: 'node:read', scope: 'scoped' } },
        schema: {
          tags: ['nodes'],
          summary: 'Live meter frames as Server-Sent Events',
          description:
            'Each frame of a node you may read arrives as `event: meter` with ' +
            '`data: {"nodeId": …, "frame": …}`; a comment line every 15 s keeps the connection ' +
            'open. A slow reader loses its oldest frames, never the newest. `nodeId` (repeatable) and ' +
            '`nodes` (comma-separated) name the nodes wanted, at most 200 together; `rate=1` sends at most ' +
            'one frame per node a second (the peaks and clips of that second folded in), for overviews.',
          querystring: MeterEventsQuery,
          produces: ['text/event-stream'],
          response: {
            200: Type.String({ description: 'text/event-stream' }),
            400: ErrorResponse,
            403: ErrorResponse,
            404: ErrorResponse,
          },
        },
      },
      async (request, reply) => {
        const { nodeId, nodes, rate } = request.query;
        const named = [...(nodeId ?? []), ...(nodes?.split(',') ?? [])];
        const subscription = await meters.openStream(callContext(request), {
          nodeIds: named.length > 0 ? named : undefined,
          rate: rate === 1 ? 1 : 10,
        });
        await sendMeterEvents(reply, subscription, heartbeatMs);
      },
    );
  };
}
