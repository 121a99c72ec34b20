import type { Command } from '../../../shared/src/mqtt.js';

/**
 * Sends a controller → agent command (MQTT `cmd`, a fresh correlation id each unless `id` is
 * given: a lifecycle job's id, which the agent's result echoes), best effort:
 * agents also poll for jobs and refresh their config and schedule on their own, so a send that
 * fails is logged by the sender, never thrown at the caller.
 */
export type NodeNotifier = (
  nodeId: string,
  type: Command['type'],
  args?: Record<string, unknown>,
  id?: string,
) => Promise<void>;
