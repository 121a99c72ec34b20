import type { FastifyReply } from 'fastify';

/**
 * Sends JSON that a route wrote as text itself (a hot list: recordings/listed-json.ts), as it is:
 * Fastify sends a string or a Buffer payload without serialising it again. The text must be what
 * the route's response schema would write; each route that uses this has a test pinning that,
 * byte for byte (test/integration/list-answers.test.ts).
 */
export function sendJsonText(reply: { type: FastifyReply['type'] }, text: string | Buffer): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(text);
}
