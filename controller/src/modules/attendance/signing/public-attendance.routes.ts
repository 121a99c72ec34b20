/**
 * Public attendance routes: anyone may verify a session receipt or a period snapshot
 * (the signature is the point, not the caller), and the inbound attendance webhook,
 * authenticated by its shared secret rather than a user.
 */
import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Data, ErrorResponse } from '../../../core/pagination.js';
import {
  PublicPeriodParams,
  SessionParams,
  Verification,
  WebhookEvent,
  WebhookHeaders,
  WebhookResult,
} from '../guilds/attendance.schemas.js';
import type { AttendanceWebhookService } from '../tracking/attendance-webhook.service.js';
import type { AttendanceVerifyService } from './verify.service.js';

const tags = ['attendance'];

export function publicAttendanceRoutes(deps: {
  verify: AttendanceVerifyService;
  webhook: AttendanceWebhookService;
}): FastifyPluginAsyncTypebox {
  const { verify, webhook } = deps;
  return async (app) => {
    app.get(
      '/verify/session/:sessionId',
      {
        config: { access: { public: true } },
        schema: {
          tags,
          summary: "Verify a voice session's Ed25519 signature",
          params: SessionParams,
          response: { 200: Data(Verification), 400: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request) => ({ data: await verify.session(request.params.sessionId) }),
    );

    app.get(
      '/verify/period/:guildId/:periodIndex',
      {
        config: { access: { public: true } },
        schema: {
          tags,
          summary: "Verify an archived period snapshot's signature",
          params: PublicPeriodParams,
          response: { 200: Data(Verification), 400: ErrorResponse, 404: ErrorResponse },
        },
      },
      async (request) => ({ data: await verify.period(request.params.guildId, request.params.periodIndex) }),
    );

    app.post(
      '/webhooks/attendance',
      {
        // Authenticated by the shared secret in x-webhook-secret (checked in the service).
        config: { access: { public: true } },
        schema: {
          tags,
          summary: 'Inbound voice-state event from a source other than Discord',
          headers: WebhookHeaders,
          body: WebhookEvent,
          response: {
            200: Data(WebhookResult),
            400: ErrorResponse,
            401: ErrorResponse,
            404: ErrorResponse,
            422: ErrorResponse,
          },
        },
      },
      async (request) => ({
        data: await webhook.receive(request.headers['x-webhook-secret'], request.body, {
          requestId: request.id,
          sourceIp: request.ip,
        }),
      }),
    );
  };
}
