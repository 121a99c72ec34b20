/**
 * Attendance reads: overview, leaderboard, per-user and per-channel stats,
 * the weekday × hour heatmap and live occupancy. The current period's figures are its
 * stored sessions plus the open ones accounted up to now.
 */

import type { CommandUsageRepository } from '../discord/command-usage.repository.js';
import type { BotStateView } from '../discord/discord.service.js';
import type { VisibleGuild } from '../guilds/guild-access.js';
import type { GuildRow } from '../guilds/guilds.repository.js';
import type { MemberNamesService } from '../members/member-names.service.js';
import { activityHeatmap } from '../periods/heatmap.js';
import { channelTotals, rankUsers } from '../periods/leaderboard.js';
import { nextResetAt, scheduleOf } from '../periods/periods.service.js';
import { ZonedTime } from '../periods/zoned-time.js';
import type { AttendanceSigningService } from '../signing/signing.service.js';
import type { SessionsRepository } from '../tracking/sessions.repository.js';
import type { AttendanceService } from '../tracking/sessions.service.js';

interface TimedRow {
  userId: string;
  channelId: string;
  activeMs: number;
  pausedMs: number;
  startedAtMs: number;
  endedAtMs: number;
}

const seconds = (ms: number) => Math.floor(ms / 1000);

type BotView = (guildId: string) => { state: BotStateView; present: boolean };

export class AttendanceStatsService {
  private readonly sessionsRepo: SessionsRepository;
  private readonly commandUsageRepo: CommandUsageRepository;
  private readonly sessions: AttendanceService;
  private readonly signing: AttendanceSigningService;
  private readonly members: Pick<MemberNamesService, 'namesOf'>;
  private readonly now: () => Date;
  /** The live gateway's view of a guild (the Discord service's `botView`). */
  private readonly botView: BotView;

  constructor(options: {
    sessionsRepo: SessionsRepository;
    commandUsageRepo: CommandUsageRepository;
    sessions: AttendanceService;
    signing: AttendanceSigningService;
    members: Pick<MemberNamesService, 'namesOf'>;
    now?: () => Date;
    botView?: BotView;
  }) {
    this.sessionsRepo = options.sessionsRepo;
    this.commandUsageRepo = options.commandUsageRepo;
    this.sessions = options.sessions;
    this.signing = options.signing;
    this.members = options.members;
    this.now = options.now ?? (() => new Date());
    this.botView = options.botView ?? (() => ({ state: 'disabled', present: false }));
  }

  /** Stored sessions of the current period plus the open ones, accounted to now. */
  private async currentPeriod(guild: GuildRow): Promise<TimedRow[]> {
    const stored = await this.sessionsRepo.periodSessions(guild.id, guild.periodIndex);
    const nowMs = this.now().getTime();
    return [
      ...stored.map((s) => ({
        userId: s.userId,
        channelId: s.channelId,
        activeMs: s.activeMs,
        pausedMs: s.pausedMs,
        startedAtMs: s.startedAt.getTime(),
        endedAtMs: s.endedAt.getTime(),
      })),
      ...this.sessions.openSessions(guild.id).map((s) => ({
        userId: s.userId,
        channelId: s.channelId,
        activeMs: s.activeMs,
        pausedMs: s.pausedMs,
        startedAtMs: s.startedAtMs,
        endedAtMs: Math.max(s.startedAtMs, Math.min(nowMs, s.lastObservedAtMs)),
      })),
    ];
  }

  periodState(guild: VisibleGuild) {
    return {
      index: guild.periodIndex,
      started_at: guild.periodStartedAt.toISOString(),
      next_reset_at: nextResetAt(guild)?.toISOString() ?? null,
      schedule: scheduleOf(guild),
    };
  }

  async overview(guild: VisibleGuild) {
    const rows = await this.currentPeriod(guild);
    const live = this.liveOccupancy(guild);
    return {
      guild: {
        id: guild.id,
        name: guild.name,
        time_zone: guild.timeZone,
        tracking_mode: guild.trackingMode,
        bot_present: guild.botPresent,
      },
      period: this.periodState(guild),
      occupancy: { members: live.members, channels: live.channels.length },
      totals: {
        sessions: rows.length,
        members: new Set(rows.map((r) => r.userId)).size,
        active_seconds: seconds(rows.reduce((sum, r) => sum + r.activeMs, 0)),
      },
      signing: await this.signing.status(guild.id),
      bot: this.botView(guild.id),
      commands: (await this.commandUsageRepo.commandUsage(guild.id)).map((u) => ({
        command: u.command,
        count: u.count,
        last_at: u.lastAt.toISOString(),
      })),
    };
  }

  async leaderboard(guild: VisibleGuild, limit: number) {
    const ranked = rankUsers(await this.currentPeriod(guild));
    const shown = ranked.slice(0, limit);
    const names = await this.members.namesOf(
      guild.id,
      shown.map((u) => u.userId),
    );
    return {
      period_index: guild.periodIndex,
      entries: shown.map((u) => ({
        rank: u.rank,
        user_id: u.userId,
        display_name: names.get(u.userId) ?? null,
        active_seconds: seconds(u.activeMs),
        sessions: u.sessions,
      })),
      total_members: ranked.length,
    };
  }

  async userStats(guild: VisibleGuild, userId: string) {
    const rows = await this.currentPeriod(guild);
    const ranked = rankUsers(rows);
    const mine = rows.filter((r) => r.userId === userId);
    const standing = ranked.find((u) => u.userId === userId);
    const names = await this.members.namesOf(guild.id, [userId]);
    return {
      user_id: userId,
      display_name: names.get(userId) ?? null,
      period_index: guild.periodIndex,
      rank: standing?.rank ?? null,
      sessions: mine.length,
      active_seconds: seconds(mine.reduce((sum, r) => sum + r.activeMs, 0)),
      paused_seconds: seconds(mine.reduce((sum, r) => sum + r.pausedMs, 0)),
      channels: channelTotals(mine).map((c) => ({
        channel_id: c.channelId,
        active_seconds: seconds(c.activeMs),
        sessions: c.sessions,
      })),
    };
  }

  async channelStats(guild: VisibleGuild, channelId?: string) {
    const totals = channelTotals(await this.currentPeriod(guild));
    return {
      period_index: guild.periodIndex,
      channels: totals
        .filter((c) => channelId === undefined || c.channelId === channelId)
        .map((c) => ({
          channel_id: c.channelId,
          active_seconds: seconds(c.activeMs),
          sessions: c.sessions,
          members: c.members,
        })),
    };
  }

  async heatmap(guild: VisibleGuild) {
    const zone = new ZonedTime(guild.timeZone);
    const cells = activityHeatmap(await this.currentPeriod(guild), zone);
    return {
      period_index: guild.periodIndex,
      time_zone: guild.timeZone,
      weekday_hour_active_seconds: cells.map((row) => row.map(seconds)),
    };
  }

  liveOccupancy(guild: VisibleGuild) {
    const open = this.sessions.openSessions(guild.id);
    const byChannel = new Map<string, { user_id: string; active_seconds: number; paused: boolean }[]>();
    for (const s of open) {
      const list = byChannel.get(s.channelId) ?? [];
      list.push({ user_id: s.userId, active_seconds: seconds(s.activeMs), paused: s.pausedSinceMs !== null });
      byChannel.set(s.channelId, list);
    }
    return {
      at: this.now().toISOString(),
      members: open.length,
      channels: [...byChannel].map(([channelId, members]) => ({ channel_id: channelId, members })),
    };
  }
}
