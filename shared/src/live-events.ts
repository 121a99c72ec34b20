/**
 * The live events' type names (`GET /api/v1/events`, one Server-Sent Events name each), named
 * `<subject>.<what happened>`: the controller's change feed announces these (core/change-feed.ts)
 * and the console listens for each by name (controller/console/src/events.ts). One list, so a
 * new type reaches both or neither.
 */
export const LIVE_EVENT_TYPES = [
  'node.online',
  'node.offline',
  'node.changed',
  'recording.state',
  'job.state',
  'health.opened',
  'health.changed',
  'health.resolved',
  'settings.changed',
  'upload.progress',
] as const;
export type LiveEventType = (typeof LIVE_EVENT_TYPES)[number];

/**
 * A notice on the same stream, not stored (no id, never replayed by `Last-Event-ID`): the audit
 * trail grew. Sent only to a reader who may read at least one of the new events (`audit:read`
 * over its site, node or guild, as `GET /audit-events` scopes them), within about a second;
 * `data`: `{ seq, count }`, the newest such event's `seq` and how many there were.
 */
export const AUDIT_APPENDED = 'audit.appended';
