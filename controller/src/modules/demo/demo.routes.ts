/**
 * `POST /demo/seed` and `POST /demo/reset`, registered only outside production mode. They add
 * and remove sites, nodes and recordings across the fleet, so they need `auth:manage` over the
 * whole fleet: the permission only the owner and admin roles hold (administering the controller
 * itself), where node:manage or recording:delete would also let an operator wipe demo data.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { Data } from '../../core/pagination.js';
import { callContext } from '../../http/route-access.js';
import type { DemoService } from './demo.service.js';

const Count = Type.Integer({ minimum: 0 });
const DemoCounts = Type.Object({ sites: Count, nodes: Count, recordings: Count, healthEvents: Count });

export function demoRoutes(demo: DemoService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/demo/seed',
      {
        config: { access: { user: 'auth:manage', scope: 'fleet' } },
        schema: {
          tags: ['demo'],
          summary: 'Seed demo sites, nodes, recordings and health events (not in production mode)',
          response: { 200: Data(DemoCounts) },
        },
      },
      async (request) => ({ data: await demo.seed(callContext(request)) }),
    );

    app.post(
      '/demo/reset',
      {
        config: { access: { user: 'auth:manage', scope: 'fleet' } },
        schema: {
          tags: ['demo'],
          summary: 'Remove the demo data the seed added, and nothing else (not in production mode)',
          response: { 200: Data(DemoCounts) },
        },
      },
      async (request) => ({ data: await demo.reset(callContext(request)) }),
    );
  };
}
