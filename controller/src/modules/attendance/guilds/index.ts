/** What every attendance sub-feature shares: guild rows, the scope check, per-guild locks, events. */
import type { ModuleCore } from '../../../platform/module.js';
import { AttendanceEvents } from './attendance-events.js';
import { GuildAccess } from './guild-access.js';
import { GuildLocks } from './guild-locks.js';
import { GuildsRepository } from './guilds.repository.js';
import { GuildsService } from './guilds.service.js';

export interface Guilds {
  /**
   * Guild rows, shared. The other repositories (sessions, keys, periods, command usage) hold
   * nothing but the database, so each sub-feature's factory builds the ones its services use.
   */
  repo: GuildsRepository;
  access: GuildAccess;
  /** Registration and edits through the API (the bot registers through the tracking service). */
  service: GuildsService;
  /** One lock per guild, shared by every service that changes a guild's sessions. */
  locks: GuildLocks;
  /** What attendance features react to (logs, roles, webhooks) is published here. */
  events: AttendanceEvents;
}

export function createGuilds(core: ModuleCore): Guilds {
  const repo = new GuildsRepository(core.db);
  const locks = new GuildLocks(core.raw);
  return {
    repo,
    access: new GuildAccess(repo),
    service: new GuildsService(core.db, repo, core.audit, locks, core.now),
    locks,
    events: new AttendanceEvents(core.log),
  };
}
