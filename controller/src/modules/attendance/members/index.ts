/** Member names, kept from the voice states the bot sees and shown beside ids on attendance reads. */
import type { ModuleCore } from '../../../platform/module.js';
import { MemberNamesService } from './member-names.service.js';
import { MembersRepository } from './members.repository.js';

export interface Members {
  names: MemberNamesService;
}

export function createMembers(core: ModuleCore): Members {
  return { names: new MemberNamesService({ repo: new MembersRepository(core.db), now: core.now }) };
}
