/**
 * The pure rules of outbound webhooks: what a webhook URL may be, how settings are stored
 * and shown, the body sent for each event, and the retry schedule.
 */
import { ERROR_CODES } from '../../../../../shared/src/errors.js';
import { AppError } from '../../../core/errors.js';
import {
  ATTENDANCE_EVENT_TYPES,
  type AttendanceEvent,
  type AttendanceEventType,
} from '../guilds/attendance-events.js';
import { privateHostProblem } from './outbound-webhooks.network.js';
import { MAX_WEBHOOK_URL_LENGTH } from './outbound-webhooks.schemas.js';

/** Delay after the n-th failed attempt (index n - 1); one attempt more than delays, then failed. */
export const WEBHOOK_RETRY_DELAYS_MS = [
  10_000,
  30_000,
  120_000,
  600_000,
  3_600_000,
  3 * 3_600_000,
  6 * 3_600_000,
  12 * 3_600_000,
] as const;
export const WEBHOOK_MAX_ATTEMPTS = WEBHOOK_RETRY_DELAYS_MS.length + 1;
/** Each delay is scaled by a random factor in [1 - JITTER, 1 + JITTER], so retries spread out. */
export const WEBHOOK_RETRY_JITTER = 0.2;
/** One attempt's limit, connection and answer included. */
export const WEBHOOK_ATTEMPT_TIMEOUT_MS = 10_000;
/** Delivered and failed deliveries stay in the delivery log this long, then are pruned. */
export const WEBHOOK_DELIVERY_RETENTION_MS = 30 * 24 * 3_600_000;

export function retryDelayMs(failedAttempts: number, random: () => number): number {
  const index = Math.min(Math.max(failedAttempts, 1), WEBHOOK_RETRY_DELAYS_MS.length) - 1;
  const factor = 1 - WEBHOOK_RETRY_JITTER + 2 * WEBHOOK_RETRY_JITTER * random();
  return Math.round(WEBHOOK_RETRY_DELAYS_MS[index]! * factor);
}

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

export const unprocessable = (message: string) => new AppError(422, ERROR_CODES.unprocessable, message);

/**
 * An http(s) URL with a host, no credentials and no fragment (and, unless allowed, not a
 * private address: outbound-webhooks.network.ts); returns it normalised.
 */
export function validateWebhookUrl(raw: string, allowPrivateNetworks = false): string {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH)
    throw unprocessable(`url is longer than ${MAX_WEBHOOK_URL_LENGTH} characters`);
  if (/\s/.test(raw) || [...raw].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f))
    throw unprocessable('url must not contain spaces or control characters');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw unprocessable('url is not a valid absolute URL (e.g. https://example.com/hooks/earshot)');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw unprocessable(`url must use http or https, not ${url.protocol.replace(/:$/, '')}`);
  if (!url.hostname) throw unprocessable('url needs a host');
  if (url.username || url.password)
    throw unprocessable('url must not carry credentials (user:password@); verify the signature instead');
  if (url.hash) throw unprocessable('url must not have a #fragment (it is never sent)');
  const privateProblem = allowPrivateNetworks ? undefined : privateHostProblem(url);
  if (privateProblem)
    throw unprocessable(
      `${privateProblem}; receivers must be reachable on a public address (the operator can allow private networks with EARSHOT_WEBHOOK_ALLOW_PRIVATE_NETWORKS)`,
    );
  if (url.href.length > MAX_WEBHOOK_URL_LENGTH)
    throw unprocessable(`url is longer than ${MAX_WEBHOOK_URL_LENGTH} characters once normalised`);
  return url.href;
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
