import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { MAX_MQTT_PAYLOAD_BYTES, MeterFrame } from '../../../../shared/src/mqtt.js';
import { Data, ErrorResponse, NoContent } from '../../core/pagination.js';
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

    app.post(
      '/nodes/:id/meter-frame',
      {
        config: { access: { agent: 'node:control' } },
        bodyLimit: MAX_MQTT_PAYLOAD_BYTES, // what its topic takes
        schema: {
          tags: ['agent'],
          summary: 'The agent pushes a meter frame (HTTP fallback of MQTT `meters`, while MQTT is down)',
          description:
            'The body is the frame the agent would publish on `earshot/v1/nodes/{id}/meters` ' +
            '(docs/mqtt.md). Its own node only. Handled as a published frame: the live meters, ' +
            'the meter stream and calibration see it. Send at most one a second: it is a fallback.',
          params: MeterParams,
          body: MeterFrame,
          response: { 204: NoContent, 400: ErrorResponse, 404: ErrorResponse, 413: ErrorResponse },
        },
      },
      async (request, reply) => {
        await meters.ingest(callContext(request), request.params.id, request.body);
        return reply.code(204).send(null);
      },
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
