/**
 * The pure rules of notification integrations: routing (which change an integration is told
 * about), the condition a change belongs to (the quiet period's key), and each kind's message
 * format: the generic webhook's JSON, Slack's and Discord's webhook bodies, Feishu's bot body.
 */

import {
  DEFAULT_NOTIFICATION_EVENTS,
  DEFAULT_NOTIFICATION_SEVERITIES,
} from '../../../../shared/src/notification-kinds.js';
import type { Change } from '../../core/change-feed.js';
import type { AttemptResult } from './delivery/retry.js';
import { feishuSign, webhookSignature } from './delivery/signing.js';
import {
  DEFAULT_QUIET_SECONDS,
  type IntegrationKind,
  NOTIFICATION_EVENTS,
  type NotificationEvent,
  type RoutingRules,
} from './notifications.schemas.js';

export const DEFAULT_RULES: RoutingRules = {
  events: [...DEFAULT_NOTIFICATION_EVENTS],
  healthTypes: null,
  severities: [...DEFAULT_NOTIFICATION_SEVERITIES],
  siteIds: null,
};
export { DEFAULT_QUIET_SECONDS };

/** The stored JSON, read defensively (anything unexpected falls back to the defaults). */
export function parseRules(text: string): RoutingRules {
  try {
    const raw = JSON.parse(text) as Partial<RoutingRules>;
    return {
      events: Array.isArray(raw.events) ? raw.events : DEFAULT_RULES.events,
      healthTypes: Array.isArray(raw.healthTypes) ? raw.healthTypes : null,
      severities: Array.isArray(raw.severities) ? raw.severities : DEFAULT_RULES.severities,
      siteIds: Array.isArray(raw.siteIds) ? raw.siteIds : null,
    };
  } catch {
    return DEFAULT_RULES;
  }
}

export function isNotificationEvent(type: string): type is NotificationEvent {
  return (NOTIFICATION_EVENTS as readonly string[]).includes(type);
}

/** What a change is to notifications: an opening, a resolution, or another step of a condition. */
export function phaseOf(event: NotificationEvent): 'open' | 'resolve' | 'change' {
  if (event === 'health.opened' || event === 'node.offline') return 'open';
  if (event === 'health.resolved' || event === 'node.online') return 'resolve';
  return 'change';
}

/** Whether the integration's rules take the change (the quiet period is judged after). */
export function routes(rules: RoutingRules, change: Change): boolean {
  if (!isNotificationEvent(change.type) || !rules.events.includes(change.type)) return false;
  if (
    rules.siteIds !== null &&
    (change.scope.siteId === null || !rules.siteIds.includes(change.scope.siteId))
  )
    return false;
  if (change.type.startsWith('health.')) {
    const { type, severity } = change.data as { type?: string; severity?: string };
    if (rules.healthTypes !== null && !(rules.healthTypes as string[]).includes(String(type))) return false;
    if (!(rules.severities as string[]).includes(String(severity))) return false;
  }
  return true;
}

/**
 * The condition a change is about, so a flapping one is one condition: a health event's type on
 * its node (a node that goes offline again gets a new event, the same condition), a node's presence.
 */
export function conditionKey(change: Change): string {
  if (change.type.startsWith('node.')) return `node:${change.subject.id}`;
  const type = String((change.data as { type?: unknown }).type ?? change.subject.id);
  return `health:${type}:${change.scope.nodeId ?? 'fleet'}`;
}

/** One line for people: what happened, where, and the event's own message. */
export function summaryOf(change: Change): { title: string; text: string; severity: string } {
  const data = change.data as Record<string, unknown>;
  const node = change.scope.nodeId
    ? `node ${String(data.nodeName ?? data.name ?? change.scope.nodeId)}`
    : 'the controller (fleet-wide)';
  const severity = String(data.severity ?? (change.type === 'node.offline' ? 'critical' : 'info'));
  const message = typeof data.message === 'string' ? data.message : '';
  let title: string;
  switch (change.type) {
    case 'health.opened':
      title = `[${severity.toUpperCase()}] ${String(data.type)} opened on ${node}`;
      break;
    case 'health.resolved':
      title = `[RESOLVED] ${String(data.type)} on ${node}`;
      break;
    case 'health.changed':
      title = `[${String(data.status ?? 'changed').toUpperCase()}] ${String(data.type)} on ${node}`;
      break;
    case 'node.offline':
      title = `[OFFLINE] ${node} is offline`;
      break;
    case 'node.online':
      title = `[ONLINE] ${node} is back online`;
      break;
    default:
      title = `${change.type} on ${node}`;
  }
  return { title, text: message ? `${title}: ${message}` : title, severity };
}

const DISCORD_COLOURS: Record<string, number> = { critical: 0xd32f2f, warning: 0xf9a825, info: 0x1976d2 };
const RESOLVED_COLOUR = 0x2e7d32;

/** The stored body of a message in the integration's own format (per-attempt fields are added later). */
export function messageBody(kind: IntegrationKind, id: string, change: Change, at: Date): string {
  const { title, text, severity } = summaryOf(change);
  switch (kind) {
    case 'webhook':
      return JSON.stringify({
        id,
        type: change.type,
        created_at: at.toISOString(),
        occurred_at: change.at.toISOString(),
        subject: change.subject,
        site_id: change.scope.siteId,
        node_id: change.scope.nodeId,
        data: change.data,
        text,
      });
    case 'slack':
      return JSON.stringify({ text });
    case 'discord': {
      const resolved = phaseOf(change.type as NotificationEvent) === 'resolve';
      return JSON.stringify({
        username: 'Earshot',
        allowed_mentions: { parse: [] },
        embeds: [
          {
            title: title.slice(0, 256),
            description: text.slice(0, 4000),
            color: resolved ? RESOLVED_COLOUR : (DISCORD_COLOURS[severity] ?? DISCORD_COLOURS.info),
            timestamp: change.at.toISOString(),
          },
        ],
      });
    }
    case 'feishu':
      return JSON.stringify({ msg_type: 'text', content: { text } });
  }
}

/** The verification's test message, in the kind's format. */
export function testBody(
  kind: IntegrationKind,
  id: string,
  integration: { id: string; name: string },
  at: Date,
) {
  const text = `Earshot test message: integration "${integration.name}" is set up.`;
  if (kind === 'webhook')
    return JSON.stringify({
      id,
      type: 'test',
      created_at: at.toISOString(),
      occurred_at: at.toISOString(),
      subject: { type: 'notification_integration', id: integration.id },
      site_id: null,
      node_id: null,
      data: {},
      text,
    });
  if (kind === 'slack') return JSON.stringify({ text });
  if (kind === 'discord')
    return JSON.stringify({
      username: 'Earshot',
      allowed_mentions: { parse: [] },
      embeds: [{ title: 'Earshot test message', description: text, color: DISCORD_COLOURS.info }],
    });
  return JSON.stringify({ msg_type: 'text', content: { text } });
}

/** One attempt's request: headers and body, signed for `timestamp` (unix seconds) where the kind signs. */
export function attemptRequest(
  message: { kind: IntegrationKind; id: string; event: string; body: string; secret: string | null },
  timestamp: number,
  version: string,
): { headers: Record<string, string>; body: string; readBody?: boolean } {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': `earshot/${version}`,
  };
  if (message.kind === 'feishu') {
    const parsed = JSON.parse(message.body) as Record<string, unknown>;
    const signed = message.secret
      ? { timestamp: String(timestamp), sign: feishuSign(message.secret, timestamp), ...parsed }
      : parsed;
    return { headers, body: JSON.stringify(signed), readBody: true };
  }
  if (message.kind === 'webhook') {
    headers['x-earshot-event'] = message.event;
    headers['x-earshot-delivery'] = message.id;
    headers['x-earshot-timestamp'] = String(timestamp);
    if (message.secret)
      headers['x-earshot-signature'] = webhookSignature(message.secret, timestamp, message.body);
  }
  return { headers, body: message.body };
}

/**
 * The attempt's result as the kind's receiver means it: Feishu answers HTTP 200 with
 * `{"code": <non-zero>, "msg": …}` when it refuses a message (a bad sign, a missing keyword),
 * which is a failure. Other kinds: the status says it all.
 */
export function checkAnswer(kind: IntegrationKind, result: AttemptResult): AttemptResult {
  if (kind !== 'feishu' || result.kind !== 'response' || result.body === undefined) return result;
  if (result.status < 200 || result.status >= 300) return result;
  try {
    const parsed = JSON.parse(result.body) as { code?: unknown; StatusCode?: unknown; msg?: unknown };
    const code = parsed.code ?? parsed.StatusCode;
    if (code === undefined || code === 0) return result;
    return { kind: 'error', message: `feishu answered code ${String(code)}: ${String(parsed.msg ?? '')}` };
  } catch {
    return result;
  }
}

/** What may be shown of a URL: its origin, and its last 4 characters when it has a path. */
export function urlHint(url: string): string {
  const parsed = new URL(url);
  const rest = url.slice(parsed.origin.length);
  return rest.length > 1 ? `${parsed.origin}/…${rest.slice(-4)}` : parsed.origin;
}

export const urlAad = (id: string) => `earshot.notification-url:${id}`;
export const secretAad = (id: string) => `earshot.notification-secret:${id}`;
