/**
 * A guild's tracking settings: mode, tracked channels and fairness rules.
 * Each change is audited in its transaction and then applied to the live tracker, so
 * sessions in channels no longer tracked close and newly tracked ones open at once.
 */

import type { AuditWriter } from '../../../core/audit.types.js';
import type { AuditAction } from '../../../core/audit-actions.js';
import { notFound } from '../../../core/errors.js';
import { actorOf, type CallContext } from '../../../core/principal.js';
import type { Db } from '../../../db/client.js';
import type { VisibleGuild } from '../guilds/guild-access.js';
import type { GuildRow, GuildsRepository } from '../guilds/guilds.repository.js';
import type { AttendanceService } from './sessions.service.js';
import type { TrackingMode } from './tracker.types.js';

export interface FairnessPatch {
  pause_on_mute?: boolean;
  pause_on_deafen?: boolean;
  pause_when_solo?: boolean;
  min_session_seconds?: number;
}

export function presentFairness(guild: GuildRow) {
  return {
    pause_on_mute: guild.pauseOnMute,
    pause_on_deafen: guild.pauseOnDeafen,
    pause_when_solo: guild.pauseWhenSolo,
    min_session_seconds: guild.minSessionSeconds,
  };
}

export function presentTrackedChannels(guild: GuildRow) {
  return {
    mode: guild.trackingMode as TrackingMode,
    afk_channel_id: guild.afkChannelId,
    channels: guild.trackedChannels
      .map((c) => ({ channel_id: c.channelId, added_at: c.createdAt.toISOString() }))
      .sort((a, b) => a.channel_id.length - b.channel_id.length || (a.channel_id < b.channel_id ? -1 : 1)),
  };
}

export class GuildSettingsService {
  constructor(
    private readonly db: Db,
    private readonly repo: GuildsRepository,
    private readonly sessions: AttendanceService,
    private readonly audit: AuditWriter,
  ) {}

  private async change(
    guild: GuildRow,
    ctx: CallContext,
    action: AuditAction,
    before: unknown,
    apply: (tx: Parameters<Parameters<Db['$transaction']>[0]>[0]) => Promise<unknown>,
    after: (updated: GuildRow) => unknown,
  ): Promise<GuildRow> {
    const updated = await this.db.$transaction(async (tx) => {
      await apply(tx);
      const row = (await this.repo.findGuild(guild.id, tx))!;
      await this.audit.recordChange(tx, ctx, {
        permission: 'attendance:manage',
        action,
        target: { type: 'guild', id: guild.id },
        before,
        after: after(row),
      });
      return row;
    });
    await this.sessions.settingsChanged(updated, { actor: actorOf(ctx.principal), context: ctx.request });
    return updated;
  }

  async setTrackingMode(guild: VisibleGuild, mode: TrackingMode, ctx: CallContext) {
    const updated = await this.change(
      guild,
      ctx,
      'attendance.tracking_mode.update',
      { mode: guild.trackingMode },
      (tx) => this.repo.updateGuild(tx, guild.id, { trackingMode: mode }),
      (row) => ({ mode: row.trackingMode }),
    );
    return presentTrackedChannels(updated);
  }

  async addTrackedChannel(guild: VisibleGuild, channelId: string, ctx: CallContext) {
    const updated = await this.change(
      guild,
      ctx,
      'attendance.tracked_channel.add',
      null,
      (tx) => this.repo.addTrackedChannel(tx, guild.id, channelId),
      () => ({ channelId }),
    );
    return presentTrackedChannels(updated);
  }

  async removeTrackedChannel(guild: VisibleGuild, channelId: string, ctx: CallContext) {
    if (!guild.trackedChannels.some((c) => c.channelId === channelId)) throw notFound('tracked channel');
    await this.change(
      guild,
      ctx,
      'attendance.tracked_channel.remove',
      { channelId },
      (tx) => this.repo.removeTrackedChannel(tx, guild.id, channelId),
      () => null,
    );
  }

  async updateFairness(guild: VisibleGuild, patch: FairnessPatch, ctx: CallContext) {
    const updated = await this.change(
      guild,
      ctx,
      'attendance.fairness.update',
      presentFairness(guild),
      (tx) =>
        this.repo.updateGuild(tx, guild.id, {
          pauseOnMute: patch.pause_on_mute,
          pauseOnDeafen: patch.pause_on_deafen,
          pauseWhenSolo: patch.pause_when_solo,
          minSessionSeconds: patch.min_session_seconds,
        }),
      presentFairness,
    );
    return presentFairness(updated);
  }
}
