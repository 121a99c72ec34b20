/**
 * The embedded MQTT broker as the app sees it: built from the node directory (credentials,
 * presence) and the handlers of what agents publish; offers `publishToNode` to the modules
 * that command agents, a component that opens and closes its listener, and the MQTT over
 * WebSocket route.
 */
import type { AuditWriter } from '../core/audit.types.js';
import type { Logger } from '../core/logger.js';
import type { NodeDirectory } from '../core/node-directory.js';
import type { Metrics } from '../metrics.js';
import type { ReadinessCheck } from '../modules/system/index.js';
import type { Component, RoutePlugin } from '../platform/module.js';
import { AgentMessageDispatcher, type AgentMessageHandler } from './agent-messages.js';
import { BrokerAuth } from './auth.js';
import { MqttBroker } from './broker.js';
import { PresenceTracker } from './presence.js';
import { mqttWebSocketRoute } from './ws-route.js';

export type { MqttBroker } from './broker.js';

export interface EmbeddedBroker {
  broker: MqttBroker;
  component: Component;
  route: RoutePlugin;
}

export function createBroker(deps: {
  listen: { port: number; host: string };
  wsPath: string;
  nodes: NodeDirectory;
  /** A validated meter frame from an agent. */
  onMeters: AgentMessageHandler<'meters'>;
  audit: Pick<AuditWriter, 'recordAlone'>;
  metrics: Metrics;
  log: Logger;
  /** The broker adds its readiness check once it listens. */
  readiness: ReadinessCheck[];
}): EmbeddedBroker {
  const presence = new PresenceTracker(deps.nodes, deps.log);
  const messages = new AgentMessageDispatcher(
    { status: (from, status) => presence.report(from, status), meters: deps.onMeters },
    deps.log,
  );
  const auth = new BrokerAuth(deps.nodes, deps.audit, messages, deps.metrics, deps.log);
  const broker = new MqttBroker(deps.listen, auth, presence, deps.metrics, deps.log);
  return {
    broker,
    component: {
      name: 'broker',
      start: async () => {
        await broker.start();
        deps.readiness.push({ name: 'broker', check: async () => broker.isReady() });
      },
      stop: () => broker.stop(),
    },
    route: mqttWebSocketRoute(broker, deps.wsPath),
  };
}
