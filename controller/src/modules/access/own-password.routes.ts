import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ErrorResponse, NoContent } from '../../core/pagination.js';
import { callContext } from '../../http/route-access.js';
import { Password } from './auth/auth.schemas.js';
import type { OwnPasswordService } from './own-password.service.js';

const ChangeOwnPasswordBody = Type.Object(
  { currentPassword: Type.String({ minLength: 1, maxLength: 1024 }), password: Password },
  { additionalProperties: false },
);

export function ownPasswordRoutes(ownPassword: OwnPasswordService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.patch(
      '/auth/me/password',
      {
        config: { access: { user: 'authenticated' } },
        schema: {
          tags: ['auth'],
          summary: 'Change your own password (ends your other sessions)',
          body: ChangeOwnPasswordBody,
          response: { 204: NoContent, 400: ErrorResponse, 403: ErrorResponse },
        },
      },
      async (request, reply) => {
        await ownPassword.change(request.body, callContext(request));
        return reply.status(204).send(null);
      },
    );
  };
}
