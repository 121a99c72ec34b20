/**
 * Dispatch of accepted agent messages: one handler per topic name, looked up in a
 * table, not a chain of conditions. Handlers are services' methods,
 * passed in by the composition root; a topic without one is accepted and ignored.
 */
import type { TopicPayload } from '../../../shared/src/mqtt.js';
import type { NodeIdentity } from '../core/node-directory.js';

/** The topics agents publish (TOPICS entries with publisher 'agent'). */
export type AgentTopic = 'status' | 'meters' | 'events' | 'cmd-result' | 'listen';

export type AgentMessageHandler<K extends AgentTopic> = (
  from: NodeIdentity,
  payload: TopicPayload<K>,
) => void | Promise<void>;

export type AgentMessageHandlers = { [K in AgentTopic]?: AgentMessageHandler<K> };

export interface DispatchLog {
  error(obj: object, msg: string): void;
}

export class AgentMessageDispatcher {
  constructor(
    private readonly handlers: AgentMessageHandlers,
    private readonly log: DispatchLog,
  ) {}

  /** Runs the topic's handler; a failing handler is logged, never thrown into the broker. */
  dispatch(from: NodeIdentity, name: AgentTopic, payload: unknown): void {
    const handler = this.handlers[name] as AgentMessageHandler<AgentTopic> | undefined;
    if (!handler) return;
    const fail = (err: unknown) =>
      this.log.error({ err, nodeId: from.nodeId, topic: name }, 'agent message handler failed');
    try {
      const result = handler(from, payload as TopicPayload<AgentTopic>);
      if (result) result.catch(fail);
    } catch (err) {
      fail(err);
    }
  }
}
