import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Data, ErrorResponse } from '../../core/pagination.js';
import { callContext } from '../../http/route-access.js';
import { AccessPoliciesPatch, AccessPoliciesSchema } from './access-policies.schemas.js';
import type { AccessPoliciesService } from './access-policies.service.js';

const access = { user: 'auth:manage', scope: 'fleet' } as const;
const tags = ['access'];

export function accessPoliciesRoutes(policies: AccessPoliciesService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/auth/access-policies',
      {
        config: { access },
        schema: {
          tags,
          summary: 'Password, session and single-sign-on role-mapping policies',
          response: { 200: Data(AccessPoliciesSchema) },
        },
      },
      async () => ({ data: await policies.get() }),
    );

    app.patch(
      '/auth/access-policies',
      {
        config: { access },
        schema: {
          tags,
          summary: 'Replace the policies named in the body',
          body: AccessPoliciesPatch,
          response: {
            200: Data(AccessPoliciesSchema),
            400: ErrorResponse,
            403: ErrorResponse,
            409: ErrorResponse,
          },
        },
      },
      async (request) => ({ data: await policies.update(request.body, callContext(request)) }),
    );
  };
}
