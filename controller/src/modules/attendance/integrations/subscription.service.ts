/**
 * A guild's plan tier. Read by anyone who can read the guild; changed only by
 * the controller's operator, audited with before and after in the same transaction.
 */

import type { AuditWriter } from '../../../core/audit.types.js';
import { forbidden } from '../../../core/errors.js';
import type { CallContext } from '../../../core/principal.js';
import type { Db } from '../../../db/client.js';
import type { VisibleGuild } from '../guilds/guild-access.js';
import type { GuildsRepository } from '../guilds/guilds.repository.js';
import { type PlanTier, presentSubscription, tierOf } from './plan.js';

export class SubscriptionService {
  constructor(
    private readonly db: Db,
    private readonly repo: GuildsRepository,
    private readonly audit: AuditWriter,
  ) {}

  get(guild: VisibleGuild) {
    return presentSubscription(guild);
  }

  async setTier(guild: VisibleGuild, tier: PlanTier, ctx: CallContext) {
    // The plan is the operator's decision for the whole controller, not a guild admin's:
    // a grant of settings:manage scoped to this guild (a guild-scoped admin role) is not enough.
    const { principal } = ctx;
    if (principal.kind !== 'user' || !principal.access.hasFleet('settings:manage')) {
      throw forbidden(
        "A guild's plan is set by the controller's operator: you need settings:manage over the fleet.",
        {
          permission: 'settings:manage',
          action: 'attendance.subscription.update',
          target: { type: 'guild', id: guild.id },
          reason: 'settings:manage not held over the fleet',
        },
      );
    }
    const updated = await this.db.$transaction(async (tx) => {
      const row = await this.repo.updateGuild(tx, guild.id, { planTier: tier });
      await this.audit.recordChange(tx, ctx, {
        permission: 'settings:manage',
        action: 'attendance.subscription.update',
        target: { type: 'guild', id: guild.id },
        before: { tier: tierOf(guild) },
        after: { tier },
      });
      return row;
    });
    return presentSubscription(updated);
  }
}
