/** Probes (`/healthz`, `/readyz`) and the Prometheus exposition (`/metrics`). */
import type { AppModule, ModuleCore } from '../../platform/module.js';
import { type ReadinessCheck, systemRoutes } from './system.routes.js';

export type { ReadinessCheck } from './system.routes.js';

export function createSystemModule(core: ModuleCore, ports: { readiness: ReadinessCheck[] }): AppModule {
  return {
    name: 'system',
    rootRoutes: [
      systemRoutes({
        metrics: core.metrics,
        readiness: ports.readiness,
        metricsAllowAnonymous: core.config.metricsAllowAnonymous,
      }),
    ],
    ports: {},
  };
}
