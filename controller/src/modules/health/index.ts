/**
 * Health events: conditions on nodes that agents report (MQTT `events`, or the HTTP fallback),
 * operators enter by hand, and operators work through (acknowledge, suppress, resolve, reopen).
 * Offers the broker its `events` handler and Prometheus the open events by type and severity.
 */
import type { AppModule, ModuleCore } from '../../platform/module.js';
import type { NodesService } from '../nodes/index.js';
import { HealthRepository } from './health.repository.js';
import { healthRoutes } from './health.routes.js';
import { HealthService } from './health.service.js';
import { effectiveStatus } from './health-lifecycle.js';
import { HealthReports } from './health-reports.js';

export type { HealthReports, HealthService };

export function createHealthModule(
  core: ModuleCore,
  ports: { nodes: NodesService },
): AppModule<{ health: HealthService; healthReports: HealthReports }> {
  const { db, provider, audit, now, log, metrics } = core;
  const repo = new HealthRepository(db);
  const health = new HealthService({ db, provider, repo, nodes: ports.nodes, audit, now });
  const healthReports = new HealthReports({ db, repo, health, nodes: ports.nodes, log });
  const collect = async () => {
    const at = now();
    metrics.healthEventsOpen.reset();
    for (const g of await repo.unresolvedGroups())
      if (effectiveStatus(g, at) !== 'suppressed')
        metrics.healthEventsOpen.inc({ type: g.type, severity: g.severity }, g.count);
  };
  return {
    name: 'health',
    routes: [healthRoutes(health, healthReports)],
    collectors: [collect],
    ports: { health, healthReports },
  };
}
