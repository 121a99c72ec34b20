import type {} from '@fastify/swagger';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { Metrics } from '../../metrics.js';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<boolean>;
}

export function systemRoutes(deps: {
  metrics: Metrics;
  readiness: ReadinessCheck[];
  metricsAllowAnonymous: boolean;
}): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/healthz',
      {
        config: { access: { public: true } },
        schema: {
          tags: ['system'],
          summary: 'Liveness',
          response: { 200: Type.Object({ status: Type.Literal('ok') }) },
        },
      },
      async () => ({ status: 'ok' as const }),
    );

    app.get(
      '/readyz',
      {
        config: { access: { public: true } },
        schema: {
          tags: ['system'],
          summary: 'Readiness: database and broker',
          response: {
            200: Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), Type.Boolean()) }),
            503: Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), Type.Boolean()) }),
          },
        },
      },
      async (_request, reply) => {
        const checks: Record<string, boolean> = {};
        for (const r of deps.readiness) checks[r.name] = await r.check().catch(() => false);
        const ready = Object.values(checks).every(Boolean);
        return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
      },
    );

    // Anonymous scraping is a deliberate setting; otherwise an API token with metrics:read.
    app.get(
      '/metrics',
      {
        config: {
          access: deps.metricsAllowAnonymous ? { public: true } : { user: 'metrics:read', scope: 'fleet' },
        },
        schema: {
          tags: ['system'],
          summary: 'Prometheus exposition (metrics:read, or anonymous when allowed)',
        },
      },
      async (_request, reply) => {
        reply.header('content-type', deps.metrics.registry.contentType);
        return deps.metrics.render();
      },
    );

    app.get('/openapi.json', { config: { access: { public: true } }, schema: { hide: true } }, async () =>
      app.swagger(),
    );
    app.get(
      '/openapi.yaml',
      { config: { access: { public: true } }, schema: { hide: true } },
      async (_request, reply) => {
        reply.header('content-type', 'application/yaml');
        return app.swagger({ yaml: true });
      },
    );
  };
}
