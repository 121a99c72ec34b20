/** The voice tracker and the sessions it stores, guild tracking settings, the inbound webhook. */
import type { ModuleCore } from '../../../platform/module.js';
import { CommandUsageRepository } from '../discord/command-usage.repository.js';
import type { Guilds } from '../guilds/index.js';
import type { Members } from '../members/index.js';
import type { Signing } from '../signing/index.js';
import { AttendanceWebhookService } from './attendance-webhook.service.js';
import { GuildSettingsService } from './guild-settings.service.js';
import { SessionsRepository } from './sessions.repository.js';
import { AttendanceService } from './sessions.service.js';
import { VoiceTracker } from './voice-tracker.js';

export interface Tracking {
  /** The process's one tracker: the Discord bot feeds this instance (through `attendance`). */
  tracker: VoiceTracker;
  attendance: AttendanceService;
  settings: GuildSettingsService;
  webhook: AttendanceWebhookService;
}

export function createTracking(
  core: ModuleCore,
  guilds: Guilds,
  signing: Signing,
  members: Members,
): Tracking {
  const { db, audit, now } = core;
  const tracker = new VoiceTracker();
  const attendance = new AttendanceService({
    db,
    guildsRepo: guilds.repo,
    sessionsRepo: new SessionsRepository(db),
    commandUsageRepo: new CommandUsageRepository(db),
    signing: signing.signing,
    audit,
    tracker,
    locks: guilds.locks,
    events: guilds.events,
    now,
  });
  return {
    tracker,
    attendance,
    settings: new GuildSettingsService(db, guilds.repo, attendance, audit),
    webhook: new AttendanceWebhookService({
      sessions: attendance,
      audit,
      members: members.names,
      secret: core.config.attendanceWebhookSecret,
      now,
    }),
  };
}
