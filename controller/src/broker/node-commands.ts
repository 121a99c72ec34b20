import { randomUUID } from 'node:crypto';
import type { Logger } from '../core/logger.js';
import type { NodeNotifier } from '../core/node-commands.js';
import type { MqttBroker } from './broker.js';

/**
 * The one way modules send an agent a command: through the broker, best effort
 * (core/node-commands.ts). The broker is read at send time: modules that send are built first.
 */
export function nodeCommander(broker: () => Pick<MqttBroker, 'publishToNode'>, log: Logger): NodeNotifier {
  return async (nodeId, type, args, id = randomUUID()) => {
    try {
      await broker().publishToNode(nodeId, 'cmd', { id, type, ...(args ? { args } : {}) });
    } catch (err) {
      log.warn({ err, nodeId, type }, 'command not sent to the node; its agent catches up on its own');
    }
  };
}
