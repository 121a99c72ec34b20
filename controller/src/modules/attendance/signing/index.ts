/** Guild signing keys, signed session receipts and period snapshots, and their verification. */
import type { ModuleCore } from '../../../platform/module.js';
import type { Guilds } from '../guilds/index.js';
import { PeriodsRepository } from '../periods/periods.repository.js';
import { SessionsRepository } from '../tracking/sessions.repository.js';
import { KeysRepository } from './keys.repository.js';
import { AttendanceSigningService } from './signing.service.js';
import { AttendanceVerifyService } from './verify.service.js';

export interface Signing {
  signing: AttendanceSigningService;
  verify: AttendanceVerifyService;
}

export function createSigning(core: ModuleCore, guilds: Guilds): Signing {
  const sessionsRepo = new SessionsRepository(core.db);
  const periodsRepo = new PeriodsRepository(core.db);
  const signing = new AttendanceSigningService({
    db: core.db,
    keysRepo: new KeysRepository(core.db),
    sessionsRepo,
    periodsRepo,
    audit: core.audit,
    locks: guilds.locks,
    options: { scryptLogN: core.config.scryptLogN },
    now: core.now,
  });
  return { signing, verify: new AttendanceVerifyService(sessionsRepo, periodsRepo, signing) };
}
