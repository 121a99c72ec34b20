/** Guild signing keys, signed session receipts and period snapshots, and their verification. */
import type { ModuleCore } from '../../../platform/module.js';
import type { Guilds } from '../guilds/index.js';
import { AttendanceSigningService } from './signing.service.js';
import { AttendanceVerifyService } from './verify.service.js';

export interface Signing {
  signing: AttendanceSigningService;
  verify: AttendanceVerifyService;
}

export function createSigning(core: ModuleCore, guilds: Guilds): Signing {
  const signing = new AttendanceSigningService({
    db: core.db,
    repo: guilds.repo,
    audit: core.audit,
    locks: guilds.locks,
    options: { scryptLogN: core.config.scryptLogN },
    now: core.now,
  });
  return { signing, verify: new AttendanceVerifyService(guilds.repo, signing) };
}
