/**
 * The aggregated status a dashboard polls: the caller's nodes (online, offline, recording), the
 * recordings in flight on them, their unresolved health events by severity, and this
 * controller's uptime and version. Scoped by `node:read`: a site operator sees their sites;
 * the controller's own events of no node count for callers with `health:read` over the fleet.
 */
import { packageVersion } from '../../../../shared/src/version.js';
import { forbidden } from '../../core/errors.js';
import type { Principal } from '../../core/principal.js';
import type { HealthService } from '../health/index.js';
import type { NodesService } from '../nodes/index.js';
import type { StatusRepository } from './status.repository.js';
import type { Status } from './status.schemas.js';

export class StatusService {
  constructor(
    private readonly deps: {
      repo: StatusRepository;
      nodes: Pick<NodesService, 'presences'>;
      health: Pick<HealthService, 'activeBySeverity'>;
      now: () => Date;
      startedAtMs: number;
    },
  ) {}

  async status(principal: Principal): Promise<Status> {
    if (principal.kind !== 'user') throw forbidden('users only');
    const { repo, nodes, health, now } = this.deps;
    const at = now();
    const presences = await nodes.presences(principal.access.filter('node:read'));
    const ids = presences.map((p) => p.id);
    // The controller's own events of no node (audit_chain) are for callers who see the whole fleet.
    const withFleet = principal.access.hasFleet('health:read');
    const [inFlight, healthEvents] = await Promise.all([
      repo.inFlight(ids),
      health.activeBySeverity(ids, withFleet),
    ]);
    const online = presences.filter((p) => p.online).length;
    return {
      nodes: {
        total: presences.length,
        online,
        offline: presences.length - online,
        recording: inFlight.size,
      },
      healthEvents,
      recordings: { inFlight: [...inFlight.values()].reduce((sum, n) => sum + n, 0) },
      uptimeSeconds: Math.max(0, Math.floor((at.getTime() - this.deps.startedAtMs) / 1000)),
      version: packageVersion(),
      at: at.toISOString(),
    };
  }
}
