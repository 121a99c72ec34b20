import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { Data, ErrorResponse } from '../../core/pagination.js';
import { callContext } from '../../http/route-access.js';
import type { RetentionService } from './retention.service.js';

const Outcome = Type.Object({
  dryRun: Type.Boolean(),
  at: Type.String({ format: 'date-time' }),
  removals: Type.Array(
    Type.Object({
      recordingId: Type.String(),
      policyId: Type.String(),
      policyName: Type.String(),
      rule: Type.Enum(['max-age', 'max-bytes', 'min-free-disk']),
      sizeBytes: Type.Integer(),
    }),
    { description: 'In the order they are (or would be) removed' },
  ),
  kept: Type.Object(
    {
      'legal-hold': Type.Integer(),
      tagged: Type.Integer(),
      'not-uploaded': Type.Integer(),
      'last-copy': Type.Integer(),
    },
    { description: 'Recordings a rule would have taken but that stay, by reason' },
  ),
  freedBytes: Type.Integer(),
});

const RunBody = Type.Object(
  {
    dryRun: Type.Optional(
      Type.Boolean({ description: 'List what would be removed, and remove nothing (default false)' }),
    ),
  },
  { additionalProperties: false },
);

export function retentionRoutes(retention: RetentionService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/retention',
      {
        config: { access: { user: 'recording:read', scope: 'fleet' } },
        schema: {
          tags: ['retention'],
          summary: "The last retention run on this controller's store (null before the first)",
          response: { 200: Data(Type.Union([Outcome, Type.Null()])) },
        },
      },
      async () => ({ data: retention.status() }),
    );

    app.post(
      '/retention/run',
      {
        config: { access: { user: 'recording:delete', scope: 'fleet' } },
        schema: {
          tags: ['retention'],
          summary: "Apply the controller's retention policies now, or list what they would remove (dryRun)",
          body: RunBody,
          response: { 200: Data(Outcome), 400: ErrorResponse },
        },
      },
      async (request) => {
        const ctx = callContext(request);
        return { data: request.body?.dryRun ? await retention.dryRun(ctx) : await retention.apply(ctx) };
      },
    );
  };
}
