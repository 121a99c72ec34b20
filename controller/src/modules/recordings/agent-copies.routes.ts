import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AgentCopyRemovedBody } from '../../../../shared/src/agent-api.js';
import { ErrorResponse, NoContent } from '../../core/pagination.js';
import { callContext } from '../../http/route-access.js';
import type { AgentCopiesService } from './agent-copies.service.js';
import { RecordingParams } from './recordings.schemas.js';

/** What an agent reports of its cached copy of a recording (AGENT_ROUTES.agentCopyRemoved). */
export function agentCopiesRoutes(copies: AgentCopiesService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/recordings/:id/agent-copy/removed',
      {
        config: { access: { agent: 'recording:control' } },
        schema: {
          tags: ['agent'],
          summary: "An agent-cache retention policy removed the agent's copy of a confirmed recording",
          params: RecordingParams,
          body: AgentCopyRemovedBody,
          response: { 204: NoContent, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request, reply) => {
        await copies.removed(request.params.id, request.body, callContext(request));
        return reply.code(204).send(null);
      },
    );
  };
}
