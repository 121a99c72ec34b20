/**
 * The embedded MQTT broker as the app sees it: built from the node directory (credentials,
 * presence) and the handlers of what agents publish; offers `publishToNode` to the modules
 * that command agents, a component that opens and closes its listener, and the MQTT over
 * WebSocket route.
 */
import { ERROR_CODES } from '../../../shared/src/errors.js';
import type { AgentInbox } from '../core/agent-inbox.js';
import { AppError } from '../core/errors.js';
import type { NodeDirectory } from '../core/node-directory.js';
import type { ReadinessCheck } from '../modules/system/index.js';
import type { Component, ModuleCore, RoutePlugin } from '../platform/module.js';
import { AgentMessageDispatcher, type AgentMessageHandler, type AgentTopic } from './agent-messages.js';
import { BrokerAuth } from './auth.js';
import { MqttBroker } from './broker.js';
import { openCluster } from './cluster.js';
import { ClusterRelay, RELAYED_TOPICS } from './cluster-relay.js';
import { LocalEpochs } from './connection-epochs.js';
import { PresenceTracker } from './presence.js';
import { mqttWebSocketRoute } from './ws-route.js';

export type { MqttBroker } from './broker.js';
export { nodeCommander } from './node-commands.js';

export interface EmbeddedBroker {
  broker: MqttBroker;
  component: Component;
  route: RoutePlugin;
  /** What agents send over HTTP in place of a publish (their MQTT connection is down). */
  inbox: AgentInbox;
}

export function createBroker(
  core: Pick<ModuleCore, 'config' | 'audit' | 'metrics' | 'log' | 'ops'>,
  deps: {
    nodes: NodeDirectory;
    /** A validated meter frame from an agent. */
    onMeters: AgentMessageHandler<'meters'>;
    /** A live listen frame from an agent (checked, not yet relayed). */
    onListen: AgentMessageHandler<'listen'>;
    /** A validated command result from an agent. */
    onCommandResult: AgentMessageHandler<'cmd-result'>;
    /** Clustered: a command result any replica received (this one's too), to list it here. */
    onRelayedCommandResult?: AgentMessageHandler<'cmd-result'>;
    /** A validated health event report from an agent. */
    onHealthEvent: AgentMessageHandler<'events'>;
    /** The broker adds its readiness check once it listens. */
    readiness: ReadinessCheck[];
  },
): EmbeddedBroker {
  const { config, audit, metrics, log } = core;
  // Clustered through Redis when one is configured; otherwise today's broker, all in memory.
  const link = config.redisUrl ? openCluster(config.redisUrl, log) : undefined;
  const presence = new PresenceTracker(deps.nodes, link?.epochs ?? new LocalEpochs(), log);
  const messages = new AgentMessageDispatcher(
    {
      meters: deps.onMeters,
      listen: deps.onListen,
      'cmd-result': deps.onCommandResult,
      events: deps.onHealthEvent,
    },
    log,
  );
  const relayed = link ? RELAYED_TOPICS : undefined;
  const auth = new BrokerAuth({
    directory: deps.nodes,
    audit,
    dispatcher: messages,
    presence,
    metrics,
    log,
    relayed,
  });
  const relay = new ClusterRelay({
    presence,
    dispatcher: messages,
    remembered: new AgentMessageDispatcher({ 'cmd-result': deps.onRelayedCommandResult }, log),
    directory: deps.nodes,
    revokeHere: (nodeId) => void broker.disconnectHere(nodeId),
    log,
  });
  const broker: MqttBroker = new MqttBroker({
    options: { port: config.mqttPort, host: config.mqttHost },
    auth,
    presence,
    metrics,
    log,
    cluster: link ? { link, relay } : undefined,
  });
  return {
    broker,
    component: {
      name: 'broker',
      start: async () => {
        await broker.start();
        const port = broker.port();
        core.ops.record({
          kind: 'broker.started',
          level: 'info',
          message: `MQTT broker listening on port ${port}`,
          data: { port },
        });
        deps.readiness.push({ name: 'broker', check: async () => broker.isReady() });
      },
      stop: () => broker.stop(),
    },
    route: mqttWebSocketRoute(broker, config.mqttWsPath),
    inbox: inboxOf(broker, messages, relayed),
  };
}

/**
 * Alone, an agent's message that came over HTTP goes to the handlers at once; clustered, where a
 * published one goes: to the relay of every replica (this one's too), whichever holds the
 * listeners and meter streams it is for.
 */
function inboxOf(
  broker: MqttBroker,
  messages: AgentMessageDispatcher,
  relayed: ReadonlySet<AgentTopic> | undefined,
): AgentInbox {
  return async (from, name, payload) => {
    if (!relayed?.has(name)) return messages.dispatch(from, name, payload);
    if (!broker.isReady())
      throw new AppError(
        503,
        ERROR_CODES.unavailable,
        'The MQTT broker is starting or stopping: try again shortly.',
      );
    return broker.publishAsNode(from.nodeId, name, payload);
  };
}

/** The broker's inbox before it is built (the modules that take the inbox come first). */
export const brokerInbox =
  (embedded: () => EmbeddedBroker): AgentInbox =>
  (from, name, payload) =>
    embedded().inbox(from, name, payload);
