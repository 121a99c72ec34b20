/**
 * The audit trail: the hash-chained event log every change and denial is written to, its
 * reads (scoped to the caller), exports and chain verification. Built first: it is part of
 * the core every other module receives (as the `AuditWriter` port).
 */
import type { AccessSet } from '../../core/access-set.js';
import type { Logger } from '../../core/logger.js';
import type { Db, Provider } from '../../db/client.js';
import type { Metrics } from '../../metrics.js';
import type { AppModule } from '../../platform/module.js';
import { type AuditPlace, AuditRepository } from './audit.repository.js';
import { auditRoutes } from './audit.routes.js';
import { AuditService, inScope } from './audit.service.js';
import { AuditChainWatch } from './chain-watch.js';

export { AuditRepository } from './audit.repository.js';

/**
 * The trail as the live events stream watches it: what was appended after a `seq`, and whether
 * a reader may see an event (the audit list route's rule: `audit:read` over its site, node or
 * guild).
 */
export interface AuditFeed {
  latestSeq(): Promise<number>;
  appendedAfter(seq: number, limit: number): Promise<AuditPlace[]>;
  visible(place: AuditPlace, access: AccessSet): boolean;
}
export { AuditService } from './audit.service.js';
export type { AuditChainWatch };

export function createAuditModule(deps: {
  db: Db;
  provider: Provider;
  now: () => Date;
  log: Logger;
  metrics: Metrics;
}): AppModule<{ audit: AuditService; auditChain: AuditChainWatch; auditFeed: AuditFeed }> {
  const audit = new AuditService(deps.db, new AuditRepository(deps.db, deps.provider), deps.now);
  const auditChain = new AuditChainWatch({ audit, log: deps.log });
  // Prometheus alerts on a broken chain without the health module, and sees when it was last walked.
  auditChain.onVerified(async (result) => {
    deps.metrics.auditChainBroken.set(result.ok ? 0 : 1);
    deps.metrics.auditChainVerifiedAt.set(deps.now().getTime() / 1000);
  });
  return {
    name: 'audit',
    routes: [auditRoutes(audit, auditChain)],
    // One walk of the whole chain per cluster: on the leader.
    leaderComponents: [
      { name: 'audit chain watch', start: async () => auditChain.start(), stop: () => auditChain.stop() },
    ],
    ports: {
      audit,
      auditChain,
      // What the live events stream tells audit readers (`audit.appended`): the list's scoping.
      auditFeed: {
        latestSeq: () => audit.latestSeq(),
        appendedAfter: (seq, limit) => audit.appendedAfter(seq, limit),
        visible: (place, access) => inScope(place, access.filter('audit:read')),
      },
    },
  };
}
