/**
 * Live events: the Server-Sent Events stream, a WebSocket ticket, and the same stream over a
 * WebSocket. The WebSocket is public at the HTTP layer: the single-use ticket it presents as
 * `?ticket=` is its credential (never a session or API token in a URL).
 */
import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type {} from '@fastify/websocket';
import Type from 'typebox';
import { ERROR_CODES } from '../../../../shared/src/errors.js';
import { AUDIT_APPENDED } from '../../../../shared/src/live-events.js';
import { AppError } from '../../core/errors.js';
import { Data, ErrorResponse } from '../../core/pagination.js';
import { callContext } from '../../http/route-access.js';
import type { MetersService } from '../meters/index.js';
import { EventsHeaders, EventsQuery, EventsSocketQuery, IssuedTicket } from './events.schemas.js';
import { type EventsService, EventsTicketError } from './events.service.js';
import { EVENTS_CLOSE, EVENTS_HEARTBEAT_MS, sendEventsSse, sendEventsWebSocket } from './events.writer.js';

/** The WebSocket's path under /api/v1. */
export const EVENTS_SOCKET_PATH = '/events/stream';

const KINDS =
  'Kinds (each needs its read permission, over the site or node the event belongs to): ' +
  '`node.*` node:read; `recording.state`, `job.state`, `upload.progress` recording:read; ' +
  '`health.*` health:read; `settings.*` settings:read (fleet-wide). Not stored (no id, not replayed): `' +
  AUDIT_APPENDED +
  '` `{ seq, count }`, within about a second of audit events its reader may read ' +
  '(audit:read over their site, node or guild, as `GET /audit-events` scopes them).';

/** The meters module's stream of live frames, for the events stream's `meters` option. */
export type MeterFeeds = Pick<MetersService, 'openStream'>;

export function eventsRoutes(
  events: EventsService,
  meters: MeterFeeds,
  options: { heartbeatMs?: number } = {},
): FastifyPluginAsyncTypebox {
  const heartbeatMs = options.heartbeatMs ?? EVENTS_HEARTBEAT_MS;
  return async (app) => {
    app.get(
      '/events',
      {
        config: { access: { user: 'authenticated' } },
        schema: {
          tags: ['events'],
          summary: 'Live events as Server-Sent Events',
          description:
            'Every change you may see, as `id: <n>`, `event: <type>`, `data: {id, type, at, siteId, nodeId, ' +
            'subject, data}`. Opens with `event: ready` (the current position) unless `Last-Event-ID` is sent: ' +
            'then what you missed follows first, in order, or `event: reset` when that id is older than what ' +
            'is kept (read the current state again). A comment line every 15 s keeps the connection open; ' +
            "`event: end` says why the controller ended the stream. With `meters`, the named nodes' live " +
            'meter frames come on the same stream as `event: meter` (as on /meter-events, without an id), ' +
            'so a browser tab needs one connection for both; to change the nodes, open a new stream with ' +
            `\`lastEventId\` and close the old one. ${KINDS}`,
          headers: EventsHeaders,
          querystring: EventsQuery,
          produces: ['text/event-stream'],
          response: {
            200: Type.String({ description: 'text/event-stream' }),
            400: ErrorResponse,
            503: ErrorResponse,
          },
        },
      },
      async (request, reply) => {
        const { lastEventId, meters: meterNodes, meterRate } = request.query;
        const last = request.headers['last-event-id'] ?? lastEventId;
        const ctx = callContext(request);
        // Checked first: a node outside the caller's scope refuses the stream before it opens.
        const frames =
          meterNodes === undefined
            ? undefined
            : await meters.openStream(ctx, {
                nodeIds: meterNodes.split(','),
                rate: meterRate === 1 ? 1 : 10,
              });
        const stream = await events
          .open(ctx, 'sse', last === undefined ? undefined : Number(last))
          .catch((error: unknown) => {
            frames?.close();
            throw error;
          });
        await sendEventsSse(reply, stream, () => events.close(stream), heartbeatMs, frames);
      },
    );

    app.post(
      '/events/tickets',
      {
        config: { access: { user: 'authenticated' } },
        schema: {
          tags: ['events'],
          summary: 'A single-use ticket for the live events WebSocket',
          description:
            `Answers 201 with a ticket valid for 30 s and usable once. Connect a WebSocket to \`/api/v1${EVENTS_SOCKET_PATH}` +
            '?ticket=…` (and `&lastEventId=…` to resume).',
          response: { 201: Data(IssuedTicket), 403: ErrorResponse },
        },
      },
      async (request, reply) =>
        reply.code(201).send({ data: await events.issueTicket(callContext(request)) }),
    );

    app.route({
      method: 'GET',
      url: EVENTS_SOCKET_PATH,
      config: { access: { public: true } },
      schema: {
        tags: ['events'],
        summary: 'Live events over a WebSocket',
        description:
          'Upgrade to a WebSocket with `?ticket=` from POST /api/v1/events/tickets (and `lastEventId` to resume). ' +
          'Each message is one JSON object `{id, event, data}`, the same as the Server-Sent Events. Close codes: ' +
          '4001 ticket unknown, used, expired or its user no longer valid; 4000 the stream ended; 1001 controller ' +
          'stopping. A plain GET is answered 426.',
        querystring: EventsSocketQuery,
        response: { 400: ErrorResponse, 426: ErrorResponse },
      },
      handler: async () => {
        throw new AppError(426, ERROR_CODES.badRequest, 'Connect with a WebSocket (Upgrade: websocket).');
      },
      wsHandler: (socket, request) => {
        const { ticket, lastEventId } = request.query as { ticket?: string; lastEventId?: string };
        const ctx = { requestId: request.id, sourceIp: request.ip };
        const serve = async () => {
          if (ticket === undefined)
            throw new EventsTicketError('connect with ?ticket= from POST /api/v1/events/tickets');
          const principal = await events.redeem(ticket, ctx);
          if (socket.readyState !== socket.OPEN) return;
          const resume = lastEventId === undefined ? undefined : Number(lastEventId);
          const stream = await events.open({ principal, request: ctx }, 'websocket', resume);
          socket.on('close', () => events.close(stream));
          if (socket.readyState !== socket.OPEN) return events.close(stream);
          await sendEventsWebSocket(socket, stream, heartbeatMs);
        };
        // In a socket's callback nothing may throw: it would end the process.
        serve().catch((error: unknown) => {
          if (error instanceof EventsTicketError)
            return socket.close(EVENTS_CLOSE.ticket, error.message.slice(0, 120));
          request.log.error({ err: error }, 'live events socket failed');
          socket.close(1011, 'internal error');
        });
      },
    });
  };
}
