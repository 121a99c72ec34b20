/**
 * Sends the outbound webhook outbox: the notifications module's outbox sender (its delivery
 * loop, claims, retries and network guard) over the attendance webhooks' outbox.
 *
 * Each attempt: POST the stored body with
 *   content-type: application/json
 *   user-agent: earshot/<version>
 *   x-earshot-event: session.completed | period.archived
 *   x-earshot-delivery: <delivery id>   (the same on every retry: dedupe on it)
 *   x-earshot-timestamp: <unix seconds of this attempt>
 *   x-earshot-signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
 * 2xx = delivered; anything else, a network error or no answer within 10 s is retried
 * (see the service). Redirects are not followed; private addresses are refused unless
 * allowed.
 */
import type { Logger } from '../../../core/logger.js';
import { OutboxSender, type SenderTimers, webhookSignature } from '../../notifications/index.js';
import type { ClaimedDelivery, OutboundWebhooksService } from './outbound-webhooks.service.js';

export type { SenderTimers } from '../../notifications/index.js';
export { webhookSignature } from '../../notifications/index.js';

export class OutboundWebhookSender extends OutboxSender<ClaimedDelivery> {
  constructor(
    webhooks: OutboundWebhooksService,
    log: Pick<Logger, 'info' | 'warn' | 'error'>,
    options: { version: string; now: () => Date; timers?: SenderTimers; allowPrivateNetworks?: boolean },
  ) {
    super(
      {
        claimDue: (limit) => webhooks.claimDue(limit),
        recordAttempt: (delivery, result) => webhooks.recordAttempt(delivery, result),
        nextDueAt: () => webhooks.nextDueAt(),
        pruneSettled: () => webhooks.pruneSettled(),
        request: (delivery, timestamp) => ({
          headers: {
            'content-type': 'application/json',
            'user-agent': `earshot/${options.version}`,
            'x-earshot-event': delivery.event,
            'x-earshot-delivery': delivery.id,
            'x-earshot-timestamp': String(timestamp),
            'x-earshot-signature': webhookSignature(delivery.secret, timestamp, delivery.body),
          },
          body: delivery.body,
        }),
        logFields: (delivery) => ({
          deliveryId: delivery.id,
          guildId: delivery.guildId,
          event: delivery.event,
        }),
      },
      log,
      {
        what: 'webhook',
        now: options.now,
        timers: options.timers,
        allowPrivateNetworks: options.allowPrivateNetworks,
      },
    );
  }
}
