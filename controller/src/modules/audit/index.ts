/**
 * The audit trail: the hash-chained event log every change and denial is written to, its
 * reads (scoped to the caller), exports and chain verification. Built first: it is part of
 * the core every other module receives (as the `AuditWriter` port).
 */
import type { Db, Provider } from '../../db/client.js';
import type { AppModule } from '../../platform/module.js';
import { AuditRepository } from './audit.repository.js';
import { auditRoutes } from './audit.routes.js';
import { AuditService } from './audit.service.js';

export { AuditRepository } from './audit.repository.js';
export { AuditService } from './audit.service.js';

export function createAuditModule(deps: { db: Db; provider: Provider; now: () => Date }): AppModule<{
  audit: AuditService;
}> {
  const audit = new AuditService(deps.db, new AuditRepository(deps.db, deps.provider), deps.now);
  return { name: 'audit', routes: [auditRoutes(audit)], ports: { audit } };
}
