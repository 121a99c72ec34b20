/** Authenticated requests to a test controller through `inject` (no network). */
import type { ControllerApp } from '../../controller/src/app.js';
import { bearer } from './controller.js';

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** One request as `token`; `payload` is sent only when given. */
export function requestAs(
  app: ControllerApp['app'],
  token: string,
  method: Method,
  url: string,
  payload?: object,
) {
  return app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });
}

/**
 * `api(method, path, payload?, guildId?)` on `/api/v1/guilds/:guildId<path>`, as the token
 * `token()` gives at the time of the call; `guildId` defaults to `defaultGuildId`. The app
 * and token are read lazily because tests assign them in `beforeAll`.
 */
export function guildApi(app: () => ControllerApp['app'], token: () => string, defaultGuildId: string) {
  return (method: Method, path: string, payload?: object, guildId = defaultGuildId) =>
    requestAs(app(), token(), method, `/api/v1/guilds/${guildId}${path}`, payload);
}

/**
 * The inbound attendance webhook with `secret`: `userId` is now in `channelId` of `guildId` (null:
 * left voice); `more` adds fields (a `display_name`, mute flags).
 */
export function voiceWebhook(
  app: ControllerApp['app'],
  secret: string,
  guildId: string,
  userId: string,
  channelId: string | null,
  more: Record<string, unknown> = {},
) {
  return app.inject({
    method: 'POST',
    url: '/api/v1/webhooks/attendance',
    headers: { 'x-webhook-secret': secret },
    payload: { guild_id: guildId, user_id: userId, channel_id: channelId, ...more },
  });
}
