/**
 * The notification outbox: what the change feed's changes become. For each change of a kind
 * integrations hear (health event transitions, node presence), the enabled integrations whose
 * routing rules take it get one message each, written in one transaction with the quiet
 * period's memory per condition: an opening is sent when the condition was not open; a
 * resolution only after an opening was, and held for the integration's quiet period; a reopening
 * within it cancels the held resolution and sends nothing (the receiver still has it open). So a
 * flapping condition sends one opening, and one resolution once it stayed resolved for the quiet
 * period, and a receiver is never left believing resolved what is open. The outbox sender (delivery/outbox-sender.ts)
 * claims, sends and retries the rows through this class.
 */
import { randomUUID } from 'node:crypto';
import type { Actor, AuditWriter } from '../../core/audit.types.js';
import type { Change } from '../../core/change-feed.js';
import type { Logger } from '../../core/logger.js';
import type { SecretBox } from '../../crypto/secret-box.js';
import type { Db, Tx } from '../../db/client.js';
import { retryOnUniqueViolation } from '../../db/unique.js';
import type { Metrics } from '../../metrics.js';
import type { ClaimedAttempt, Outbox } from './delivery/outbox-sender.js';
import {
  type AttemptResult,
  DELIVERY_CLAIM_LEASE_MS,
  DELIVERY_RETENTION_MS,
  type DeliveryOutcome,
  judgeAttempt,
} from './delivery/retry.js';
import { openIntegration } from './integration-secrets.js';
import type { NotificationIntegration, NotificationsRepository } from './notifications.repository.js';
import {
  attemptRequest,
  checkAnswer,
  conditionKey,
  isNotificationEvent,
  messageBody,
  parseRules,
  phaseOf,
  routes,
} from './notifications.rules.js';
import type { IntegrationKind } from './notifications.schemas.js';
import { auditView } from './notifications.views.js';

/** Who disables an integration whose receiver answered 410 Gone. */
const NOTIFICATIONS_ACTOR: Actor = { type: 'system', id: null, name: 'notification sender' };

/** A message claimed for one attempt, with what its request needs (the secret opened for it only). */
export interface ClaimedNotification extends ClaimedAttempt {
  integrationId: string;
  kind: IntegrationKind;
  event: string;
  body: string;
  secret: string | null;
}

export class NotificationOutbox implements Outbox<ClaimedNotification> {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: {
      db: Db;
      repo: NotificationsRepository;
      secrets: () => Promise<SecretBox>;
      log: Pick<Logger, 'error'>;
      metrics: Metrics;
      version: string;
      now: () => Date;
      random?: () => number;
      /** Something was queued (the sender's wake). */
      queued: () => void;
      /** Audits an integration a 410 Gone disabled. */
      audit: AuditWriter;
    },
  ) {}

  /** A change-feed listener: changes are written one at a time, in the order they were published. */
  onChange(change: Change): Promise<void> {
    if (!isNotificationEvent(change.type)) return Promise.resolve();
    const next = this.chain
      .then(() => this.enqueue(change))
      .then((queued) => {
        if (queued > 0) this.deps.queued();
      })
      .catch((err: unknown) =>
        this.deps.log.error({ err, change: change.type }, 'notifications: queuing a change failed'),
      );
    this.chain = next;
    return next;
  }

  /** Resolves when every change heard so far is written (tests, stop). */
  async idle(): Promise<void> {
    let current: Promise<void>;
    do {
      current = this.chain;
      await current;
    } while (current !== this.chain);
  }

  /** Writes the change's messages, one per integration that takes it; returns how many. */
  async enqueue(change: Change): Promise<number> {
    const integrations = (await this.deps.repo.enabled()).filter((i) => routes(parseRules(i.rules), change));
    if (integrations.length === 0) return 0;
    return retryOnUniqueViolation(() =>
      this.deps.db.$transaction(async (tx) => {
        const now = this.deps.now();
        const rows = [];
        for (const integration of integrations) {
          const id = randomUUID();
          const sendAt = await this.passesQuiet(tx, integration, change, now, id);
          if (!sendAt) continue;
          const body = messageBody(integration.kind as IntegrationKind, id, change, now);
          rows.push({
            id,
            integrationId: integration.id,
            event: change.type,
            body,
            nextAttemptAt: sendAt,
            createdAt: now,
          });
        }
        await this.deps.repo.enqueue(tx, rows);
        return rows.length;
      }),
    );
  }

  /**
   * The quiet period and resolutions, per integration and condition (the memory is updated here):
   * when message `id` is to be sent, or false for none.
   */
  private async passesQuiet(
    tx: Tx,
    integration: NotificationIntegration,
    change: Change,
    now: Date,
    id: string,
  ): Promise<Date | false> {
    const phase = phaseOf(change.type as Parameters<typeof phaseOf>[0]);
    if (phase === 'change') return now;
    const { repo } = this.deps;
    const key = conditionKey(change);
    const state = await repo.condition(tx, integration.id, key);
    // Judged at the change's own time (it may be written a moment after it happened).
    if (phase === 'resolve') {
      if (!state?.open) return false;
      await repo.saveCondition(tx, { ...state, open: false, pendingResolutionId: id });
      return new Date(change.at.getTime() + integration.quietSeconds * 1000);
    }
    if (state?.open) return false; // already told it is open
    // Reopened while its resolution waits out the quiet period: the receiver never hears either.
    const overtaken = state?.pendingResolutionId
      ? await repo.cancelUnsent(tx, state.pendingResolutionId, change.at)
      : false;
    const opened = { integrationId: integration.id, key, open: true, pendingResolutionId: null };
    await repo.saveCondition(tx, { ...opened, openedSentAt: overtaken ? state!.openedSentAt : now });
    return overtaken ? false : now;
  }

  async claimDue(limit: number): Promise<ClaimedNotification[]> {
    const { repo } = this.deps;
    const now = this.deps.now();
    const claimed: ClaimedNotification[] = [];
    for (const row of await repo.due(now, limit)) {
      if (!(await repo.claim(row.id, row.attempts, now, new Date(now.getTime() + DELIVERY_CLAIM_LEASE_MS))))
        continue;
      const attempt = row.attempts + 1;
      const found = await repo.find(row.integrationId);
      const integration = found?.status === 'enabled' ? found : undefined;
      if (!integration) {
        // Not sent: the claim's attempt is given back, so `attempts` counts real sends.
        await repo.finish(row.id, attempt, {
          attempts: row.attempts,
          status: 'failed',
          lastError: 'the integration was disabled before this message was sent',
          nextAttemptAt: now,
        });
        continue;
      }
      const kind = integration.kind as IntegrationKind;
      const base = {
        id: row.id,
        integrationId: row.integrationId,
        kind,
        event: row.event,
        body: row.body,
        attempt,
      };
      try {
        const { url, secret } = openIntegration(await this.deps.secrets(), integration);
        claimed.push({ ...base, url, secret });
      } catch (error) {
        const message = `not sent: ${(error as Error).message}`;
        await this.recordAttempt({ ...base, url: '', secret: null }, { kind: 'error', message });
      }
    }
    return claimed;
  }

  request(delivery: ClaimedNotification, timestamp: number) {
    return attemptRequest(delivery, timestamp, this.deps.version);
  }

  async recordAttempt(delivery: ClaimedNotification, result: AttemptResult): Promise<DeliveryOutcome> {
    const now = this.deps.now();
    const verdict = judgeAttempt(
      checkAnswer(delivery.kind, result),
      delivery.attempt,
      now,
      this.deps.random ?? Math.random,
    );
    const { repo } = this.deps;
    if (verdict.outcome === 'delivered') {
      await repo.finish(delivery.id, delivery.attempt, {
        status: 'delivered',
        lastStatus: verdict.status,
        lastError: null,
        deliveredAt: now,
        nextAttemptAt: now,
      });
      this.deps.metrics.notificationDeliveries.inc({ kind: delivery.kind, outcome: 'delivered' });
      return 'delivered';
    }
    const { kind } = delivery;
    const base = { lastStatus: verdict.status, lastError: verdict.error };
    if (verdict.outcome === 'failed' && verdict.gone) {
      await this.disableGone(delivery, { ...base, status: 'failed', nextAttemptAt: now });
      this.deps.metrics.notificationDeliveries.inc({ kind, outcome: 'failed' });
      return 'failed';
    }
    if (verdict.outcome === 'failed') {
      await repo.finish(delivery.id, delivery.attempt, { ...base, status: 'failed', nextAttemptAt: now });
      this.deps.metrics.notificationDeliveries.inc({ kind, outcome: 'failed' });
      return 'failed';
    }
    await repo.finish(delivery.id, delivery.attempt, { ...base, nextAttemptAt: verdict.nextAttemptAt });
    this.deps.metrics.notificationDeliveries.inc({ kind, outcome: 'retry' });
    return 'retry';
  }

  /**
   * 410 Gone: the receiver says the endpoint is gone for good, so the integration is disabled
   * (audited, the controller as actor), in the transaction that fails the message. Enabling it
   * again needs a new verification only if its URL changes; an operator decides.
   */
  private async disableGone(
    delivery: ClaimedNotification,
    settled: { status: 'failed'; nextAttemptAt: Date; lastStatus: number | null; lastError: string },
  ): Promise<void> {
    const { db, repo, audit, now } = this.deps;
    await db.$transaction(async (tx) => {
      const lastError = `${settled.lastError}: the integration was disabled`;
      if (!(await repo.finish(delivery.id, delivery.attempt, { ...settled, lastError }, tx))) return;
      const row = await repo.find(delivery.integrationId, tx);
      if (row?.status !== 'enabled') return;
      const updated = await repo.update(tx, row.id, { status: 'disabled', updatedAt: now() });
      await audit.record(tx, {
        actor: NOTIFICATIONS_ACTOR,
        permission: 'integrations:manage',
        action: 'integration.disable',
        target: { type: 'notification_integration', id: row.id },
        outcome: 'success',
        reason: 'the receiver answered 410 Gone',
        before: auditView(row),
        after: auditView(updated),
      });
    });
  }

  nextDueAt(): Promise<Date | undefined> {
    return this.deps.repo.nextDueAt();
  }

  pruneSettled(): Promise<number> {
    return this.deps.repo.pruneSettled(new Date(this.deps.now().getTime() - DELIVERY_RETENTION_MS));
  }

  logFields(delivery: ClaimedNotification): Record<string, unknown> {
    return {
      deliveryId: delivery.id,
      integrationId: delivery.integrationId,
      kind: delivery.kind,
      event: delivery.event,
    };
  }
}
