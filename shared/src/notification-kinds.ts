/**
 * Notification integrations' vocabulary and defaults: what kinds of receiver there are, which
 * changes they can be told about, and what a new one sends unless told otherwise. The
 * controller's API contracts (notifications.schemas.ts) and the console's integration dialog
 * both read them here, so the form offers exactly what the API accepts.
 */
import type { HealthSeverity } from './health-kinds.js';

export const INTEGRATION_KINDS = ['webhook', 'slack', 'discord', 'feishu'] as const;
export type IntegrationKind = (typeof INTEGRATION_KINDS)[number];

/** The changes an integration can be told about (the controller's change-feed types). */
export const NOTIFICATION_EVENTS = [
  'health.opened',
  'health.changed',
  'health.resolved',
  'node.offline',
  'node.online',
] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

/** What a new integration is sent when its rules do not say. */
export const DEFAULT_NOTIFICATION_EVENTS: readonly NotificationEvent[] = [
  'health.opened',
  'health.resolved',
  'node.offline',
  'node.online',
];
export const DEFAULT_NOTIFICATION_SEVERITIES: readonly HealthSeverity[] = ['warning', 'critical'];

export const MAX_URL_LENGTH = 2048;
/** The quiet time: the same condition again within it sends nothing. */
export const MAX_QUIET_SECONDS = 86_400;
export const DEFAULT_QUIET_SECONDS = 300;
