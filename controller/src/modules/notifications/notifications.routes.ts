/**
 * Notification integrations under /api/v1/integrations: fleet-wide objects, every route needs
 * integrations:manage over the fleet (an integration hears about every node it routes).
 */
import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Data, ErrorResponse, NoContent, PageOf, PageOnlyQuery } from '../../core/pagination.js';
import { callContext } from '../../http/route-access.js';
import {
  CreateIntegrationBody,
  DeliveriesQuery,
  DeliverySchema,
  IntegrationActions,
  IntegrationParams,
  IntegrationSchema,
  IntegrationWithSecret,
  RotateSecretBody,
  UpdateIntegrationBody,
} from './notifications.schemas.js';
import type { NotificationsService } from './notifications.service.js';

const manage = { access: { user: 'integrations:manage', scope: 'fleet' } } as const;
const tags = ['integrations'];
const errors = { 400: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse };
const changeErrors = { ...errors, 409: ErrorResponse, 422: ErrorResponse };

export function notificationsRoutes(integrations: NotificationsService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/integrations',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Notification integrations, newest first',
          querystring: PageOnlyQuery,
          response: { 200: PageOf(IntegrationSchema), ...errors },
        },
      },
      async (request) => integrations.list(request.query),
    );

    app.post(
      '/integrations',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Create an integration (a draft: verify, then enable it)',
          description:
            'Kinds: webhook (JSON, signed: x-earshot-signature: v1=<hex HMAC-SHA256(secret, ' +
            '"<x-earshot-timestamp>.<body>")>; the signing secret is generated and returned once, here, as ' +
            'signingSecret), slack and discord (incoming webhooks), feishu (a custom bot; give its signing ' +
            'secret as secret to have messages signed).',
          body: CreateIntegrationBody,
          response: { 201: Data(IntegrationWithSecret), ...changeErrors },
        },
      },
      async (request, reply) =>
        reply.status(201).send({ data: await integrations.create(request.body, callContext(request)) }),
    );

    app.get(
      '/integrations/:id',
      {
        config: manage,
        schema: {
          tags,
          summary: 'One integration (its URL and secret only as hints)',
          params: IntegrationParams,
          response: { 200: Data(IntegrationSchema), ...errors },
        },
      },
      async (request) => ({ data: await integrations.get(request.params.id) }),
    );

    app.get(
      '/integrations/:id/actions',
      {
        config: manage,
        schema: {
          tags,
          summary: 'What you may do to this integration now, and why not when not',
          params: IntegrationParams,
          response: { 200: Data(IntegrationActions), ...errors },
        },
      },
      async (request) => ({ data: await integrations.actions(request.params.id) }),
    );

    app.patch(
      '/integrations/:id',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Change name, URL, routing rules or quiet period (a new URL needs a new verification)',
          params: IntegrationParams,
          body: UpdateIntegrationBody,
          response: { 200: Data(IntegrationSchema), ...changeErrors },
        },
      },
      async (request) => ({
        data: await integrations.update(request.params.id, request.body, callContext(request)),
      }),
    );

    app.delete(
      '/integrations/:id',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Delete an integration and its delivery log',
          params: IntegrationParams,
          response: { 204: NoContent, ...errors },
        },
      },
      async (request, reply) => {
        await integrations.remove(request.params.id, callContext(request));
        return reply.status(204).send(null);
      },
    );

    app.post(
      '/integrations/:id/verify',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Send a test message now and record the answer (a 2xx verifies the integration)',
          params: IntegrationParams,
          response: { 200: Data(IntegrationSchema), ...errors },
        },
      },
      async (request) => ({ data: await integrations.verify(request.params.id, callContext(request)) }),
    );

    for (const action of ['enable', 'disable'] as const)
      app.post(
        `/integrations/:id/${action}`,
        {
          config: manage,
          schema: {
            tags,
            summary:
              action === 'enable'
                ? 'Enable an integration (409 unless its last verification was answered 2xx)'
                : 'Disable an integration (pending messages are not sent)',
            params: IntegrationParams,
            response: { 200: Data(IntegrationSchema), ...changeErrors },
          },
        },
        async (request) => ({
          data: await integrations.setStatus(request.params.id, action, callContext(request)),
        }),
      );

    app.post(
      '/integrations/:id/rotate-secret',
      {
        config: manage,
        schema: {
          tags,
          summary: 'Rotate the signing secret (webhook: a new one, returned once; feishu: the bot’s new one)',
          params: IntegrationParams,
          body: RotateSecretBody,
          response: { 200: Data(IntegrationWithSecret), ...changeErrors },
        },
      },
      async (request) => ({
        data: await integrations.rotateSecret(request.params.id, request.body ?? {}, callContext(request)),
      }),
    );

    app.get(
      '/integrations/:id/deliveries',
      {
        config: manage,
        schema: {
          tags,
          summary: 'The delivery log, newest first: test messages and notifications, attempts, last answer',
          params: IntegrationParams,
          querystring: DeliveriesQuery,
          response: { 200: PageOf(DeliverySchema), ...errors },
        },
      },
      async (request) => integrations.deliveries(request.params.id, request.query),
    );
  };
}
