/**
 * The HTTP fallback of the agent topics that carry live data (`meters`, `listen`), for an agent
 * whose MQTT connection is down: what the modules' fallback routes need.
 */
import type { TopicPayload } from '../../../shared/src/mqtt.js';
import type { Permission } from '../../../shared/src/permissions.js';
import { hidden } from './errors.js';
import type { NodeIdentity } from './node-directory.js';
import type { Principal } from './principal.js';

/** The agent topics that have an HTTP fallback (AGENT_ROUTES.meterFrame, AGENT_ROUTES.listenChunk). */
export type FallbackTopic = 'meters' | 'listen';

/**
 * Hands on a message an agent sent over HTTP as if the node had published it on its own topic:
 * the same handlers run, on every replica of a cluster as for a published one (broker/index.ts).
 * Rejects when the broker cannot take it (clustered and not running).
 */
export type AgentInbox = <K extends FallbackTopic>(
  from: NodeIdentity,
  topic: K,
  payload: TopicPayload<K>,
) => Promise<void>;

/**
 * The node a fallback message is from: the caller's own node, as the MQTT ACL allows a node
 * only its own topics. Any other node id is a hidden 404 (audited), like a topic refused.
 */
export function senderOf(principal: Principal, nodeId: string, permission: Permission): NodeIdentity {
  if (principal.kind === 'node' && principal.nodeId === nodeId) return { nodeId, siteId: principal.siteId };
  throw hidden('node', { type: 'node', id: nodeId }, permission);
}
