/**
 * Request ids: a caller's `x-request-id` is kept when it is short and plain (so a trace can
 * cross services), otherwise a UUID is made; every response carries it back.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** Fastify's `genReqId` option. */
export function requestId(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID();
}

export function installRequestIdHeader(app: FastifyInstance): void {
  // A callback hook, not an async one: every request runs it, and a promise per hook is not free.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
}
