/**
 * Discord attendance: voice sessions tracked per guild, signed, archived per period, read
 * through the guild API, and reported to log channels, roles and webhooks. Each sub-feature
 * (guilds, tracking, signing, periods, members, discord, stats, integrations) builds its own parts;
 * this door wires them in order and offers what the app needs.
 */
import type { LeaderCallbacks, LeaderLease } from '../../cluster/leader-election.js';
import type { AppModule, ModuleCore } from '../../platform/module.js';
import { commandAnswers } from './discord/command-answers.js';
import { discordRoutes } from './discord/discord.routes.js';
import type { DiscordPort } from './discord/discord-port.js';
import { createDiscord } from './discord/index.js';
import type { AttendanceEvents } from './guilds/attendance-events.js';
import { guildsRoutes } from './guilds/guilds.routes.js';
import { createGuilds } from './guilds/index.js';
import { createIntegrations, type SenderTimers } from './integrations/index.js';
import { logDestinationsRoutes } from './integrations/log-destinations.routes.js';
import type { AttendanceLogPoster } from './integrations/log-poster.js';
import { outboundWebhooksRoutes } from './integrations/outbound-webhooks.routes.js';
import type { OutboundWebhookSender } from './integrations/outbound-webhooks.sender.js';
import { subscriptionRoutes } from './integrations/subscription.routes.js';
import { verifiedRolesRoutes } from './integrations/verified-roles.routes.js';
import { createMembers } from './members/index.js';
import { membersRoutes } from './members/members.routes.js';
import { createPeriods } from './periods/index.js';
import type { AttendancePeriodsService } from './periods/periods.service.js';
import { createSigning } from './signing/index.js';
import { publicAttendanceRoutes } from './signing/public-attendance.routes.js';
import { signingRoutes } from './signing/signing.routes.js';
import type { AttendanceSigningService } from './signing/signing.service.js';
import { attendanceRoutes } from './stats/attendance.routes.js';
import type { AttendanceInWindow } from './stats/attendance-window.js';
import { createAttendanceWindow, createStats } from './stats/index.js';
import { guildSettingsRoutes } from './tracking/guild-settings.routes.js';
import { createTracking } from './tracking/index.js';
import type { AttendanceService } from './tracking/sessions.service.js';

export type { SenderTimers } from './integrations/index.js';
// The offline verifier (earshot-attendance-verify) checks exported periods with these.
export type { VerifyEngine } from './signing/ed25519.js';
export { type ExportVerification, verifyExport } from './signing/period-export.js';
export type { AttendanceInWindow, AttendedSession, ChannelAttendance } from './stats/attendance-window.js';

export interface AttendancePorts {
  attendance: AttendanceService;
  attendanceSigning: AttendanceSigningService;
  attendancePeriods: AttendancePeriodsService;
  discord: DiscordPort;
  /** Committed attendance events; `idle()` waits for their background handlers (tests). */
  attendanceEvents: AttendanceEvents;
  /** Log destination posts; `runDueSummaries()` is the summary scheduler's tick. */
  attendanceLogs: AttendanceLogPoster;
  /** The outbound webhook sender; `tick()` sends what is due now, `idle()` waits (tests). */
  webhookSender: OutboundWebhookSender;
  /** The once-only work, run by the elected leader among replicas. */
  leaderWork: LeaderCallbacks;
  /** Whether a Discord user has Manage Server in a guild (the front-end token gate asks). */
  canManageGuild: (guildId: string, userId: string) => Promise<boolean>;
  /** Who attended a voice channel during a window, with signed receipts, as the caller may see. */
  attendanceInWindow: AttendanceInWindow;
}

export function createAttendanceModule(
  core: ModuleCore,
  options: { webhookTimers?: SenderTimers } = {},
): AppModule<AttendancePorts> {
  const guilds = createGuilds(core);
  const signing = createSigning(core, guilds);
  const members = createMembers(core);
  const tracking = createTracking(core, guilds, signing, members);
  const { periods, resetScheduler } = createPeriods(core, guilds, tracking, signing);
  const discord = createDiscord(core, tracking, members);
  const stats = createStats(core, { guilds, tracking, signing, discord, members });
  const integrations = createIntegrations(core, {
    guilds,
    discord,
    stats,
    webhookTimers: options.webhookTimers,
  });
  discord.bot?.answerCommandsWith(commandAnswers({ repo: guilds.repo, stats, verify: signing.verify }));
  const { access } = guilds;
  const attendanceWindow = createAttendanceWindow(core, { guilds, signing, members });
  return {
    name: 'attendance',
    routes: [
      guildsRoutes({ access, guilds: guilds.service }),
      attendanceRoutes({ access, stats, periods }),
      signingRoutes({ access, signing: signing.signing, stats, verify: signing.verify }),
      guildSettingsRoutes({ access, settings: tracking.settings }),
      discordRoutes({ access, discord: discord.guilds }),
      membersRoutes({ access, members: members.names }),
      subscriptionRoutes({ access, subscriptions: integrations.subscriptions }),
      logDestinationsRoutes({ access, destinations: integrations.logDestinations }),
      verifiedRolesRoutes({ access, verifiedRoles: integrations.verifiedRoles }),
      outboundWebhooksRoutes({ access, webhooks: integrations.webhooks }),
      publicAttendanceRoutes({ verify: signing.verify, webhook: tracking.webhook }),
    ],
    components: [
      // Stopped last of the three: unlocked keys are forgotten once nothing can sign.
      { name: 'signing-keys', stop: async () => signing.signing.lockAll() },
      // Background event work (log posts, role grants) drains once nothing can publish more.
      { name: 'attendance-events', stop: () => guilds.events.idle() },
      // A send in flight finishes (10 s at most); what is still pending is sent by the next start.
      {
        name: 'webhook-sender',
        start: async () => integrations.webhookSender.start(),
        stop: () => integrations.webhookSender.stop(),
      },
    ],
    collectors: [
      async () => {
        const current = discord.guilds.botState();
        for (const state of ['disabled', 'stopped', 'connecting', 'ready', 'reconnecting'] as const)
          core.metrics.discordBotState.set({ state }, state === current ? 1 : 0);
        core.metrics.discordGuilds.set(discord.port.guildCount());
      },
    ],
    ports: {
      attendance: tracking.attendance,
      attendanceSigning: signing.signing,
      attendancePeriods: periods,
      discord: discord.port,
      attendanceEvents: guilds.events,
      attendanceLogs: integrations.logs,
      webhookSender: integrations.webhookSender,
      leaderWork: leaderWork(tracking.attendance, resetScheduler, integrations.summaryScheduler, discord.bot),
      canManageGuild: (guildId, userId) => discord.port.canManageGuild(guildId, userId),
      attendanceInWindow: (principal, guildId, channelId, range) =>
        attendanceWindow.inWindow(principal, guildId, channelId, range),
    },
  };
}

/**
 * Once-only work runs on one leader among the replicas sharing a PostgreSQL database: the
 * bot (one gateway session, one tracker of the voice sessions), and the scheduled resets and
 * summaries, which act on the sessions it tracks and post through it.
 */
export function leaderWork(
  attendance: AttendanceService,
  resets: { start(mayRun?: () => boolean): void; stop(): Promise<void> },
  summaries: { start(mayRun?: () => boolean): void; stop(): Promise<void> },
  bot: { start(fence?: LeaderLease): Promise<void>; stop(): Promise<void> } | undefined,
): LeaderCallbacks {
  let restored = false;
  let lease: LeaderLease | undefined;
  return {
    onElected: async (elected) => {
      lease = elected;
      // Open sessions as the previous leader left them: its last snapshot, less the sessions
      // it stored since (storing one forgets it); the bot reconciles them per guild on connect.
      await attendance.restoreSnapshot();
      restored = true;
      // Every pass, event and write asks the lease first: a resumed leader does nothing more.
      resets.start(() => elected.holds());
      summaries.start(() => elected.holds());
      await bot?.start(elected);
    },
    onDemoted: async () => {
      // The bot first, so its last observation is in the snapshot saved after it; then the
      // resets (which close sessions) and summaries; then the open sessions for the next leader.
      await bot?.stop();
      await summaries.stop();
      await resets.stop();
      // A leader fenced by its lease (frozen past it: another may lead) hands nothing over.
      if (restored) await attendance.handOver({ save: lease?.unexpired() ?? true });
      restored = false;
    },
  };
}
