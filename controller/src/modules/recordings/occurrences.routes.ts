import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ContinuationBody, JobLease, OccurrenceSyncResult } from '../../../../shared/src/agent-api.js';
import { Data, ErrorResponse } from '../../core/pagination.js';
import { callContext } from '../../http/route-access.js';
import type { OccurrencesService } from './occurrences.service.js';
import { NodeJobParams, ObjectId } from './recordings.schemas.js';

const PartParams = Type.Object({
  jid: ObjectId,
  rid: Type.String({ format: 'uuid', description: 'The new part’s recording id, chosen by the agent' }),
});

/** Agent service routes for scheduled occurrences and continuation parts. */
export function occurrencesRoutes(occurrences: OccurrencesService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/nodes/:id/occurrences/sync',
      {
        config: { access: { agent: 'recording:control' } },
        schema: {
          tags: ['agent'],
          summary: "Lease the node's scheduled occurrences of the next 7 days and list those it holds",
          params: NodeJobParams,
          response: { 200: Data(OccurrenceSyncResult), 404: ErrorResponse },
        },
      },
      async (request) => ({ data: await occurrences.sync(request.params.id, callContext(request)) }),
    );

    app.put(
      '/recording-jobs/:jid/parts/:rid',
      {
        config: { access: { agent: 'recording:control' } },
        schema: {
          tags: ['agent'],
          summary: 'Register the part recorded after an agent restart inside the job’s window (idempotent)',
          params: PartParams,
          body: ContinuationBody,
          response: { 200: Data(JobLease), 404: ErrorResponse, 409: ErrorResponse },
        },
      },
      async (request) => ({
        data: await occurrences.continuePart(
          request.params.jid,
          request.params.rid,
          request.body,
          callContext(request),
        ),
      }),
    );
  };
}
