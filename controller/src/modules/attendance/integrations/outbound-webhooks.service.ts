/**
 * Outbound webhooks (a Pro feature): a
 * guild's URL, events and signing secret, and the delivery outbox.
 *
 * - The signing secret is generated here (`whsec_` + 32 random bytes), returned once
 *   in the answer that created it, and stored sealed (crypto/secret-box.ts): the HMAC
 *   needs the secret itself, so it cannot be hashed. Reads show only a 4-character hint.
 * - Events are written to the outbox inside the transaction that stored the change
 *   (`enqueue`, an AttendanceEvents in-transaction handler), so an event is delivered
 *   if and only if its change committed. The sender (outbound-webhooks.sender.ts)
 *   claims due rows, POSTs them and records each attempt here.
 * - Retries: 10 s, 30 s, 2 min, 10 min, 1 h, 3 h, 6 h, 12 h (±20 % jitter), then failed.
 *   A 410 Gone means the receiver is gone for good: the webhook is disabled (audited).
 */

import { randomBytes, randomUUID } from 'node:crypto';
import type { Actor, AuditWriter } from '../../../core/audit.types.js';
import { badRequest } from '../../../core/errors.js';
import { clampLimit, decodeCursor, encodeCursor, pageOf } from '../../../core/pagination.js';
import type { CallContext } from '../../../core/principal.js';
import type { SecretBox } from '../../../crypto/secret-box.js';
import type { Db, Tx } from '../../../db/client.js';
import type { Metrics } from '../../../metrics.js';
import {
  type AttemptResult,
  DELIVERY_CLAIM_LEASE_MS,
  type DeliveryOutcome,
  judgeAttempt,
} from '../../notifications/index.js';
import {
  ATTENDANCE_EVENT_TYPES,
  type AttendanceEvent,
  type AttendanceEventType,
} from '../guilds/attendance-events.js';
import type { VisibleGuild } from '../guilds/guild-access.js';
import type { OutboundWebhooksRepository, WebhookDelivery } from './outbound-webhooks.repository.js';
import {
  auditView,
  eventBody,
  parseSettings,
  present,
  type StoredSettings,
  secretAad,
  unprocessable,
  validateWebhookUrl,
  WEBHOOK_DELIVERY_RETENTION_MS,
} from './outbound-webhooks.rules.js';
import { planAllows, requirePlan } from './plan.js';

const SECRET_PREFIX = 'whsec_';

export type { AttemptResult, DeliveryOutcome };

export interface WebhookSettingsPatch {
  url?: string | null;
  enabled?: boolean;
  events?: AttendanceEventType[];
  rotate_secret?: boolean;
}

/** A delivery claimed for one attempt, with what the sender needs to send it. */
export interface ClaimedDelivery {
  id: string;
  guildId: string;
  event: string;
  body: string;
  url: string;
  /** The signing secret, opened for this attempt only; never logged. */
  secret: string;
  /** This attempt's number (1 = first). */
  attempt: number;
}

const WEBHOOK_ACTOR: Actor = { type: 'system', id: null, name: 'webhook-sender' };

function presentDelivery(row: WebhookDelivery) {
  return {
    id: row.id,
    event: row.event as AttendanceEventType,
    status: row.status as 'pending' | 'delivered' | 'failed',
    url: row.url,
    attempts: row.attempts,
    next_attempt_at: row.status === 'pending' ? row.nextAttemptAt.toISOString() : null,
    last_status: row.lastStatus,
    last_error: row.lastError,
    created_at: row.createdAt.toISOString(),
    delivered_at: row.deliveredAt?.toISOString() ?? null,
    body: row.body,
  };
}

export class OutboundWebhooksService {
  private readonly db: Db;
  private readonly repo: OutboundWebhooksRepository;
  private readonly audit: AuditWriter;
  private readonly secrets: () => Promise<SecretBox>;
  private readonly metrics: Metrics;
  private readonly network: { allowPrivateNetworks: boolean };
  private readonly now: () => Date;
  private readonly random: () => number;

  constructor(options: {
    db: Db;
    repo: OutboundWebhooksRepository;
    audit: AuditWriter;
    secrets: () => Promise<SecretBox>;
    metrics: Metrics;
    network: { allowPrivateNetworks: boolean };
    now?: () => Date;
    random?: () => number;
  }) {
    this.db = options.db;
    this.repo = options.repo;
    this.audit = options.audit;
    this.secrets = options.secrets;
    this.metrics = options.metrics;
    this.network = options.network;
    this.now = options.now ?? (() => new Date());
    this.random = options.random ?? Math.random;
  }

  get(guild: VisibleGuild) {
    requirePlan(guild, 'webhooks');
    return present(parseSettings(guild.webhookSettings), guild.webhookSecret !== null);
  }

  async update(guild: VisibleGuild, patch: WebhookSettingsPatch, ctx: CallContext) {
    requirePlan(guild, 'webhooks');
    const url =
      patch.url === undefined || patch.url === null
        ? patch.url
        : validateWebhookUrl(patch.url, this.network.allowPrivateNetworks);
    const box = await this.secrets();
    return this.db.$transaction(async (tx) => {
      const row = (await this.repo.guild(guild.id, tx))!;
      const before = parseSettings(row.webhookSettings);
      const hadSecret = row.webhookSecret !== null;
      const next: StoredSettings = { ...before };
      if (url !== undefined) next.url = url;
      if (patch.events !== undefined)
        next.events = ATTENDANCE_EVENT_TYPES.filter((t) => patch.events!.includes(t));
      // Setting the first URL turns the webhook on unless the same call says otherwise.
      if (patch.enabled !== undefined) next.enabled = patch.enabled;
      else if (url && !before.url) next.enabled = true;
      let sealed = row.webhookSecret;
      let created: string | undefined;
      if (next.url === null) {
        // No webhook: no secret either; a new URL gets a new one.
        if (patch.enabled) throw unprocessable('set a url before enabling the webhook');
        if (patch.rotate_secret) throw unprocessable('there is no webhook: set a url first');
        next.enabled = false;
        next.secretHint = null;
        sealed = null;
      } else if (!hadSecret || patch.rotate_secret) {
        created = `${SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
        sealed = box.seal(created, secretAad(guild.id));
        next.secretHint = created.slice(-4);
      }
      await this.repo.saveSettings(tx, guild.id, {
        webhookSettings: JSON.stringify(next),
        webhookSecret: sealed,
      });
      await this.audit.recordChange(tx, ctx, {
        permission: 'attendance:manage',
        action: 'attendance.webhook_settings.update',
        target: { type: 'guild', id: guild.id },
        before: auditView(before, hadSecret),
        after: { ...auditView(next, sealed !== null), secret_generated: created !== undefined },
      });
      const answer = present(next, sealed !== null);
      return created === undefined ? answer : { ...answer, signing_secret: created };
    });
  }

  async deliveries(guild: VisibleGuild, query: { cursor?: string; limit?: number; status?: string }) {
    requirePlan(guild, 'webhooks');
    const limit = clampLimit(query.limit);
    const cursor = decodeCursor<string>(query.cursor, 'string');
    let after: { createdAt: Date; id: string } | undefined;
    if (cursor !== undefined) {
      const [at, id] = cursor.split('|');
      const createdAt = new Date(at ?? '');
      if (!id || Number.isNaN(createdAt.getTime()))
        throw badRequest('cursor is not valid: pass the nextCursor of a previous page');
      after = { createdAt, id };
    }
    const rows = await this.repo.list(guild.id, query.status ? { status: query.status } : {}, limit, after);
    return pageOf(rows, limit, presentDelivery, (row) =>
      encodeCursor(`${row.createdAt.toISOString()}|${row.id}`),
    );
  }

  /** In the change's transaction: one outbox row per event the guild's webhook subscribes to. */
  async enqueue(tx: Tx, events: readonly AttendanceEvent[]): Promise<void> {
    const guilds = new Map<string, StoredSettings | undefined>();
    const rows = [];
    for (const event of events) {
      if (!guilds.has(event.guildId)) {
        const guild = await this.repo.guild(event.guildId, tx);
        const settings =
          guild && planAllows(guild, 'webhooks') ? parseSettings(guild.webhookSettings) : undefined;
        guilds.set(event.guildId, settings?.enabled && settings.url ? settings : undefined);
      }
      const settings = guilds.get(event.guildId);
      if (!settings?.url || !settings.events.includes(event.type)) continue;
      const id = randomUUID();
      const at = this.now();
      rows.push({
        id,
        guildId: event.guildId,
        event: event.type,
        body: eventBody(id, event, at),
        url: settings.url,
        nextAttemptAt: at,
        createdAt: at,
      });
    }
    await this.repo.enqueue(tx, rows);
  }

  nextDueAt(): Promise<Date | undefined> {
    return this.repo.nextDueAt();
  }

  /** Retention of the delivery log: settled deliveries older than WEBHOOK_DELIVERY_RETENTION_MS go. */
  pruneSettled(): Promise<number> {
    return this.repo.pruneSettled(new Date(this.now().getTime() - WEBHOOK_DELIVERY_RETENTION_MS));
  }

  /**
   * Claims up to `limit` due deliveries for one attempt each. A delivery whose webhook
   * is gone (disabled, removed, plan downgraded) is settled as failed without sending.
   */
  async claimDue(limit: number): Promise<ClaimedDelivery[]> {
    const now = this.now();
    const candidates = await this.repo.due(now, limit);
    const claimed: ClaimedDelivery[] = [];
    for (const row of candidates) {
      if (
        !(await this.repo.claim(row.id, row.attempts, now, new Date(now.getTime() + DELIVERY_CLAIM_LEASE_MS)))
      )
        continue;
      const attempt = row.attempts + 1;
      const guild = await this.repo.guild(row.guildId);
      const settings = parseSettings(guild?.webhookSettings);
      const unusable = !guild
        ? 'the guild is gone'
        : !planAllows(guild, 'webhooks')
          ? "the guild's plan no longer includes webhooks"
          : !settings.enabled || !settings.url || !guild.webhookSecret
            ? 'the webhook was disabled or removed before this delivery was sent'
            : undefined;
      if (unusable || !guild?.webhookSecret || !settings.url) {
        // Not sent: the claim's attempt is given back, so `attempts` counts real sends.
        await this.settleFailed(row.id, attempt, {
          attempts: row.attempts,
          lastError: unusable ?? 'the webhook is off',
        });
        continue;
      }
      let secret: string;
      try {
        secret = (await this.secrets()).open(guild.webhookSecret, secretAad(guild.id));
      } catch (error) {
        await this.recordAttempt(
          {
            id: row.id,
            guildId: row.guildId,
            event: row.event,
            body: row.body,
            url: settings.url,
            secret: '',
            attempt,
          },
          { kind: 'error', message: `not sent: ${(error as Error).message}` },
        );
        continue;
      }
      // Sent to the webhook's current URL: a corrected URL also carries what is still pending.
      claimed.push({
        id: row.id,
        guildId: row.guildId,
        event: row.event,
        body: row.body,
        url: settings.url,
        secret,
        attempt,
      });
    }
    return claimed;
  }

  /** Records one attempt's result: delivered, retried later, or failed for good (judgeAttempt). */
  async recordAttempt(delivery: ClaimedDelivery, result: AttemptResult): Promise<DeliveryOutcome> {
    const now = this.now();
    const verdict = judgeAttempt(result, delivery.attempt, now, this.random);
    const base = { url: delivery.url, lastStatus: verdict.status };
    if (verdict.outcome === 'delivered') {
      await this.repo.finish(this.db, delivery.id, delivery.attempt, {
        ...base,
        status: 'delivered',
        lastError: null,
        deliveredAt: now,
        nextAttemptAt: now,
      });
      this.metrics.webhookDeliveries.inc({ outcome: 'delivered' });
      return 'delivered';
    }
    if (verdict.outcome === 'failed' && verdict.gone) {
      await this.disableGone(delivery, verdict.error);
      this.metrics.webhookDeliveries.inc({ outcome: 'failed' });
      return 'failed';
    }
    if (verdict.outcome === 'failed') {
      await this.settleFailed(delivery.id, delivery.attempt, { ...base, lastError: verdict.error });
      return 'failed';
    }
    await this.repo.finish(this.db, delivery.id, delivery.attempt, {
      ...base,
      lastError: verdict.error,
      nextAttemptAt: verdict.nextAttemptAt,
    });
    this.metrics.webhookDeliveries.inc({ outcome: 'retry' });
    return 'retry';
  }

  /** Failed for good; `claimedAttempt` fences the update to the claim that made it. */
  private async settleFailed(
    id: string,
    claimedAttempt: number,
    data: { attempts?: number; url?: string; lastStatus?: number | null; lastError: string },
  ): Promise<void> {
    await this.repo.finish(this.db, id, claimedAttempt, {
      ...data,
      status: 'failed',
      nextAttemptAt: this.now(),
    });
    this.metrics.webhookDeliveries.inc({ outcome: 'failed' });
  }

  /** 410 Gone: the receiver says the endpoint is gone for good, so the webhook is turned off. */
  private async disableGone(delivery: ClaimedDelivery, error: string): Promise<void> {
    await this.db.$transaction(async (tx) => {
      await this.repo.finish(tx, delivery.id, delivery.attempt, {
        url: delivery.url,
        lastStatus: 410,
        lastError: `${error}: the webhook was disabled`,
        status: 'failed',
        nextAttemptAt: this.now(),
      });
      const row = await this.repo.guild(delivery.guildId, tx);
      const settings = parseSettings(row?.webhookSettings);
      if (!row || !settings.enabled || settings.url !== delivery.url) return;
      const next = { ...settings, enabled: false };
      await this.repo.saveSettings(tx, row.id, {
        webhookSettings: JSON.stringify(next),
        webhookSecret: row.webhookSecret,
      });
      await this.audit.record(tx, {
        actor: WEBHOOK_ACTOR,
        permission: 'attendance:manage',
        action: 'attendance.webhook_settings.disable',
        target: { type: 'guild', id: row.id },
        outcome: 'success',
        reason: 'the receiver answered 410 Gone',
        before: auditView(settings, row.webhookSecret !== null),
        after: auditView(next, row.webhookSecret !== null),
      });
    });
  }
}
