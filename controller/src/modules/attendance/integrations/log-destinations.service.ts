/**
 * Log destinations: Discord channels the bot posts a guild's attendance
 * to, which log types each gets, and how often the summary. Each change is audited in
 * its transaction. The channel is checked against the guild's channels when the bot can
 * see the guild; otherwise it is accepted as given (posting reports a bad channel later).
 */

import type { AuditWriter } from '../../../core/audit.types.js';
import type { AuditAction } from '../../../core/audit-actions.js';
import { badRequest, conflict, notFound } from '../../../core/errors.js';
import type { CallContext } from '../../../core/principal.js';
import type { Db, Tx } from '../../../db/client.js';
import { isUniqueViolation } from '../../../db/unique.js';
import type { DiscordPort } from '../discord/discord-port.js';
import type { VisibleGuild } from '../guilds/guild-access.js';
import type { GuildRow } from '../guilds/guilds.repository.js';
import { LOG_TYPES, type SUMMARY_FREQUENCIES } from './integrations.schemas.js';
import type { LogDestination, LogDestinationsRepository } from './log-destinations.repository.js';

export type LogType = (typeof LOG_TYPES)[number];
export type SummaryFrequency = (typeof SUMMARY_FREQUENCIES)[number];

/** What a destination gets when the request names no log types: everything. */
const DEFAULT_LOG_TYPES: readonly LogType[] = LOG_TYPES;
/** Channel types the bot cannot post in. */
const NOT_POSTABLE = new Set(['category', 'forum']);

export function logTypesOf(row: { logTypes: string }): LogType[] {
  try {
    const parsed: unknown = JSON.parse(row.logTypes);
    return Array.isArray(parsed) ? LOG_TYPES.filter((t) => parsed.includes(t)) : [];
  } catch {
    return [];
  }
}

export function presentLogDestination(row: LogDestination) {
  return {
    id: row.id,
    channel_id: row.channelId,
    log_types: logTypesOf(row),
    frequency: row.frequency as SummaryFrequency,
    last_summary_at: row.lastSummaryAt?.toISOString() ?? null,
    created_at: row.createdAt.toISOString(),
  };
}

function auditView(row: LogDestination) {
  return {
    destinationId: row.id,
    channelId: row.channelId,
    logTypes: logTypesOf(row),
    frequency: row.frequency,
  };
}

export class LogDestinationsService {
  constructor(
    private readonly db: Db,
    private readonly repo: LogDestinationsRepository,
    private readonly audit: AuditWriter,
    private readonly discord: DiscordPort,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async list(guild: VisibleGuild) {
    return (await this.repo.list(guild.id)).map(presentLogDestination);
  }

  async create(
    guild: VisibleGuild,
    input: { channel_id: string; log_types?: LogType[]; frequency?: SummaryFrequency },
    ctx: CallContext,
  ) {
    this.checkChannel(guild.id, input.channel_id);
    const logTypes = LOG_TYPES.filter((t) => (input.log_types ?? DEFAULT_LOG_TYPES).includes(t));
    const frequency = input.frequency ?? 'off';
    const duplicate = () =>
      conflict(`Channel ${input.channel_id} is already a log destination of this guild.`, {
        channel_id: input.channel_id,
      });
    try {
      const row = await this.db.$transaction(async (tx) => {
        if (await this.repo.findByChannel(guild.id, input.channel_id, tx)) throw duplicate();
        const created = await this.repo.create(tx, {
          guildId: guild.id,
          channelId: input.channel_id,
          logTypes: JSON.stringify(logTypes),
          frequency,
          // The summary clock starts now: the first summary comes at the next boundary.
          lastSummaryAt: frequency === 'off' ? null : this.now(),
        });
        await this.record(tx, ctx, guild.id, 'attendance.log_destination.create', null, created);
        return created;
      });
      return presentLogDestination(row);
    } catch (error) {
      // Two creates for one channel at once: the loser hits the unique index.
      if (isUniqueViolation(error)) throw duplicate();
      throw error;
    }
  }

  async remove(guild: VisibleGuild, destinationId: string, ctx: CallContext): Promise<void> {
    await this.db.$transaction(async (tx) => {
      const row = await this.repo.find(guild.id, destinationId, tx);
      if (!row || !(await this.repo.remove(tx, guild.id, destinationId))) throw notFound('log destination');
      await this.record(tx, ctx, guild.id, 'attendance.log_destination.delete', row, null);
    });
  }

  async setLogType(
    guild: VisibleGuild,
    destinationId: string,
    logType: LogType,
    enabled: boolean,
    ctx: CallContext,
  ) {
    return this.change(guild, destinationId, ctx, 'attendance.log_destination.types.update', (row) => {
      const current = logTypesOf(row);
      const next = LOG_TYPES.filter((t) => (t === logType ? enabled : current.includes(t)));
      return { logTypes: JSON.stringify(next) };
    });
  }

  async setFrequency(
    guild: VisibleGuild,
    destinationId: string,
    frequency: SummaryFrequency,
    ctx: CallContext,
  ) {
    return this.change(guild, destinationId, ctx, 'attendance.log_destination.frequency.update', (row) => ({
      frequency,
      // Turning summaries on starts their clock now; otherwise the last summary still counts.
      ...(row.frequency === 'off' && frequency !== 'off' ? { lastSummaryAt: this.now() } : {}),
    }));
  }

  private async change(
    guild: GuildRow,
    destinationId: string,
    ctx: CallContext,
    action: AuditAction,
    patch: (row: LogDestination) => { logTypes?: string; frequency?: string; lastSummaryAt?: Date | null },
  ) {
    const updated = await this.db.$transaction(async (tx) => {
      const row = await this.repo.find(guild.id, destinationId, tx);
      if (!row) throw notFound('log destination');
      const after = await this.repo.update(tx, row.id, patch(row));
      await this.record(tx, ctx, guild.id, action, row, after);
      return after;
    });
    return presentLogDestination(updated);
  }

  private record(
    tx: Tx,
    ctx: CallContext,
    guildId: string,
    action: AuditAction,
    before: LogDestination | null,
    after: LogDestination | null,
  ) {
    return this.audit.recordChange(tx, ctx, {
      permission: 'attendance:manage',
      action,
      target: { type: 'guild', id: guildId },
      before: before && auditView(before),
      after: after && auditView(after),
    });
  }

  /** When the bot sees the guild, the channel must be one of its channels that takes messages. */
  private checkChannel(guildId: string, channelId: string): void {
    if (!this.discord.isInGuild(guildId)) return;
    const channel = this.discord.listChannels(guildId).find((c) => c.id === channelId);
    if (!channel)
      throw badRequest(`Channel ${channelId} is not a channel of this guild (as the Discord bot sees it).`, {
        channel_id: channelId,
      });
    if (NOT_POSTABLE.has(channel.type))
      throw badRequest(`Channel ${channelId} is a ${channel.type}: the bot cannot post messages there.`, {
        channel_id: channelId,
      });
  }
}
