/**
 * `GET /health`, `GET /health/history` and `GET /ops-events`. All need `health:read`: they are
 * the controller's health (the permission every built-in role with a view of operations holds),
 * not the audit trail of who did what (`audit:read`); an ops event names no actor.
 * `/health` is scoped like `/status`: the caller's nodes are counted, and the controller-wide
 * figures are shown only with health:read over the whole fleet. The history and the event log
 * are fleet-wide by nature (figures of the whole fleet, events of the controller itself), so
 * they need it over the whole fleet.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Data, PageOf } from '../../core/pagination.js';
import {
  HealthSampleSchema,
  HealthSchema,
  HistoryQuery,
  OpsEventQuery,
  OpsEventSchema,
} from './ops.schemas.js';
import type { OpsService } from './ops.service.js';

export function opsRoutes(ops: OpsService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/health',
      {
        config: { access: { user: 'health:read', scope: 'scoped' } },
        schema: {
          tags: ['health'],
          summary:
            'Controller health: version, uptime, nodes online in your scope; database, broker, Discord bot, queues and disk for the whole fleet',
          response: { 200: Data(HealthSchema) },
        },
      },
      async (request) => ({ data: await ops.health(request.principal) }),
    );

    app.get(
      '/health/history',
      {
        config: { access: { user: 'health:read', scope: 'fleet' } },
        schema: {
          tags: ['health'],
          summary:
            'The controller health figures sampled every minute, oldest first (kept EARSHOT_HEALTH_HISTORY_DAYS days)',
          querystring: HistoryQuery,
          response: { 200: PageOf(HealthSampleSchema) },
        },
      },
      async (request) => ops.history(request.query),
    );

    app.get(
      '/ops-events',
      {
        config: { access: { user: 'health:read', scope: 'fleet' } },
        schema: {
          tags: ['health'],
          summary:
            'The operational event log, newest first: starts and stops, migrations, broker, Discord bot, failing runners, settings changes',
          querystring: OpsEventQuery,
          response: { 200: PageOf(OpsEventSchema) },
        },
      },
      async (request) => ops.events(request.query),
    );
  };
}
