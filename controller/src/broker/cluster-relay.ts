/**
 * What a replica of a clustered broker (cluster.ts) hears from the others: every node's
 * `status` (presence, in memory), `meters` and `listen` frames (to this replica's streams and
 * listeners), command results (to each replica's list of them: `remembered`), and requests to
 * close a revoked node's connection. The replica an agent is connected to has checked each
 * message (ACL, schema); it is decoded again here, as any invalid payload is passed on too.
 * Events, and what a command result changes, are not relayed: the replica that received them
 * writes them, once.
 */
import type { Aedes, PublishPacket } from 'aedes';
import { decodePayload, parseNodeTopic, TOPIC_ROOT } from '../../../shared/src/mqtt.js';
import type { Logger } from '../core/logger.js';
import type { NodeDirectory, NodeIdentity } from '../core/node-directory.js';
import type { AgentMessageDispatcher, AgentTopic } from './agent-messages.js';
import { REVOKE_TOPIC } from './cluster.js';
import { readStampedStatus } from './connection-epochs.js';
import type { PresenceTracker } from './presence.js';

/** Agent topics every replica receives (the others are handled where they arrive). */
export const RELAYED_TOPICS: ReadonlySet<AgentTopic> = new Set(['meters', 'listen']);
/** Agent topics every replica hears of through `remembered` (handled where they arrive). */
export const REMEMBERED_TOPICS: ReadonlySet<AgentTopic> = new Set(['cmd-result']);

/** How long a node's site is trusted for relayed frames (a node moved to another site). */
const SITE_TTL_MS = 30_000;

type Retained = {
  createRetainedStreamCombi(patterns: string[]): AsyncIterable<{ topic: string; payload: Buffer }>;
};

export class ClusterRelay {
  private readonly sites = new Map<string, { identity: Promise<NodeIdentity | undefined>; atMs: number }>();

  constructor(
    private readonly deps: {
      presence: PresenceTracker;
      dispatcher: AgentMessageDispatcher;
      /** Handlers of REMEMBERED_TOPICS' messages, from whichever replica (this one's too). */
      remembered: AgentMessageDispatcher;
      directory: Pick<NodeDirectory, 'scopeOf'>;
      /** Closes the node's connection on this replica, if it holds one. */
      revokeHere: (nodeId: string) => void;
      log: Pick<Logger, 'warn'>;
    },
  ) {}

  /** Subscribes on the clustered bus, then reads every node's retained status (presence). */
  async attach(aedes: Aedes, store: Retained): Promise<void> {
    const on = (topic: string, handle: (packet: PublishPacket) => void) =>
      new Promise<void>((resolve) =>
        aedes.subscribe(
          topic,
          (packet: PublishPacket, done: () => void) => {
            handle(packet);
            done();
          },
          () => resolve(),
        ),
      );
    const statuses = `${TOPIC_ROOT}/+/status`;
    await on(statuses, (packet) => this.onStatus(packet));
    for (const name of RELAYED_TOPICS)
      await on(`${TOPIC_ROOT}/+/${name}`, (packet) => this.onFrame(name, packet, this.deps.dispatcher));
    for (const name of REMEMBERED_TOPICS)
      await on(`${TOPIC_ROOT}/+/${name}`, (packet) => this.onFrame(name, packet, this.deps.remembered));
    await on(REVOKE_TOPIC, (packet) => this.deps.revokeHere(Buffer.from(packet.payload).toString('utf8')));
    for await (const packet of store.createRetainedStreamCombi([statuses])) this.onStatus(packet);
  }

  private onStatus(packet: Pick<PublishPacket, 'topic' | 'payload'>): void {
    const topic = parseNodeTopic(packet.topic);
    const stamped = readStampedStatus(packet.payload);
    if (topic && stamped) void this.deps.presence.observe(topic.nodeId, stamped.status, stamped.epoch);
  }

  private onFrame(name: AgentTopic, packet: PublishPacket, dispatcher: AgentMessageDispatcher): void {
    const topic = parseNodeTopic(packet.topic);
    if (!topic) return;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const decoded = decodePayload(name, payload);
    if (!decoded.ok) return;
    void this.identityOf(topic.nodeId).then((from) => {
      if (from) dispatcher.dispatch(from, name, decoded.payload);
    });
  }

  private identityOf(nodeId: string): Promise<NodeIdentity | undefined> {
    const nowMs = Date.now();
    const cached = this.sites.get(nodeId);
    if (cached && nowMs - cached.atMs < SITE_TTL_MS) return cached.identity;
    const identity = this.deps.directory.scopeOf(nodeId).catch((err: unknown) => {
      this.deps.log.warn({ err, nodeId }, 'relayed MQTT frame: node lookup failed');
      this.sites.delete(nodeId);
      return undefined;
    });
    this.sites.set(nodeId, { identity, atMs: nowMs });
    return identity;
  }
}
