/**
 * Health events: conditions on nodes that agents report (MQTT `events`, or the HTTP fallback),
 * operators enter by hand, and operators work through (acknowledge, suppress, resolve, reopen).
 * Offers the broker its `events` handler and Prometheus the open events by type and severity;
 * raises `node_offline` itself for nodes gone quiet (node-offline-watch.ts), and
 * `occurrence_missed` and `upload_failing` for what the recordings module tells it through the
 * `HealthAlerts` port (controller-alerts.ts), and `audit_chain` for each failed verification of
 * the audit chain (the audit module's chain watch announces them), and `disk_low` for its own
 * disk (controller-disk-watch.ts).
 */
import type { AuditChainVerifications, HealthAlerts } from '../../core/health-alerts.js';
import type { AppModule, ModuleCore } from '../../platform/module.js';
import type { NodesService } from '../nodes/index.js';
import { ControllerAlerts } from './controller-alerts.js';
import { ControllerDiskWatch } from './controller-disk-watch.js';
import { HealthRepository } from './health.repository.js';
import { healthRoutes } from './health.routes.js';
import { HealthService } from './health.service.js';
import { HealthReports } from './health-reports.js';
import { NodeOfflineWatch } from './node-offline-watch.js';

export { type DiskSpace, diskSpaceOf } from './controller-disk-watch.js';
export type { ControllerDiskWatch, HealthReports, HealthService, NodeOfflineWatch };

export function createHealthModule(
  core: ModuleCore,
  ports: { nodes: NodesService; auditChain?: AuditChainVerifications },
): AppModule<{
  health: HealthService;
  healthReports: HealthReports;
  nodeWatch: NodeOfflineWatch;
  healthAlerts: HealthAlerts;
  diskWatch: ControllerDiskWatch;
}> {
  const { db, provider, audit, now, log, metrics } = core;
  const repo = new HealthRepository(db);
  const health = new HealthService({
    db,
    provider,
    repo,
    nodes: ports.nodes,
    audit,
    now,
    changes: core.changes,
  });
  const healthReports = new HealthReports({ db, repo, health, nodes: ports.nodes, log });
  const { ops } = core;
  const nodeWatch = new NodeOfflineWatch({ nodes: ports.nodes, repo, reports: healthReports, now, log, ops });
  const healthAlerts = new ControllerAlerts({ repo, reports: healthReports, now, log });
  const diskWatch = new ControllerDiskWatch({
    dataDir: core.config.dataDir,
    ingestedBytes: async () => (await metrics.uploadBytes.get()).values.reduce((sum, v) => sum + v.value, 0),
    alerts: healthAlerts,
    metrics,
    now,
    log,
    ops,
  });
  // The audit module is built first: it announces each verification to the alerts from now on.
  ports.auditChain?.onVerified((result) => healthAlerts.auditChainVerified(result));
  const collect = async () => {
    metrics.healthEventsOpen.reset();
    for (const g of await repo.activeGroups(now()))
      metrics.healthEventsOpen.set({ type: g.type, severity: g.severity }, g.count);
  };
  return {
    name: 'health',
    routes: [healthRoutes(health, healthReports)],
    collectors: [collect],
    components: [
      { name: 'node offline watch', start: async () => nodeWatch.start(), stop: () => nodeWatch.stop() },
      { name: 'controller disk watch', start: async () => diskWatch.start(), stop: () => diskWatch.stop() },
    ],
    ports: { health, healthReports, nodeWatch, healthAlerts, diskWatch },
  };
}
