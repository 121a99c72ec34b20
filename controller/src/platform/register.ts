/** Registers the modules' routes, in list order, and their metric collectors. */
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics.js';
import type { AppModule } from './module.js';

export async function registerModules(app: FastifyInstance, modules: AppModule[], metrics: Metrics) {
  for (const module of modules) for (const plugin of module.rootRoutes ?? []) await app.register(plugin);
  await app.register(
    async (api) => {
      for (const module of modules) for (const plugin of module.routes ?? []) await api.register(plugin);
    },
    { prefix: '/api/v1' },
  );
  for (const module of modules) for (const collect of module.collectors ?? []) metrics.onCollect(collect);
}
