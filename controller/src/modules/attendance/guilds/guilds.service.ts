/**
 * Guilds registered through the API: a source of attendance other than the Discord bot (the
 * inbound webhook) needs its guild to exist before it sends events, and the bot registers only
 * the guilds it sits in. Registering an id that exists is a 409 (whoever registered it: the
 * bot or a user); name and time zone change with an update. Each change is audited in its
 * transaction. When the bot later joins a registered guild it takes over the name Discord reports.
 */
import type { AuditWriter } from '../../../core/audit.types.js';
import { badRequest, conflict, forbidden } from '../../../core/errors.js';
import type { CallContext, Principal } from '../../../core/principal.js';
import type { Db } from '../../../db/client.js';
import { isUniqueViolation } from '../../../db/unique.js';
import type { RegisterGuildInput, UpdateGuildInput } from './attendance.schemas.js';
import type { VisibleGuild } from './guild-access.js';
import type { GuildLocks } from './guild-locks.js';
import type { GuildRow, GuildsRepository } from './guilds.repository.js';

export function presentGuild(guild: GuildRow) {
  return {
    id: guild.id,
    name: guild.name,
    time_zone: guild.timeZone,
    tracking_mode: guild.trackingMode,
    bot_present: guild.botPresent,
    period_index: guild.periodIndex,
    period_started_at: guild.periodStartedAt.toISOString(),
    created_at: guild.createdAt.toISOString(),
  };
}

/** An IANA zone the runtime knows, or a 400 naming it. */
function checkTimeZone(timeZone: string | undefined): void {
  if (timeZone === undefined) return;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw badRequest(
      `time_zone: unknown time zone ${JSON.stringify(timeZone)}; use an IANA name such as Europe/Berlin.`,
    );
  }
}

const alreadyRegistered = (guildId: string) =>
  conflict(
    `Guild ${guildId} is already registered; change its name or time zone with PATCH /api/v1/guilds/${guildId}.`,
    {
      guildId,
    },
  );

export class GuildsService {
  constructor(
    private readonly db: Db,
    private readonly repo: GuildsRepository,
    private readonly audit: AuditWriter,
    private readonly locks: GuildLocks,
    private readonly now: () => Date,
  ) {}

  /**
   * Registers a guild. Needs attendance:manage over that guild (a grant on its id) or the
   * fleet; checked before anything is looked up, so a refusal says nothing of what exists.
   */
  async register(input: RegisterGuildInput, ctx: CallContext): Promise<GuildRow> {
    const guildId = input.id;
    if (!mayManage(ctx.principal, guildId))
      throw forbidden(
        `You need the attendance:manage permission over guild ${guildId} (or the whole fleet) to register it.`,
        { permission: 'attendance:manage', target: { type: 'guild', id: guildId }, attempted: input },
      );
    checkTimeZone(input.time_zone);
    const timeZone = input.time_zone ?? 'UTC';
    try {
      return await this.locks.run(guildId, () =>
        this.db.$transaction(async (tx) => {
          if (await this.repo.findGuild(guildId, tx)) throw alreadyRegistered(guildId);
          await this.repo.createGuild(tx, {
            id: guildId,
            name: input.name,
            timeZone,
            periodStartedAt: this.now(),
          });
          await this.audit.recordChange(tx, ctx, {
            permission: 'attendance:manage',
            action: 'attendance.guild.create',
            target: { type: 'guild', id: guildId },
            before: null,
            after: { name: input.name, timeZone },
          });
          return (await this.repo.findGuild(guildId, tx))!;
        }),
      );
    } catch (error) {
      // Another replica (or the bot) created it between the look-up and the insert.
      if (isUniqueViolation(error)) throw alreadyRegistered(guildId);
      throw error;
    }
  }

  /** Changes a guild's name and/or time zone; a request that changes nothing is not audited. */
  async update(guild: VisibleGuild, input: UpdateGuildInput, ctx: CallContext): Promise<GuildRow> {
    checkTimeZone(input.time_zone);
    return this.locks.run(guild.id, () =>
      this.db.$transaction(async (tx) => {
        const current = (await this.repo.findGuild(guild.id, tx)) ?? guild;
        const name = input.name ?? current.name;
        const timeZone = input.time_zone ?? current.timeZone;
        if (name === current.name && timeZone === current.timeZone) return current;
        await this.repo.updateGuild(tx, guild.id, { name, timeZone });
        await this.audit.recordChange(tx, ctx, {
          permission: 'attendance:manage',
          action: 'attendance.guild.update',
          target: { type: 'guild', id: guild.id },
          before: { name: current.name, timeZone: current.timeZone },
          after: { name, timeZone },
        });
        return (await this.repo.findGuild(guild.id, tx))!;
      }),
    );
  }

  /** The guilds the caller may read attendance of, by id. */
  list(principal: Principal, limit: number, afterId?: string): Promise<GuildRow[]> {
    if (principal.kind !== 'user') throw forbidden('users only');
    return this.repo.listGuilds(principal.access.filter('attendance:read'), limit, afterId);
  }
}

function mayManage(principal: Principal, guildId: string): boolean {
  return principal.kind === 'user' && principal.access.allows('attendance:manage', { guildId });
}
