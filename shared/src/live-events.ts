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
