/**
 * The broker's security hooks (docs/mqtt.md): node credentials at CONNECT, the shared ACL
 * (`aclFor`) on every PUBLISH and SUBSCRIBE, payload validation against the shared
 * schemas. Denials are counted and audited; accepted messages go to the dispatcher.
 */
import type { AuthenticateError, Client, ConnectPacket, PublishPacket, Subscription } from 'aedes';
import { parseNodeCredential } from '../../../shared/src/agent-api.js';
import { isValidNodeId } from '../../../shared/src/ids.js';
import {
  aclFor,
  decodePayload,
  nodeTopic,
  parseNodeTopic,
  TOPICS,
  type TopicPayload,
} from '../../../shared/src/mqtt.js';
import type { AuditInput, AuditWriter } from '../core/audit.types.js';
import type { AuditAction } from '../core/audit-actions.js';
import type { Logger } from '../core/logger.js';
import type { NodeDirectory, NodeIdentity } from '../core/node-directory.js';
import type { Metrics } from '../metrics.js';
import type { AgentMessageDispatcher, AgentTopic } from './agent-messages.js';
import { readStampedStatus, stampStatus } from './connection-epochs.js';
import type { PresenceTracker } from './presence.js';

// aedes' AuthErrorCode is a const enum, which isolatedModules cannot read.
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;

type Refusal = { reason: string; code: number };

/** Where a will that may not publish goes instead (outside `earshot/v1/nodes`: no agent reads it). */
const DISCARDED_WILL_TOPIC = '$EARSHOT/discarded-will';

/** A last will as persistence keeps it (aedes-persistence adds who left it, and where). */
type StoredWill = PublishPacket & { clientId: string; brokerId: string };

/** Wills carry the broker and client ids persistence added; packets from the wire never do. */
function isWill(packet: PublishPacket): packet is StoredWill {
  const will = packet as Partial<StoredWill>;
  return typeof will.brokerId === 'string' && typeof will.clientId === 'string';
}

function refusalError(refusal: Refusal): AuthenticateError {
  return Object.assign(new Error(refusal.reason), { returnCode: refusal.code });
}

export class BrokerAuth {
  private readonly identities = new WeakMap<Client, NodeIdentity>();
  private readonly addresses = new WeakMap<Client, string>();
  /** Clients already warned about an invalid payload (one log line per connection). */
  private readonly warned = new WeakSet<Client>();
  /**
   * Orders credential checks against revocations: a client whose check began before its node
   * was revoked may still finish connecting after the broker closed that node's clients, so it
   * is closed when it registers (see `isRevoked`).
   */
  private sequence = 0;
  private readonly checkedAt = new WeakMap<Client, number>();
  /** Each connection's epoch (connection-epochs.ts), stamped into its statuses. */
  private readonly epochs = new WeakMap<Client, number>();
  private readonly revokedAt = new Map<string, number>();
  /**
   * Whether another connection of the same node has replaced this client (the broker sets it).
   * A replaced client's `status` (its late `offline`, or its will) must not undo the newer
   * connection's `online`.
   */
  isReplaced: (client: Client) => boolean = () => false;
  /**
   * Forgets a stored will that must not publish (the broker sets it): refusing a will a
   * surviving replica publishes for a dead one would only have it retried forever.
   */
  dropWill: (will: StoredWill) => Promise<void> = async () => {};

  private readonly presence: PresenceTracker;
  /** Topics every replica receives through the clustered broker (not dispatched here). */
  private readonly relayed: ReadonlySet<AgentTopic>;

  private readonly directory: NodeDirectory;
  private readonly audit: Pick<AuditWriter, 'recordAlone'>;
  private readonly dispatcher: AgentMessageDispatcher;
  private readonly metrics: Metrics;
  private readonly log: Logger;

  constructor(options: {
    directory: NodeDirectory;
    audit: Pick<AuditWriter, 'recordAlone'>;
    dispatcher: AgentMessageDispatcher;
    presence: PresenceTracker;
    metrics: Metrics;
    log: Logger;
    relayed?: ReadonlySet<AgentTopic>;
  }) {
    this.presence = options.presence;
    this.relayed = options.relayed ?? new Set();
    this.directory = options.directory;
    this.audit = options.audit;
    this.dispatcher = options.dispatcher;
    this.metrics = options.metrics;
    this.log = options.log;
  }

  /** Remembers where a connection came from, for audit events. */
  attach(client: Client, address: string | undefined): void {
    if (address) this.addresses.set(client, address);
  }

  identityOf(client: Client): NodeIdentity | undefined {
    return this.identities.get(client);
  }

  /** The connection's epoch (connection-epochs.ts); undefined before it authenticated. */
  epochFor(client: Client): number | undefined {
    return this.epochs.get(client);
  }

  /** The node's credential was revoked: clients checked before now must not stay connected. */
  revoke(nodeId: string): void {
    this.revokedAt.set(nodeId, ++this.sequence);
  }

  /** True for a client whose credential check began before its node was revoked. */
  isRevoked(client: Client): boolean {
    const identity = this.identities.get(client);
    const revoked = identity ? this.revokedAt.get(identity.nodeId) : undefined;
    return revoked !== undefined && (this.checkedAt.get(client) ?? 0) < revoked;
  }

  /**
   * The client id becomes the node id (as mosquitto's `use_username_as_clientid`):
   * otherwise one node could take over another's session by reusing its client id.
   * A username that is not a node id is left alone; `authenticate` refuses it.
   */
  readonly preConnect = (
    _client: Client,
    packet: ConnectPacket,
    callback: (error: Error | null, success: boolean) => void,
  ): void => {
    if (typeof packet.username === 'string' && isValidNodeId(packet.username))
      packet.clientId = packet.username;
    callback(null, true);
  };

  readonly authenticate = (
    client: Client,
    username: Readonly<string | undefined>,
    password: Readonly<Buffer | undefined>,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void => {
    const checkedAt = ++this.sequence;
    this.verify(username, password)
      .then(async (result) => {
        if ('nodeId' in result) {
          const epoch = await this.presence.connected(result.nodeId);
          this.identities.set(client, result);
          this.checkedAt.set(client, checkedAt);
          this.epochs.set(client, epoch);
          this.stampWill(client, result, epoch);
          done(null, true);
          return;
        }
        this.deny(client, {
          actor: { type: 'anonymous', id: username && isValidNodeId(username) ? username : null },
          action: 'mqtt.connect',
          reason: result.reason,
        });
        done(refusalError(result), false);
      })
      .catch((err: unknown) => {
        this.log.error({ err }, 'MQTT authentication failed');
        done(refusalError({ reason: 'server unavailable', code: SERVER_UNAVAILABLE }), false);
      });
  };

  /**
   * The agent's last will, its own `status`, carries the epoch of the connection that left it,
   * through persistence to whichever replica publishes it. Another will stays as it is: its
   * publish is checked like any other. A node that set no will is given the agent's (`offline`,
   * stamped): if its replica dies, a survivor publishes it, so the node does not stay online
   * on every other replica; if it reconnected elsewhere meanwhile, its epoch makes it lose.
   */
  private stampWill(client: Client, identity: NodeIdentity, epoch: number): void {
    const holder = client as unknown as { _will?: PublishPacket | null };
    const will = holder._will;
    if (!will) {
      holder._will = {
        cmd: 'publish',
        topic: nodeTopic(identity.nodeId, 'status'),
        payload: stampStatus({ state: 'offline' }, epoch),
        qos: 1,
        retain: true,
        dup: false,
      };
      return;
    }
    const acl = aclFor(identity.nodeId, 'publish', will.topic);
    if (!acl.allowed || acl.name !== 'status') return;
    const decoded = decodePayload('status', will.payload);
    if (decoded.ok) will.payload = stampStatus(decoded.payload, epoch);
  }

  readonly authorizePublish = (
    client: Client | null,
    packet: PublishPacket,
    callback: (error?: Error | null) => void,
  ): void => {
    if (isWill(packet)) {
      this.authorizeWill(client, packet).then(() => callback(null), callback);
      return;
    }
    const identity = client ? this.identities.get(client) : undefined;
    if (!client || !identity) {
      callback(new Error('not authenticated'));
      return;
    }
    const acl = aclFor(identity.nodeId, 'publish', packet.topic);
    if (!acl.allowed) {
      this.refusePublish(client, identity, packet.topic, acl.reason);
      // aedes closes the connection: MQTT 3.1.1 has no way to refuse one PUBLISH.
      callback(new Error(acl.reason));
      return;
    }
    const decoded = decodePayload(acl.name, packet.payload);
    // The contract decides what is retained, and nothing invalid is ever kept.
    packet.retain = TOPICS[acl.name].retain && decoded.ok;
    if (!decoded.ok) {
      this.dropInvalid(client, identity, acl.name, decoded.error);
      callback(null);
      return;
    }
    if (acl.name === 'status') {
      const status = decoded.payload as TopicPayload<'status'>;
      this.acceptStatus(identity, status, this.epochOf(client), packet).then(() => callback(null), callback);
      return;
    }
    this.metrics.mqttMessages.inc({ topic: acl.name, outcome: 'accepted' });
    callback(null);
    if (!this.relayed.has(acl.name as AgentTopic))
      this.dispatcher.dispatch(identity, acl.name as AgentTopic, decoded.payload);
  };

  /** A replaced connection's statuses are stale; so is any older than the node's newest. */
  private epochOf(client: Client): number {
    return this.isReplaced(client) ? -1 : (this.epochs.get(client) ?? 0);
  }

  /** A valid status: stamped with its connection's epoch, then recorded here unless stale. */
  private async acceptStatus(
    from: NodeIdentity,
    status: TopicPayload<'status'>,
    epoch: number,
    packet: PublishPacket,
  ): Promise<void> {
    packet.payload = stampStatus(status, Math.max(epoch, 0));
    const stale = epoch < 0 || (await this.presence.isStale(from.nodeId, epoch, status.state));
    // A stale status must not replace the retained one of a newer connection.
    packet.retain = !stale;
    this.metrics.mqttMessages.inc({ topic: 'status', outcome: stale ? 'stale' : 'accepted' });
    if (!stale) void this.presence.report(from, status, epoch);
  }

  /**
   * A last will, published by the broker that held the connection (client present) or, for a
   * replica that died, by a surviving one (client null, or the node's newer connection here).
   * The client id is the node id (preConnect forces it). Never refused: aedes retries a will a
   * survivor could not publish forever (and reports each failure as a broker error), so a will
   * that may not publish is forgotten and sent nowhere instead (`discardWill`).
   */
  private async authorizeWill(client: Client | null, will: StoredWill): Promise<void> {
    const nodeId = will.clientId;
    const acl = aclFor(nodeId, 'publish', will.topic);
    const identity = client ? this.identities.get(client) : undefined;
    const own = identity?.nodeId === nodeId ? identity : undefined;
    if (!acl.allowed) {
      if (client && identity) this.refusePublish(client, identity, will.topic, acl.reason);
      return this.discardWill(will);
    }
    if (acl.name === 'status') {
      const stamped = readStampedStatus(will.payload);
      const from = own ?? (stamped ? await this.directory.scopeOf(nodeId) : undefined);
      if (!stamped || !from) {
        will.retain = false; // invalid, or its node is gone: not kept, ignored by every replica
        return;
      }
      const epoch = client && own && this.isReplaced(client) ? -1 : stamped.epoch;
      return this.acceptStatus(from, stamped.status, epoch, will);
    }
    if (!own) return this.discardWill(will);
    const decoded = decodePayload(acl.name, will.payload);
    will.retain = TOPICS[acl.name].retain && decoded.ok;
    if (decoded.ok && !this.relayed.has(acl.name as AgentTopic))
      this.dispatcher.dispatch(own, acl.name as AgentTopic, decoded.payload);
  }

  /** Forgets a will and points it at a topic no one can subscribe to (agents are held to theirs). */
  private async discardWill(will: StoredWill): Promise<void> {
    await this.dropWill(will);
    will.topic = DISCARDED_WILL_TOPIC;
    will.payload = Buffer.alloc(0);
    will.retain = false;
  }

  private refusePublish(client: Client, identity: NodeIdentity, topic: string, reason: string): void {
    this.metrics.mqttMessages.inc({ topic: parseNodeTopic(topic)?.name ?? 'unknown', outcome: 'denied' });
    this.deny(client, {
      actor: { type: 'node', id: identity.nodeId, name: identity.nodeId },
      action: 'mqtt.publish',
      reason,
      topic,
    });
  }

  /**
   * Dropped, not disconnected: a faulty agent must not flap its connection (and its presence)
   * on every 100 ms meter frame. Nobody but the controller can subscribe to agent topics, and
   * replicas that receive agent topics through the clustered broker check them again.
   */
  private dropInvalid(client: Client, identity: NodeIdentity, topic: string, error: string): void {
    this.metrics.mqttMessages.inc({ topic, outcome: 'invalid' });
    if (this.warned.has(client)) return;
    this.warned.add(client);
    this.log.warn(
      { nodeId: identity.nodeId, topic, error },
      'invalid MQTT payload dropped (further ones on this connection are only counted)',
    );
  }

  readonly authorizeSubscribe = (
    client: Client,
    subscription: Subscription,
    callback: (error: Error | null, subscription?: Subscription | null) => void,
  ): void => {
    const identity = this.identities.get(client);
    const acl = identity
      ? aclFor(identity.nodeId, 'subscribe', subscription.topic)
      : ({ allowed: false, reason: 'not authenticated' } as const);
    if (!acl.allowed) {
      this.deny(client, {
        actor: identity
          ? { type: 'node', id: identity.nodeId, name: identity.nodeId }
          : { type: 'anonymous' },
        action: 'mqtt.subscribe',
        reason: acl.reason,
        topic: subscription.topic,
      });
      // A null subscription is granted as 0x80 (failure) in the SUBACK.
      callback(null, null);
      return;
    }
    callback(null, { ...subscription, qos: Math.min(subscription.qos, TOPICS[acl.name].qos) as 0 | 1 });
  };

  private async verify(
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<NodeIdentity | Refusal> {
    const bad = (reason: string): Refusal => ({ reason, code: BAD_USERNAME_OR_PASSWORD });
    if (!username || !isValidNodeId(username)) return bad('username must be the node id');
    if (!password || password.length === 0) return bad('no credential');
    const credential = password.toString('utf8');
    const parsed = parseNodeCredential(credential);
    if (!parsed) return bad('malformed credential');
    if (parsed.nodeId !== username) return bad('credential belongs to another node id');
    const principal = await this.directory.authenticate(credential);
    if (!principal || principal.nodeId !== username) return bad('unknown node or wrong credential');
    return { nodeId: principal.nodeId, siteId: principal.siteId };
  }

  /** One audit event per denial; a failing audit write is logged, never thrown into aedes. */
  private deny(
    client: Client,
    denial: { actor: AuditInput['actor']; action: AuditAction; reason: string; topic?: string },
  ): void {
    const sourceIp = this.addresses.get(client);
    this.log.warn(
      {
        nodeId: denial.actor.id,
        action: denial.action,
        reason: denial.reason,
        topic: denial.topic,
        sourceIp,
      },
      'MQTT request denied',
    );
    this.audit
      .recordAlone({
        actor: denial.actor,
        permission: 'node:control',
        action: denial.action,
        target: denial.topic ? { type: 'mqtt_topic', id: denial.topic.slice(0, 256) } : null,
        outcome: 'denied',
        reason: denial.reason,
        context: sourceIp ? { sourceIp } : {},
      })
      .catch((err: unknown) => this.log.error({ err }, 'audit of an MQTT denial failed'));
  }
}
