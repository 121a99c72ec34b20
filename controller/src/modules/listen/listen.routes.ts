/**
 * Live listen: open a session (a single-use ticket), its WebSocket, end it, see a node's
 * sessions (listen.service.ts); and the agent's frames over HTTP while its MQTT is down. The WebSocket is public at the HTTP layer: the ticket it
 * presents, as `?ticket=` or as its first message, is the credential (never a session token
 * or an API token in a URL).
 */
import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type {} from '@fastify/websocket';
import Type from 'typebox';
import { ERROR_CODES } from '../../../../shared/src/errors.js';
import type { ListenEnd } from '../../../../shared/src/listen.js';
import { AppError } from '../../core/errors.js';
import { Data, ErrorResponse, NoContent } from '../../core/pagination.js';
import { callContext } from '../../http/route-access.js';
import {
  ListenParams,
  ListenSession,
  ListenSessionParams,
  OpenedListenSession,
  OpenListenBody,
} from './listen.schemas.js';
import { CLOSE, type ListenService, ListenTicketError } from './listen.service.js';

/** The WebSocket's path under /api/v1 (the node's: a ticket opens its own node's stream only). */
export const listenSocketPath = (nodeId: string) => `/nodes/${encodeURIComponent(nodeId)}/listen/stream`;
/** How long a socket that did not bring its ticket in the URL may take to send it. */
const TICKET_WAIT_MS = 5000;
const TICKET_MAX_CHARS = 200;
/** One frame: its header, a 32-character stream id and the largest Opus packet (shared/src/listen.ts). */
const MAX_LISTEN_CHUNK_BYTES = 2048;

export function listenRoutes(listen: ListenService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/nodes/:id/listen',
      {
        config: { access: { user: 'listen:monitor', scope: 'scoped' } },
        schema: {
          tags: ['listen'],
          summary: 'Open a live listen session on a node',
          description:
            'Answers 201 with a single-use ticket valid for 30 s. Connect a WebSocket to ' +
            '`/api/v1/nodes/{id}/listen/stream` and present the ticket, as `?ticket=` or as the first text message; ' +
            'it receives a JSON hello (codec, rate, channels), then one binary Opus frame per 20 ms ' +
            '(shared/src/listen.ts), and a JSON `end` message when the session ends. Sessions of ' +
            'the same channels share one stream from the agent.',
          params: ListenParams,
          body: OpenListenBody,
          response: {
            201: Data(OpenedListenSession),
            400: ErrorResponse,
            404: ErrorResponse,
            409: ErrorResponse,
          },
        },
      },
      async (request, reply) => {
        const opened = await listen.open(callContext(request), request.params.id, request.body ?? {});
        return reply.code(201).send({ data: opened });
      },
    );

    app.get(
      '/nodes/:id/listen',
      {
        config: { access: { user: 'listen:monitor', scope: 'scoped' } },
        schema: {
          tags: ['listen'],
          summary: "The node's live listen sessions on this controller",
          params: ListenParams,
          response: { 200: Data(Type.Array(ListenSession)), 404: ErrorResponse },
        },
      },
      async (request) => ({ data: await listen.list(callContext(request), request.params.id) }),
    );

    app.delete(
      '/nodes/:id/listen/:sid',
      {
        config: { access: { user: 'listen:monitor', scope: 'scoped' } },
        schema: {
          tags: ['listen'],
          summary: 'End one of your live listen sessions',
          description: 'Its last counts (frames sent and dropped) are in its `listen.end` audit event.',
          params: ListenSessionParams,
          response: { 204: NoContent, 404: ErrorResponse },
        },
      },
      async (request, reply) => {
        await listen.stop(callContext(request), request.params.id, request.params.sid);
        return reply.code(204).send(null);
      },
    );

    app.route({
      method: 'GET',
      url: '/nodes/:id/listen/stream',
      config: { access: { public: true } },
      schema: {
        tags: ['listen'],
        summary: 'The live listen WebSocket',
        description:
          'Upgrade to a WebSocket and present the ticket from POST /api/v1/nodes/{id}/listen (the same node), as ' +
          '`?ticket=` or as the first text message (`{"ticket": "…"}` or the bare ticket) within 5 s. ' +
          'Close codes: 4000 ended, 4001 ticket unknown, used or expired, 4003 access revoked, 4009 the ' +
          'agent refused, 1001 controller stopping; a stalled listener is dropped without a closing ' +
          'handshake. A plain GET is answered 426.',
        response: { 426: ErrorResponse },
      },
      handler: async () => {
        throw new AppError(426, ERROR_CODES.badRequest, 'Connect with a WebSocket (Upgrade: websocket).');
      },
      wsHandler: (socket, request) => {
        const query = request.query as { ticket?: unknown };
        const { id: nodeId } = request.params as { id: string };
        let sessionId: string | undefined;
        const refuse = (reason: string) => {
          const end: ListenEnd = { type: 'end', reason };
          socket.send(JSON.stringify(end));
          socket.close(CLOSE.ticket, reason.slice(0, 120));
        };
        const present = (ticket: string) => {
          try {
            sessionId = listen.connect(ticket, socket, nodeId);
          } catch (error) {
            // In a socket's callback nothing may throw: it would end the process.
            if (error instanceof ListenTicketError) return refuse(error.message);
            request.log.error({ err: error }, 'live listen socket failed');
            socket.close(1011, 'internal error');
          }
        };
        let timer: NodeJS.Timeout | undefined;
        socket.on('close', () => {
          clearTimeout(timer);
          if (sessionId) listen.disconnected(sessionId);
        });
        if (typeof query.ticket === 'string') return present(query.ticket);
        timer = setTimeout(() => refuse('no listen ticket within 5 s'), TICKET_WAIT_MS);
        socket.once('message', (data, isBinary) => {
          clearTimeout(timer);
          const text = isBinary ? '' : data.toString();
          if (text.length === 0 || text.length > TICKET_MAX_CHARS)
            return refuse('send the listen ticket first');
          present(text.startsWith('{') ? ticketOf(text) : text);
        });
      },
    });
  };
}

/**
 * The agent's live listen frames over HTTP. Its own plugin, so that only raw bytes are parsed
 * here (any other content type is a 415) and every other route keeps JSON.
 */
export function listenChunkRoutes(listen: ListenService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_request, body, done) =>
      done(null, body),
    );

    app.post(
      '/nodes/:id/listen/chunk',
      {
        config: { access: { agent: 'node:control' } },
        bodyLimit: MAX_LISTEN_CHUNK_BYTES,
        schema: {
          tags: ['agent'],
          summary:
            'The agent pushes a live listen frame (HTTP fallback of MQTT `listen`, while MQTT is down)',
          description:
            'The body (application/octet-stream) is one frame as the agent would publish it on ' +
            '`earshot/v1/nodes/{id}/listen`: the binary header of shared/src/listen.ts and one Opus packet. ' +
            'Its own node only; relayed to the listeners of its stream like a published frame.',
          params: ListenParams,
          response: {
            204: NoContent,
            400: ErrorResponse,
            404: ErrorResponse,
            413: ErrorResponse,
            415: ErrorResponse,
          },
        },
      },
      async (request, reply) => {
        await listen.ingestChunk(callContext(request), request.params.id, request.body as Buffer | undefined);
        return reply.code(204).send(null);
      },
    );
  };
}

/** `{"ticket": "…"}` as the first message, as well as the bare ticket. */
function ticketOf(text: string): string {
  try {
    const value = JSON.parse(text) as { ticket?: unknown };
    return typeof value.ticket === 'string' ? value.ticket : '';
  } catch {
    return '';
  }
}
