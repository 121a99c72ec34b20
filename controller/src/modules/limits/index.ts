/**
 * Rate limits: profiles assigned to declared routes through the API, enforced by the
 * route rate-limit plugin that app.ts installs before any route registers.
 */
import type { RouteInfo } from '../../core/routes.js';
import type { AppModule, ModuleCore } from '../../platform/module.js';
import { LimitsRepository } from './limits.repository.js';
import { limitsRoutes } from './limits.routes.js';
import { LimitsService } from './limits.service.js';

export type { LimitsService } from './limits.service.js';
export { installRouteRateLimits } from './route-rate-limit.js';

/** `routes` is the app's list of declared routes; it grows while the modules register. */
export async function createLimitsModule(
  core: ModuleCore,
  ports: { routes: readonly RouteInfo[] },
): Promise<AppModule<{ limits: LimitsService }>> {
  const limits = new LimitsService({
    db: core.db,
    repo: new LimitsRepository(core.db),
    audit: core.audit,
    routes: ports.routes,
    now: core.now,
  });
  await limits.reload();
  return { name: 'limits', routes: [limitsRoutes(limits)], ports: { limits } };
}
