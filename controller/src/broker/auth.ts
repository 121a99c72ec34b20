/**
 * The broker's security hooks (docs/mqtt.md): node credentials at CONNECT, the shared ACL
 * (`aclFor`) on every PUBLISH and SUBSCRIBE, payload validation against the shared
 * schemas. Denials are counted and audited; accepted messages go to the dispatcher.
 */
import type { AuthenticateError, Client, ConnectPacket, PublishPacket, Subscription } from 'aedes';
import { parseNodeCredential } from '../../../shared/src/agent-api.js';
import { isValidNodeId } from '../../../shared/src/ids.js';
import { aclFor, decodePayload, parseNodeTopic, TOPICS } from '../../../shared/src/mqtt.js';
import type { AuditInput, AuditWriter } from '../core/audit.types.js';
import type { AuditAction } from '../core/audit-actions.js';
import type { Logger } from '../core/logger.js';
import type { NodeDirectory, NodeIdentity } from '../core/node-directory.js';
import type { Metrics } from '../metrics.js';
import type { AgentMessageDispatcher, AgentTopic } from './agent-messages.js';

// aedes' AuthErrorCode is a const enum, which isolatedModules cannot read.
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;

type Refusal = { reason: string; code: number };

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
  private readonly revokedAt = new Map<string, number>();
  /**
   * Whether another connection of the same node has replaced this client (the broker sets it).
   * A replaced client's `status` (its late `offline`, or its will) must not undo the newer
   * connection's `online`.
   */
  isReplaced: (client: Client) => boolean = () => false;

  private readonly directory: NodeDirectory;
  private readonly audit: Pick<AuditWriter, 'recordAlone'>;
  private readonly dispatcher: AgentMessageDispatcher;
  private readonly metrics: Metrics;
  private readonly log: Logger;

  constructor(options: {
    directory: NodeDirectory;
    audit: Pick<AuditWriter, 'recordAlone'>;
    dispatcher: AgentMessageDispatcher;
    metrics: Metrics;
    log: Logger;
  }) {
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
    this.verify(username, password).then(
      (result) => {
        if ('nodeId' in result) {
          this.identities.set(client, result);
          this.checkedAt.set(client, checkedAt);
          done(null, true);
          return;
        }
        this.deny(client, {
          actor: { type: 'anonymous', id: username && isValidNodeId(username) ? username : null },
          action: 'mqtt.connect',
          reason: result.reason,
        });
        done(refusalError(result), false);
      },
      (err: unknown) => {
        this.log.error({ err }, 'MQTT authentication failed');
        done(refusalError({ reason: 'server unavailable', code: SERVER_UNAVAILABLE }), false);
      },
    );
  };

  readonly authorizePublish = (
    client: Client | null,
    packet: PublishPacket,
    callback: (error?: Error | null) => void,
  ): void => {
    const identity = client ? this.identities.get(client) : undefined;
    if (!client || !identity) {
      // Only a will left by a client that is gone gets here: nobody to attribute it to.
      callback(new Error('not authenticated'));
      return;
    }
    const acl = aclFor(identity.nodeId, 'publish', packet.topic);
    if (!acl.allowed) {
      this.metrics.mqttMessages.inc({
        topic: parseNodeTopic(packet.topic)?.name ?? 'unknown',
        outcome: 'denied',
      });
      this.deny(client, {
        actor: { type: 'node', id: identity.nodeId, name: identity.nodeId },
        action: 'mqtt.publish',
        reason: acl.reason,
        topic: packet.topic,
      });
      // aedes closes the connection: MQTT 3.1.1 has no way to refuse one PUBLISH.
      callback(new Error(acl.reason));
      return;
    }
    const decoded = decodePayload(acl.name, packet.payload);
    // The contract decides what is retained, and nothing invalid is ever kept.
    packet.retain = TOPICS[acl.name].retain && decoded.ok;
    if (!decoded.ok) {
      // Dropped, not disconnected: a faulty agent must not flap its connection (and
      // its presence) on every 100 ms meter frame. Nobody but the controller can
      // subscribe to agent topics, so passing it on reaches no one.
      this.metrics.mqttMessages.inc({ topic: acl.name, outcome: 'invalid' });
      if (!this.warned.has(client)) {
        this.warned.add(client);
        this.log.warn(
          { nodeId: identity.nodeId, topic: acl.name, error: decoded.error },
          'invalid MQTT payload dropped (further ones on this connection are only counted)',
        );
      }
      callback(null);
      return;
    }
    if (acl.name === 'status' && this.isReplaced(client)) {
      this.metrics.mqttMessages.inc({ topic: acl.name, outcome: 'stale' });
      callback(null);
      return;
    }
    this.metrics.mqttMessages.inc({ topic: acl.name, outcome: 'accepted' });
    callback(null);
    this.dispatcher.dispatch(identity, acl.name as AgentTopic, decoded.payload);
  };

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
