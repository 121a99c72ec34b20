/**
 * What a health event is about and how bad it is (docs/mqtt.md): the agents' types, the
 * controller-raised ones and `manual`. A module of its own, without the topic schemas, so the
 * console's health page can offer them without loading the schema library.
 */
export const HEALTH_EVENT_TYPES = [
  'silence',
  'clipping',
  'device_lost',
  'disk_low',
  'clock_skew',
  'upload_backlog',
  'capture_restart',
  'events_dropped',
  'node_offline',
  'occurrence_missed',
  'upload_failing',
  'audit_chain',
  'manual',
] as const;
export type HealthEventType = (typeof HEALTH_EVENT_TYPES)[number];
export const HEALTH_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type HealthSeverity = (typeof HEALTH_SEVERITIES)[number];
