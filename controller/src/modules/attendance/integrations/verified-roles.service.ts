/**
 * Verified roles (a Pro feature): a Discord role granted to a member
 * whose active time in a period reaches a rule's threshold.
 *
 * - Rules: created or updated by role id, deleted by id; each change audited.
 * - Grants: after each committed `session.completed`, the member's stored active time
 *   in that session's period is summed; for each rule reached with no grant yet for
 *   (rule, member, period) a pending grant is inserted (the unique key is the claim, so
 *   two replicas or two sessions never grant twice), the role is set through Discord,
 *   and the grant is marked granted or failed, with one audit event (system actor) in
 *   that same transaction. A failed grant is retried on the member's next session, up
 *   to MAX_GRANT_ATTEMPTS attempts in all.
 * - Roles are not removed at a period reset, nor when a rule is deleted or the guild
 *   leaves Pro: a rule only ever grants, and removing a role a moderator may also
 *   hand out by hand would be surprising. A new period grants again (a no-op on Discord
 *   for a member who kept the role) and records it.
 * - A free guild's rules are kept but do nothing; with no bot configured nothing is
 *   attempted (no grant row), so the member's next session after the bot is set up
 *   grants.
 */

import type { Actor, AuditWriter } from '../../../core/audit.types.js';
import type { AuditAction } from '../../../core/audit-actions.js';
import { conflict, notFound } from '../../../core/errors.js';
import type { Logger } from '../../../core/logger.js';
import type { CallContext } from '../../../core/principal.js';
import type { Db, Tx } from '../../../db/client.js';
import { isUniqueViolation } from '../../../db/unique.js';
import type { DiscordPort } from '../discord/discord-port.js';
import type { AttendanceEvent, AttendanceEventHandler } from '../guilds/attendance-events.js';
import type { VisibleGuild } from '../guilds/guild-access.js';
import type { GuildsRepository } from '../guilds/guilds.repository.js';
import { planAllows, requirePlan } from './plan.js';
import type { GrantKey, VerifiedRole, VerifiedRolesRepository } from './verified-roles.repository.js';

export const MAX_GRANT_ATTEMPTS = 3;
const ACTOR: Actor = { type: 'system', id: null, name: 'attendance-verified-roles' };

export function presentVerifiedRole(row: VerifiedRole) {
  return {
    id: row.id,
    role_id: row.roleId,
    threshold_seconds: row.thresholdSeconds,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

export class VerifiedRolesService implements AttendanceEventHandler {
  /** Grants being attempted in this process (rule:user:period), so one is never attempted twice at once. */
  private readonly inFlight = new Set<string>();

  private readonly db: Db;
  private readonly repo: VerifiedRolesRepository;
  private readonly guildsRepo: GuildsRepository;
  private readonly audit: AuditWriter;
  private readonly discord: DiscordPort;
  private readonly log: Pick<Logger, 'info' | 'warn'>;
  private readonly now: () => Date;

  constructor(options: {
    db: Db;
    repo: VerifiedRolesRepository;
    guildsRepo: GuildsRepository;
    audit: AuditWriter;
    discord: DiscordPort;
    log: Pick<Logger, 'info' | 'warn'>;
    now?: () => Date;
  }) {
    this.db = options.db;
    this.repo = options.repo;
    this.guildsRepo = options.guildsRepo;
    this.audit = options.audit;
    this.discord = options.discord;
    this.log = options.log;
    this.now = options.now ?? (() => new Date());
  }

  async list(guild: VisibleGuild) {
    requirePlan(guild, 'verified_roles');
    return (await this.repo.list(guild.id)).map(presentVerifiedRole);
  }

  /** Creates the rule for `roleId`, or updates its threshold; `created` says which. */
  async upsert(guild: VisibleGuild, roleId: string, thresholdSeconds: number, ctx: CallContext) {
    requirePlan(guild, 'verified_roles');
    try {
      const { row, created } = await this.db.$transaction(async (tx) => {
        const existing = await this.repo.findByRole(guild.id, roleId, tx);
        const row = existing
          ? await this.repo.update(tx, existing.id, thresholdSeconds)
          : await this.repo.create(tx, { guildId: guild.id, roleId, thresholdSeconds });
        await this.record(
          tx,
          ctx,
          guild.id,
          existing ? 'attendance.verified_role.update' : 'attendance.verified_role.create',
          existing,
          row,
        );
        return { row, created: !existing };
      });
      return { created, rule: presentVerifiedRole(row) };
    } catch (error) {
      if (isUniqueViolation(error))
        throw conflict(`A rule for role ${roleId} was created at the same time; retry.`);
      throw error;
    }
  }

  async remove(guild: VisibleGuild, ruleId: string, ctx: CallContext): Promise<void> {
    requirePlan(guild, 'verified_roles');
    await this.db.$transaction(async (tx) => {
      const row = await this.repo.find(guild.id, ruleId, tx);
      if (!row || !(await this.repo.remove(tx, guild.id, ruleId))) throw notFound('verified role rule');
      await this.record(tx, ctx, guild.id, 'attendance.verified_role.delete', row, null);
    });
  }

  /** After a commit: grants what the completed sessions' members have reached. */
  async afterCommit(events: readonly AttendanceEvent[]): Promise<void> {
    const members = new Map<string, { guildId: string; userId: string; periodIndex: number }>();
    for (const event of events)
      if (event.type === 'session.completed') {
        const { guildId, periodIndex } = event;
        members.set(`${guildId}:${event.session.userId}:${periodIndex}`, {
          guildId,
          userId: event.session.userId,
          periodIndex,
        });
      }
    for (const member of members.values())
      await this.grantReached(member.guildId, member.userId, member.periodIndex);
  }

  private async grantReached(guildId: string, userId: string, periodIndex: number): Promise<void> {
    const guild = await this.guildsRepo.findGuild(guildId);
    if (!guild || !planAllows(guild, 'verified_roles')) return;
    const rules = await this.repo.list(guildId);
    if (rules.length === 0) return;
    if (!this.discord.enabled) {
      this.log.info({ guildId, userId }, 'verified roles skipped: no Discord bot is configured');
      return;
    }
    const activeMs = await this.repo.activeMs(guildId, userId, periodIndex);
    const grants = await this.repo.grants(guildId, userId, periodIndex);
    for (const rule of rules) {
      if (activeMs < rule.thresholdSeconds * 1000) continue;
      const key: GrantKey = { ruleId: rule.id, userId, periodIndex };
      const flight = `${rule.id}:${userId}:${periodIndex}`;
      if (this.inFlight.has(flight)) continue;
      this.inFlight.add(flight);
      try {
        const attempt = await this.claim(
          guildId,
          key,
          grants.find((g) => g.ruleId === rule.id),
        );
        if (attempt !== undefined) await this.attempt(guildId, rule, key, attempt, activeMs);
      } finally {
        this.inFlight.delete(flight);
      }
    }
  }

  /** The attempt number this caller now owns, or undefined when there is nothing to do. */
  private async claim(
    guildId: string,
    key: GrantKey,
    existing: { status: string; attempts: number } | undefined,
  ): Promise<number | undefined> {
    if (!existing) {
      try {
        await this.repo.insertPending({ ...key, guildId });
        return 1;
      } catch (error) {
        if (isUniqueViolation(error)) return undefined; // granted (or being granted) elsewhere
        throw error;
      }
    }
    if (existing.status === 'granted' || existing.attempts >= MAX_GRANT_ATTEMPTS) return undefined;
    return (await this.repo.claimRetry(key, existing.attempts)) ? existing.attempts + 1 : undefined;
  }

  private async attempt(
    guildId: string,
    rule: VerifiedRole,
    key: GrantKey,
    attempt: number,
    activeMs: number,
  ): Promise<void> {
    const reason = `Earshot verified role: ${Math.floor(activeMs / 1000)} s in period ${key.periodIndex} (threshold ${rule.thresholdSeconds} s)`;
    let error: string | undefined;
    try {
      await this.discord.setMemberRole(guildId, key.userId, rule.roleId, true, reason);
    } catch (err) {
      error = (err instanceof Error ? err.message : String(err)).slice(0, 500);
      this.log.warn(
        { err, guildId, userId: key.userId, roleId: rule.roleId, attempt },
        'verified role grant failed',
      );
    }
    await this.db.$transaction(async (tx) => {
      await this.repo.finish(
        tx,
        key,
        error === undefined
          ? { status: 'granted', grantedAt: this.now() }
          : { status: 'failed', lastError: error },
      );
      await this.audit.record(tx, {
        actor: ACTOR,
        permission: 'attendance:manage',
        action: 'attendance.verified_role.grant',
        target: { type: 'guild', id: guildId },
        outcome: error === undefined ? 'success' : 'failure',
        reason: error ?? null,
        after: {
          ruleId: rule.id,
          roleId: rule.roleId,
          userId: key.userId,
          periodIndex: key.periodIndex,
          attempt,
          activeSeconds: Math.floor(activeMs / 1000),
          thresholdSeconds: rule.thresholdSeconds,
        },
      });
    });
  }

  private record(
    tx: Tx,
    ctx: CallContext,
    guildId: string,
    action: AuditAction,
    before: VerifiedRole | null,
    after: VerifiedRole | null,
  ) {
    const view = (row: VerifiedRole) => ({
      ruleId: row.id,
      roleId: row.roleId,
      thresholdSeconds: row.thresholdSeconds,
    });
    return this.audit.recordChange(tx, ctx, {
      permission: 'attendance:manage',
      action,
      target: { type: 'guild', id: guildId },
      before: before && view(before),
      after: after && view(after),
    });
  }
}
