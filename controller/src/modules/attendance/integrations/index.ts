/**
 * What a guild's plan unlocks around its attendance: log destinations and summaries,
 * verified roles, outbound webhooks (a transactional outbox, sent after commit).
 */
import { packageVersion } from '../../../../../shared/src/version.js';
import { controllerSecretBox } from '../../../crypto/secret-box.js';
import type { ModuleCore } from '../../../platform/module.js';
import type { Discord } from '../discord/index.js';
import type { Guilds } from '../guilds/index.js';
import type { AttendanceStatsService } from '../stats/attendance-stats.service.js';
import { SessionsRepository } from '../tracking/sessions.repository.js';
import { LogDestinationsRepository } from './log-destinations.repository.js';
import { LogDestinationsService } from './log-destinations.service.js';
import { AttendanceLogPoster } from './log-poster.js';
import { OutboundWebhooksRepository } from './outbound-webhooks.repository.js';
import { OutboundWebhookSender, type SenderTimers } from './outbound-webhooks.sender.js';
import { OutboundWebhooksService } from './outbound-webhooks.service.js';
import { SubscriptionService } from './subscription.service.js';
import { AttendanceSummaryScheduler } from './summary-scheduler.js';
import { VerifiedRolesRepository } from './verified-roles.repository.js';
import { VerifiedRolesService } from './verified-roles.service.js';

export type { SenderTimers } from './outbound-webhooks.sender.js';

export interface Integrations {
  subscriptions: SubscriptionService;
  logDestinations: LogDestinationsService;
  logs: AttendanceLogPoster;
  verifiedRoles: VerifiedRolesService;
  webhooks: OutboundWebhooksService;
  webhookSender: OutboundWebhookSender;
  /** Posts due summaries; on the leader only (it posts through the leader's bot). */
  summaryScheduler: AttendanceSummaryScheduler;
}

export function createIntegrations(
  core: ModuleCore,
  parts: { guilds: Guilds; discord: Discord; stats: AttendanceStatsService; webhookTimers?: SenderTimers },
): Integrations {
  const { db, audit, config, metrics, log, now } = core;
  const { guilds, discord } = parts;
  const destinationsRepo = new LogDestinationsRepository(db);
  const logs = new AttendanceLogPoster({
    destinations: destinationsRepo,
    guildsRepo: guilds.repo,
    sessionsRepo: new SessionsRepository(db),
    stats: parts.stats,
    discord: discord.port,
    metrics,
    log,
    now,
  });
  const verifiedRoles = new VerifiedRolesService({
    db,
    repo: new VerifiedRolesRepository(db),
    guildsRepo: guilds.repo,
    audit,
    discord: discord.port,
    log,
    now,
  });
  const allowPrivateNetworks = config.webhookAllowPrivateNetworks === true;
  const webhooks = new OutboundWebhooksService({
    db,
    repo: new OutboundWebhooksRepository(db),
    audit,
    secrets: controllerSecretBox({ configuredKey: config.secretKey, dataDir: config.dataDir }),
    metrics,
    network: { allowPrivateNetworks },
    now,
  });
  const webhookSender = new OutboundWebhookSender(webhooks, log, {
    version: packageVersion(),
    now,
    timers: parts.webhookTimers,
    allowPrivateNetworks,
  });
  guilds.events.subscribe(logs);
  guilds.events.subscribe(verifiedRoles);
  guilds.events.subscribe({
    inTransaction: (tx, events) => webhooks.enqueue(tx, events),
    afterCommit: async () => webhookSender.wake(),
  });
  return {
    subscriptions: new SubscriptionService(db, guilds.repo, audit),
    logDestinations: new LogDestinationsService(db, destinationsRepo, audit, discord.port, now),
    logs,
    verifiedRoles,
    webhooks,
    webhookSender,
    summaryScheduler: new AttendanceSummaryScheduler(logs, log, { ops: core.ops }),
  };
}
