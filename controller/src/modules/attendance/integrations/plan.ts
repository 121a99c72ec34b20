/**
 * Plan tiers per guild: the one place that says
 * which feature needs which plan. Routes and services call `requirePlan` before doing
 * anything a free guild may not; the subscription route lists the same table.
 */
import { ERROR_CODES } from '../../../../../shared/src/errors.js';
import { AppError } from '../../../core/errors.js';

export const PLAN_TIERS = ['free', 'pro'] as const;
export type PlanTier = (typeof PLAN_TIERS)[number];

/** Each feature and the lowest tier that has it (the README's "Plans" paragraph lists the same). */
export const PLAN_FEATURES = {
  log_destinations: { name: 'Log destinations (session, period and summary posts)', tier: 'free' },
  signing: { name: 'Signed sessions and period snapshots, public verification', tier: 'free' },
  period_export: { name: 'Signed period export (GET /export/period/{period_index})', tier: 'pro' },
  verified_roles: { name: 'Verified roles (a role past a threshold of time in a period)', tier: 'pro' },
  webhooks: { name: 'Outbound webhooks (webhooks/settings)', tier: 'pro' },
} as const satisfies Record<string, { name: string; tier: PlanTier }>;
export type PlanFeature = keyof typeof PLAN_FEATURES;

const RANK: Record<PlanTier, number> = { free: 0, pro: 1 };

/** A stored tier; anything unknown counts as free (deny by default). */
export function tierOf(guild: { planTier: string }): PlanTier {
  return (PLAN_TIERS as readonly string[]).includes(guild.planTier) ? (guild.planTier as PlanTier) : 'free';
}

export function planAllows(guild: { planTier: string }, feature: PlanFeature): boolean {
  return RANK[tierOf(guild)] >= RANK[PLAN_FEATURES[feature].tier];
}

/** 402 plan_required unless the guild's plan includes `feature`. */
export function requirePlan(guild: { id: string; planTier: string }, feature: PlanFeature): void {
  if (planAllows(guild, feature)) return;
  const needed = PLAN_FEATURES[feature].tier;
  throw new AppError(
    402,
    ERROR_CODES.planRequired,
    `${PLAN_FEATURES[feature].name} needs the ${needed} plan; this guild is on the ${tierOf(guild)} plan. ` +
      `The controller's operator (settings:manage over the fleet) can change it with ` +
      `PATCH /api/v1/guilds/${guild.id}/subscription { "tier": "${needed}" }.`,
    { feature, required_tier: needed, current_tier: tierOf(guild) },
  );
}

export function presentSubscription(guild: { id: string; planTier: string }) {
  return {
    guild_id: guild.id,
    tier: tierOf(guild),
    features: (Object.keys(PLAN_FEATURES) as PlanFeature[]).map((feature) => ({
      feature,
      name: PLAN_FEATURES[feature].name,
      required_tier: PLAN_FEATURES[feature].tier,
      available: planAllows(guild, feature),
    })),
  };
}
