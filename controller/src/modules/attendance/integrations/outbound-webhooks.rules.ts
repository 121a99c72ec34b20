/**
 * The pure rules of outbound webhooks: what a webhook URL may be, how settings are stored
 * and shown, the body sent for each event, and the retry schedule.
 */

import { unprocessable, validateReceiverUrl } from '../../notifications/index.js';
import {
  ATTENDANCE_EVENT_TYPES,
  type AttendanceEvent,
  type AttendanceEventType,
} from '../guilds/attendance-events.js';
import { MAX_WEBHOOK_URL_LENGTH } from './outbound-webhooks.schemas.js';

// The retry rules are the notifications module's, shared by every outbox.
export {
  DELIVERY_ATTEMPT_TIMEOUT_MS as WEBHOOK_ATTEMPT_TIMEOUT_MS,
  DELIVERY_MAX_ATTEMPTS as WEBHOOK_MAX_ATTEMPTS,
  DELIVERY_RETENTION_MS as WEBHOOK_DELIVERY_RETENTION_MS,
  DELIVERY_RETRY_DELAYS_MS as WEBHOOK_RETRY_DELAYS_MS,
  DELIVERY_RETRY_JITTER as WEBHOOK_RETRY_JITTER,
  retryDelayMs,
} from '../../notifications/index.js';

export interface StoredSettings {
  url: string | null;
  enabled: boolean;
  events: AttendanceEventType[];
  secretHint: string | null;
}

export const NO_WEBHOOK: StoredSettings = {
  url: null,
  enabled: false,
  events: [...ATTENDANCE_EVENT_TYPES],
  secretHint: null,
};

/** The stored JSON, read defensively: anything unexpected falls back to "no webhook". */
export function parseSettings(text: string | null | undefined): StoredSettings {
  if (!text) return NO_WEBHOOK;
  try {
    const raw = JSON.parse(text) as Partial<StoredSettings>;
    return {
      url: typeof raw.url === 'string' ? raw.url : null,
      enabled: raw.enabled === true && typeof raw.url === 'string',
      events: Array.isArray(raw.events)
        ? ATTENDANCE_EVENT_TYPES.filter((t) => (raw.events as unknown[]).includes(t))
        : [...ATTENDANCE_EVENT_TYPES],
      secretHint: typeof raw.secretHint === 'string' ? raw.secretHint : null,
    };
  } catch {
    return NO_WEBHOOK;
  }
}

export function present(settings: StoredSettings, secretSet: boolean) {
  return {
    url: settings.url,
    enabled: settings.enabled,
    events: settings.events,
    secret: { set: secretSet, hint: secretSet ? settings.secretHint : null },
  };
}

/** What the audit log keeps: everything but the secret (only whether it was set or rotated). */
export function auditView(settings: StoredSettings, secretSet: boolean) {
  return { url: settings.url, enabled: settings.enabled, events: settings.events, secret_set: secretSet };
}

export { unprocessable };

/** A webhook URL: a receiver URL (validateReceiverUrl) of at most MAX_WEBHOOK_URL_LENGTH characters. */
export function validateWebhookUrl(raw: string, allowPrivateNetworks = false): string {
  return validateReceiverUrl(raw, allowPrivateNetworks, MAX_WEBHOOK_URL_LENGTH);
}

/** The signing secret's sealed form is bound to its guild. */
export const secretAad = (guildId: string) => `earshot.webhook-secret:${guildId}`;

/**
 * The JSON body sent and signed: snake_case, Discord ids as strings, like the API.
 * Durations through Number(): stored as BigInt, and JSON.stringify throws on a bigint,
 * which here would roll back the change that published the event.
 */
export function eventBody(id: string, event: AttendanceEvent, createdAt: Date): string {
  const data =
    event.type === 'session.completed'
      ? {
          period_index: event.periodIndex,
          session: {
            id: event.session.id,
            user_id: event.session.userId,
            channel_id: event.session.channelId,
            started_at: event.session.startedAt,
            ended_at: event.session.endedAt,
            active_ms: Number(event.session.activeMs),
            paused_ms: Number(event.session.pausedMs),
            outage_ms: Number(event.session.outageMs),
            close_reason: event.session.closeReason,
            source: event.session.source,
            signed: event.session.signed,
          },
        }
      : {
          period_index: event.periodIndex,
          started_at: event.startedAt,
          ended_at: event.endedAt,
          sessions: event.sessions,
          signed: event.signed,
        };
  return JSON.stringify({
    id,
    type: event.type,
    guild_id: event.guildId,
    created_at: createdAt.toISOString(),
    data,
  });
}
