/**
 * Notifications: integrations that tell operators' chat and alerting tools about health events
 * and node presence (generic webhook, Slack, Discord, Feishu), and the outbound delivery
 * machinery every outbox shares (the attendance webhooks too): the network guard, the retry
 * rules, one POST, the signatures and the outbox sender.
 */
import { packageVersion } from '../../../../shared/src/version.js';
import { controllerSecretBox } from '../../crypto/secret-box.js';
import type { AppModule, ModuleCore } from '../../platform/module.js';
import { OutboxSender, type SenderTimers } from './delivery/outbox-sender.js';
import { type ClaimedNotification, NotificationOutbox } from './notifications.outbox.js';
import { NotificationsRepository } from './notifications.repository.js';
import { notificationsRoutes } from './notifications.routes.js';
import { NotificationsService } from './notifications.service.js';

// The outbound delivery machinery, for every outbox (the attendance webhooks too).
export { describeError, postOnce } from './delivery/http-post.js';
export {
  isPrivateAddress,
  PrivateAddressError,
  privateHostProblem,
  publicOnlyLookup,
} from './delivery/network.js';
export { type ClaimedAttempt, type Outbox, sendAttempt } from './delivery/outbox-sender.js';
export { unprocessable, validateReceiverUrl } from './delivery/receiver-url.js';
export {
  type AttemptResult,
  type AttemptVerdict,
  attemptError,
  DELIVERY_ATTEMPT_TIMEOUT_MS,
  DELIVERY_CLAIM_LEASE_MS,
  DELIVERY_MAX_ATTEMPTS,
  DELIVERY_RETENTION_MS,
  DELIVERY_RETRY_DELAYS_MS,
  DELIVERY_RETRY_JITTER,
  type DeliveryOutcome,
  judgeAttempt,
  MAX_DELIVERY_ERROR_LENGTH,
  retryDelayMs,
} from './delivery/retry.js';
export { feishuSign, webhookSignature } from './delivery/signing.js';
export type { NotificationOutbox, NotificationsService };
export { OutboxSender, type SenderTimers };

export interface NotificationsPorts {
  notifications: NotificationsService;
  /** The outbox: `idle()` waits until every change heard so far is written (tests). */
  notificationOutbox: NotificationOutbox;
  /** The outbox sender; `tick()` sends what is due now, `idle()` waits (tests). */
  notificationSender: OutboxSender<ClaimedNotification>;
}

/**
 * The notifications module: its routes, the change-feed listener that writes the outbox, and
 * the sender (started and stopped as one component; the listener is subscribed while it runs).
 */
export function createNotificationsModule(
  core: ModuleCore,
  options: { timers?: SenderTimers } = {},
): AppModule<NotificationsPorts> {
  const { db, audit, config, log, now, changes, metrics } = core;
  const repo = new NotificationsRepository(db);
  const secrets = controllerSecretBox({ configuredKey: config.secretKey, dataDir: config.dataDir });
  const allowPrivateNetworks = config.webhookAllowPrivateNetworks === true;
  const version = packageVersion();
  const notifications = new NotificationsService({
    db,
    repo,
    audit,
    secrets,
    allowPrivateNetworks,
    version,
    now,
  });
  const outbox: NotificationOutbox = new NotificationOutbox({
    db,
    repo,
    secrets,
    log,
    metrics,
    version,
    now,
    queued: () => sender.wake(),
    audit,
  });
  const sender = new OutboxSender(outbox, log, {
    what: 'notification',
    now,
    timers: options.timers,
    allowPrivateNetworks,
  });
  let unsubscribe: (() => void) | undefined;
  return {
    name: 'notifications',
    routes: [notificationsRoutes(notifications)],
    components: [
      {
        name: 'notification-sender',
        start: async () => {
          unsubscribe = changes.subscribe((change) => outbox.onChange(change));
          sender.start();
        },
        stop: async () => {
          unsubscribe?.();
          await outbox.idle();
          await sender.stop();
        },
      },
    ],
    ports: { notifications, notificationOutbox: outbox, notificationSender: sender },
  };
}
