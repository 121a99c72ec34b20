/**
 * Posts attendance to log destinations through the Discord port, after the commit
 * (an `AttendanceEvents` handler) and on the summary scheduler's ticks. Best effort:
 * a failed post is logged and counted, never retried, and never touches what was
 * stored. Summaries are claimed in the database before they are posted (compare-and-set
 * on `lastSummaryAt`), so a restart or a second replica never posts one twice.
 */

import type { Logger } from '../../../core/logger.js';
import { trusted } from '../../../core/visible.js';
import type { Metrics } from '../../../metrics.js';
import type { DiscordPort } from '../discord/discord-port.js';
import type {
  AttendanceEvent,
  AttendanceEventHandler,
  PeriodArchivedEvent,
  SessionCompletedEvent,
} from '../guilds/attendance-events.js';
import type { GuildsRepository } from '../guilds/guilds.repository.js';
import { rankUsers } from '../periods/leaderboard.js';
import type { AttendanceStatsService } from '../stats/attendance-stats.service.js';
import type { SessionsRepository } from '../tracking/sessions.repository.js';
import type { LogDestinationsRepository } from './log-destinations.repository.js';
import { type LogType, logTypesOf } from './log-destinations.service.js';
import {
  periodMessage,
  type SummaryFrequency,
  sessionMessage,
  summaryDue,
  summaryMessage,
} from './log-messages.js';

/** Members listed in period and summary posts. */
const TOP = 10;

export class AttendanceLogPoster implements AttendanceEventHandler {
  private readonly destinations: LogDestinationsRepository;
  private readonly guildsRepo: GuildsRepository;
  private readonly sessionsRepo: SessionsRepository;
  private readonly stats: AttendanceStatsService;
  private readonly discord: DiscordPort;
  private readonly metrics: Metrics;
  private readonly log: Pick<Logger, 'info' | 'warn'>;
  private readonly now: () => Date;

  constructor(options: {
    destinations: LogDestinationsRepository;
    guildsRepo: GuildsRepository;
    sessionsRepo: SessionsRepository;
    stats: AttendanceStatsService;
    discord: DiscordPort;
    metrics: Metrics;
    log: Pick<Logger, 'info' | 'warn'>;
    now?: () => Date;
  }) {
    this.destinations = options.destinations;
    this.guildsRepo = options.guildsRepo;
    this.sessionsRepo = options.sessionsRepo;
    this.stats = options.stats;
    this.discord = options.discord;
    this.metrics = options.metrics;
    this.log = options.log;
    this.now = options.now ?? (() => new Date());
  }

  async afterCommit(events: readonly AttendanceEvent[]): Promise<void> {
    for (const guildId of new Set(events.map((e) => e.guildId))) {
      const mine = events.filter((e) => e.guildId === guildId);
      const destinations = await this.destinations.list(guildId);
      if (destinations.length === 0) continue;
      const wanting = (type: LogType) =>
        destinations.filter((d) => logTypesOf(d).includes(type)).map((d) => d.channelId);
      const sessions = mine.filter((e): e is SessionCompletedEvent => e.type === 'session.completed');
      const periods = mine.filter((e): e is PeriodArchivedEvent => e.type === 'period.archived');
      for (const channelId of sessions.length > 0 ? wanting('sessions') : [])
        for (const event of sessions)
          await this.post('sessions', guildId, channelId, sessionMessage(event.session));
      for (const channelId of periods.length > 0 ? wanting('periods') : [])
        for (const event of periods)
          await this.post('periods', guildId, channelId, await this.periodText(event));
    }
  }

  /** Posts every summary that is due (the scheduler's tick); returns how many were claimed. */
  async runDueSummaries(): Promise<number> {
    const at = this.now();
    let claimed = 0;
    for (const destination of await this.destinations.withSummaries()) {
      const frequency = destination.frequency as SummaryFrequency;
      if (frequency === 'off' || !logTypesOf(destination).includes('summary')) continue;
      const since = destination.lastSummaryAt ?? destination.createdAt;
      if (!summaryDue(frequency, destination.guild.timeZone, since, at)) continue;
      if (!(await this.destinations.claimSummary(destination.id, destination.lastSummaryAt, at))) continue;
      claimed++;
      const guild = await this.guildsRepo.findGuild(destination.guildId);
      if (!guild) continue;
      const board = await this.stats.leaderboard(trusted(guild, 'the summary its operator configured'), TOP);
      const top = board.entries.map((e) => ({
        rank: e.rank,
        userId: e.user_id,
        activeMs: e.active_seconds * 1000,
      }));
      await this.post(
        'summary',
        guild.id,
        destination.channelId,
        summaryMessage(frequency, board.period_index, top),
      );
    }
    return claimed;
  }

  private async periodText(event: PeriodArchivedEvent): Promise<string> {
    const sessions = await this.sessionsRepo.periodSessions(event.guildId, event.periodIndex);
    return periodMessage(event, rankUsers(sessions).slice(0, TOP));
  }

  private async post(logType: LogType, guildId: string, channelId: string, content: string): Promise<void> {
    if (!this.discord.enabled) {
      this.metrics.attendanceLogPosts.inc({ log_type: logType, outcome: 'skipped' });
      this.log.info(
        { guildId, channelId, logType },
        'attendance log post skipped: no Discord bot is configured (set EARSHOT_DISCORD_BOT_TOKEN)',
      );
      return;
    }
    try {
      await this.discord.postMessage(channelId, content);
      this.metrics.attendanceLogPosts.inc({ log_type: logType, outcome: 'posted' });
    } catch (err) {
      this.metrics.attendanceLogPosts.inc({ log_type: logType, outcome: 'failed' });
      this.log.warn({ err, guildId, channelId, logType }, 'attendance log post failed');
    }
  }
}
