/**
 * Status: one aggregated, scoped answer for dashboards and scripts (nodes online, offline and
 * recording; recordings in flight; unresolved health events by severity; uptime and version).
 */
import type { AppModule, ModuleCore } from '../../platform/module.js';
import type { HealthService } from '../health/index.js';
import type { NodesService } from '../nodes/index.js';
import { StatusRepository } from './status.repository.js';
import { statusRoutes } from './status.routes.js';
import { StatusService } from './status.service.js';

export function createStatusModule(
  core: ModuleCore,
  ports: { nodes: NodesService; health: HealthService },
): AppModule {
  const status = new StatusService({
    repo: new StatusRepository(core.db),
    nodes: ports.nodes,
    health: ports.health,
    now: core.now,
    startedAtMs: core.now().getTime(),
  });
  return { name: 'status', routes: [statusRoutes(status)], ports: {} };
}
