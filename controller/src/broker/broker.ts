/**
 * The embedded MQTT broker (aedes) on TCP, plus MQTT over WebSocket handed over by
 * the HTTP server (see ws-route.ts). An adapter: `start()` / `stop()`, a constructor
 * that only assigns; security lives in BrokerAuth, message handling in the services
 * the dispatcher calls.
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Aedes, type Client, type PublishPacket } from 'aedes';
import {
  encodePayload,
  MAX_MQTT_PAYLOAD_BYTES,
  nodeTopic,
  TOPICS,
  type TopicName,
  type TopicPayload,
} from '../../../shared/src/mqtt.js';
import type { FallbackTopic } from '../core/agent-inbox.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../metrics.js';
import type { BrokerAuth } from './auth.js';
import { type BrokerCluster, CLUSTER_HEARTBEAT_MS, REVOKE_TOPIC } from './cluster.js';
import type { ClusterRelay } from './cluster-relay.js';
import { stampStatus } from './connection-epochs.js';
import { limitPacketSize, PACKET_OVERHEAD_BYTES } from './packet-size-guard.js';
import type { PresenceTracker } from './presence.js';

/** Topics the controller publishes to an agent. */
export type ControllerTopic = 'cmd';

export interface BrokerOptions {
  port: number;
  host: string;
}

/** Node ids reach 64 characters; aedes' default cap (23, from MQTT 3.1) is too short. */
const MAX_CLIENT_ID_LENGTH = 64;
/** A CONNECT must arrive this soon after the socket opens. */
const CONNECT_TIMEOUT_MS = 10_000;
/** A subscriber whose socket stays full this long is disconnected, so it cannot stall delivery. */
const DRAIN_TIMEOUT_MS = 30_000;

export class MqttBroker {
  private aedes: Aedes | undefined;
  private server: Server | undefined;
  private readonly connections = new Set<Duplex>();
  /** Connected clients by client id (the node id: BrokerAuth forces it), to close one at once. */
  private readonly clients = new Map<string, Client>();
  private stopping: Promise<void> | undefined;

  private readonly options: BrokerOptions;
  private readonly auth: BrokerAuth;
  private readonly presence: PresenceTracker;
  private readonly metrics: Metrics;
  private readonly log: Logger;
  /** Set when replicas share a Redis (EARSHOT_REDIS_URL): the brokers are clustered through it. */
  private readonly cluster: { link: BrokerCluster; relay: ClusterRelay } | undefined;

  constructor(deps: {
    options: BrokerOptions;
    auth: BrokerAuth;
    presence: PresenceTracker;
    metrics: Metrics;
    log: Logger;
    cluster?: { link: BrokerCluster; relay: ClusterRelay };
  }) {
    this.options = deps.options;
    this.cluster = deps.cluster;
    this.auth = deps.auth;
    this.presence = deps.presence;
    this.auth.isReplaced = (client) => {
      const current = this.clients.get(client.id);
      return current !== undefined && current !== client;
    };
    this.metrics = deps.metrics;
    this.log = deps.log;
  }

  async start(): Promise<void> {
    if (this.aedes) return;
    const aedes = new Aedes({
      maxClientsIdLength: MAX_CLIENT_ID_LENGTH,
      connectTimeout: CONNECT_TIMEOUT_MS,
      drainTimeout: DRAIN_TIMEOUT_MS,
      preConnect: this.auth.preConnect,
      authenticate: this.auth.authenticate,
      authorizePublish: this.auth.authorizePublish,
      authorizeSubscribe: this.auth.authorizeSubscribe,
      ...(this.cluster
        ? {
            mq: this.cluster.link.mq,
            persistence: this.cluster.link.persistence,
            heartbeatInterval: CLUSTER_HEARTBEAT_MS,
          }
        : {}),
    });
    await aedes.listen();
    if (this.cluster) {
      const { persistence } = this.cluster.link;
      this.auth.dropWill = async (will) =>
        void (await persistence.delWill({ id: will.clientId, brokerId: will.brokerId }));
      await this.cluster.relay.attach(aedes, persistence);
    }
    const countClients = () => this.metrics.mqttClients.set(aedes.connectedClients);
    aedes.on('client', (client) => {
      // Its credential was revoked while it was connecting: it does not stay.
      if (this.auth.isRevoked(client)) {
        client.close();
        return;
      }
      this.clients.set(client.id, client);
      countClients();
    });
    aedes.on('clientDisconnect', (client) => {
      if (this.clients.get(client.id) === client) {
        this.clients.delete(client.id);
        // The node's connection is gone, replaced by none: offline, whatever its last status
        // said (a clean DISCONNECT sends no will, and an 'online' may have crossed its 'offline').
        this.connectionEnded(client);
      }
      countClients();
    });
    aedes.on('clientError', (client, err) =>
      this.log.debug({ clientId: client.id, err: err.message }, 'MQTT client error'),
    );
    aedes.on('connectionError', (_client, err) =>
      this.log.debug({ err: err.message }, 'MQTT connection error'),
    );
    // aedes reports what fails outside a client here (a will it could not publish); unheard, it would throw.
    (aedes as unknown as NodeJS.EventEmitter).on('error', (err: Error) =>
      this.log.error({ err }, 'MQTT broker error'),
    );
    this.aedes = aedes;

    const server = createServer((socket) => this.acceptTcp(socket));
    server.listen(this.options.port, this.options.host);
    try {
      await once(server, 'listening');
    } catch (err) {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      this.aedes = undefined;
      throw err;
    }
    server.on('error', (err) => this.log.error({ err }, 'MQTT listener error'));
    this.server = server;
    this.log.info({ host: this.options.host, port: this.port() }, 'MQTT broker listening');
  }

  /** Closes every client (their wills publish), the listener, then waits for presence writes. */
  stop(): Promise<void> {
    this.stopping ??= this.close();
    return this.stopping;
  }

  /** The TCP port actually bound (useful with port 0). */
  port(): number | undefined {
    const address = this.server?.address();
    return typeof address === 'object' && address ? address.port : undefined;
  }

  /** This broker's id among clustered ones (aedes' id; persisted wills name it). */
  brokerId(): string | undefined {
    return this.aedes?.id;
  }

  /** MQTT clients connected now (agents; GET /api/v1/health). */
  connectedClients(): number {
    return this.aedes?.connectedClients ?? 0;
  }

  isReady(): boolean {
    return (
      this.aedes !== undefined &&
      !this.aedes.closed &&
      this.server?.listening === true &&
      this.stopping === undefined
    );
  }

  /** A WebSocket stream from the HTTP server; false (and closed) when the broker is not running. */
  acceptWebSocket(stream: Duplex, socket: Socket): boolean {
    if (!this.isReady()) {
      stream.destroy();
      return false;
    }
    socket.setNoDelay(true);
    this.accept(stream, socket.remoteAddress);
    return true;
  }

  /** Publishes a controller message (a command) to one node, with the contract's QoS. */
  publishToNode<K extends ControllerTopic>(nodeId: string, name: K, payload: TopicPayload<K>): Promise<void> {
    return this.publishOn(nodeId, name, payload);
  }

  /**
   * Publishes on the node's own agent topic what the node sent another way (the HTTP fallback,
   * core/agent-inbox.ts): clustered, every replica's relay hears it as one the agent published.
   */
  publishAsNode<K extends FallbackTopic>(nodeId: string, name: K, payload: TopicPayload<K>): Promise<void> {
    return this.publishOn(nodeId, name, payload);
  }

  private publishOn<K extends TopicName>(nodeId: string, name: K, payload: TopicPayload<K>): Promise<void> {
    const aedes = this.aedes;
    if (!aedes || !this.isReady()) return Promise.reject(new Error('MQTT broker is not running'));
    const spec = TOPICS[name];
    return new Promise((resolve, reject) =>
      aedes.publish(
        {
          cmd: 'publish',
          topic: nodeTopic(nodeId, name),
          payload: encodePayload(name, payload),
          qos: spec.qos,
          retain: spec.retain,
          dup: false,
        },
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  }

  /**
   * Closes the node's connection now (a decommissioned node): its last will publishes, and a
   * reconnect is refused because its credential is gone. Resolves once the client is closed.
   */
  disconnectNode(nodeId: string): Promise<void> {
    // Clustered: every replica closes the node's connection if it holds it.
    if (this.cluster && this.aedes && !this.aedes.closed) {
      const packet = { cmd: 'publish', topic: REVOKE_TOPIC, qos: 0, retain: false, dup: false } as const;
      this.aedes.publish({ ...packet, payload: Buffer.from(nodeId, 'utf8') } as PublishPacket, () => {});
    }
    return this.disconnectHere(nodeId);
  }

  /** Closes the node's connection if this replica holds it (a revocation, from any replica). */
  disconnectHere(nodeId: string): Promise<void> {
    this.auth.revoke(nodeId);
    const client = this.clients.get(nodeId);
    if (!client) return Promise.resolve();
    this.clients.delete(nodeId);
    this.log.info({ nodeId }, 'MQTT client disconnected by the controller');
    return new Promise((resolve) =>
      client.close(() => {
        // Offline everywhere, will or not (a will's `offline` is the same connection's).
        this.connectionEnded(client);
        resolve();
      }),
    );
  }

  /**
   * The node's connection is gone, replaced by none: offline, whatever its last status said (a
   * clean DISCONNECT sends no will, and an 'online' may have crossed its 'offline'). Clustered,
   * the other replicas hear it too (unless a newer connection exists somewhere).
   */
  private connectionEnded(client: Client): void {
    const from = this.auth.identityOf(client);
    const epoch = this.auth.epochFor(client);
    if (!from || epoch === undefined) return;
    const offline = { state: 'offline' } as const;
    void this.presence.report(from, offline, epoch);
    const aedes = this.aedes;
    if (!this.cluster || !aedes || aedes.closed) return;
    void this.presence.isStale(from.nodeId, epoch, 'offline').then((stale) => {
      if (stale || aedes.closed) return;
      const packet = {
        cmd: 'publish',
        topic: nodeTopic(from.nodeId, 'status'),
        qos: 1,
        retain: true,
        dup: false,
      };
      aedes.publish({ ...packet, payload: stampStatus(offline, epoch) } as PublishPacket, () => {});
    });
  }

  private acceptTcp(socket: Socket): void {
    // Nagle would hold back small 10 Hz frames; neither aedes nor mqtt.js turns it off.
    socket.setNoDelay(true);
    this.accept(socket, socket.remoteAddress);
  }

  private accept(conn: Duplex, address: string | undefined): void {
    const aedes = this.aedes;
    if (!aedes || this.stopping) {
      conn.destroy();
      return;
    }
    const guarded = limitPacketSize(conn, MAX_MQTT_PAYLOAD_BYTES + PACKET_OVERHEAD_BYTES, (error) => {
      this.metrics.mqttMessages.inc({ topic: 'unknown', outcome: 'too_large' });
      this.log.warn({ address, err: error.message }, 'MQTT connection closed: packet too large');
    });
    this.connections.add(guarded);
    guarded.once('close', () => this.connections.delete(guarded));
    this.auth.attach(aedes.handle(guarded), address);
  }

  private async close(): Promise<void> {
    const { aedes, server } = this;
    if (!aedes) return;
    const listenerClosed = server
      ? new Promise<void>((resolve) => server.close(() => resolve()))
      : Promise.resolve();
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    // Connections that never finished CONNECT are not aedes clients yet.
    for (const conn of this.connections) conn.destroy();
    await listenerClosed;
    await this.presence.drain();
    await this.cluster?.link.close();
    this.metrics.mqttClients.set(0);
    this.log.info('MQTT broker stopped');
  }
}
