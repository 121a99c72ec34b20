/**
 * The operational event log's kinds (`GET /api/v1/ops-events?kind=`), named
 * `<subject>.<what happened>` (not audit actions, though some look alike): the controller writes
 * them (core/ops-log.ts) and the console's System page filters by them (system-model.ts).
 */
export const OPS_EVENT_KINDS = [
  'controller.started',
  'controller.stopped',
  'migrations.applied',
  'broker.started',
  'discord.ready',
  'discord.reconnecting',
  'discord.stopped',
  'runner.failed',
  'runner.recovered',
  'settings.changed',
  'demo.seeded',
  'demo.reset',
] as const;
export type OpsEventKind = (typeof OPS_EVENT_KINDS)[number];
