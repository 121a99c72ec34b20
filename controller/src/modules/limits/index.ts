/**
 * Rate limits: profiles assigned to declared routes through the API, enforced by the
 * route rate-limit plugin that app.ts installs before any route registers.
 */

import { SharedCountersRepository } from '../../cluster/shared-counters.repository.js';
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
): Promise<AppModule<{ limits: LimitsService; rateLimitCounters?: SharedCountersRepository }>> {
  const limits = new LimitsService({
    db: core.db,
    repo: new LimitsRepository(core.db),
    audit: core.audit,
    routes: ports.routes,
    now: core.now,
  });
  await limits.reload();
  // Replicas sharing PostgreSQL count together; SQLite's one controller counts in memory.
  const rateLimitCounters =
    core.provider === 'postgresql' ? new SharedCountersRepository(core.raw, core.now) : undefined;
  return { name: 'limits', routes: [limitsRoutes(limits)], ports: { limits, rateLimitCounters } };
}
