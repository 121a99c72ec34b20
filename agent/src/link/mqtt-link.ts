/**
 * The agent's MQTT connection (3.1.1): authenticated as its node, last will `offline`
 * retained, `online` retained on every connect, meter frames at QoS 0 only while
 * connected (dropped, never queued, when not), commands dispatched through the table
 * and answered on `cmd-result`. Reconnects itself with capped backoff and full jitter
 * (mqtt.js only knows a fixed period, which would bring a fleet back in lockstep).
 */
import type { Socket } from 'node:net';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { ListenFrame } from '../../../shared/src/listen.js';
import {
  decodePayload,
  encodePayload,
  type HealthEventMessage,
  type MeterFrame,
  nodeTopic,
  TOPICS,
  type TopicName,
  type TopicPayload,
} from '../../../shared/src/mqtt.js';
import { Backoff, type BackoffOptions } from '../support/backoff.js';
import type { Logger } from '../support/log.js';
import { type CommandTable, runCommand } from './commands.js';

export interface MqttLinkOptions {
  /** mqtt://host:port (or mqtts://, ws://). */
  url: string;
  nodeId: string;
  credential: string;
  agentVersion: string;
  commands: CommandTable;
  log: Logger;
  backoff?: BackoffOptions;
  /** Called on every (re)connect: the controller is back, a good moment to refresh. */
  onConnect?: () => void;
  /** mqtt.connect; injectable for tests. */
  connect?: (url: string, options: IClientOptions) => MqttClient;
}

/** The broker is the controller's host unless told otherwise. */
export function brokerUrl(controllerUrl: string, mqttPort: number): string {
  const { hostname } = new URL(controllerUrl);
  return `mqtt://${hostname}:${mqttPort}`;
}

const STOP_TIMEOUT_MS = 2000;
/** How long a QoS 1 publish may wait for the broker's PUBACK. */
const PUBACK_TIMEOUT_MS = 10_000;

/** Rejects after `ms` unless the promise settles first. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class MqttLink {
  private client: MqttClient | undefined;
  private readonly backoff: Backoff;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopped = true;
  private wasConnected = false;
  /** Frames dropped while offline, reported once on reconnect. */
  private droppedFrames = 0;

  constructor(private readonly options: MqttLinkOptions) {
    this.backoff = new Backoff({ baseMs: 1000, capMs: 60_000, ...options.backoff });
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  start(): void {
    const { nodeId, credential, url } = this.options;
    this.stopped = false;
    const client = (this.options.connect ?? connect)(url, {
      protocolVersion: 4,
      clientId: nodeId, // the broker forces client id = node id anyway (no session takeover)
      username: nodeId,
      password: credential,
      clean: true,
      keepalive: 30,
      connectTimeout: 10_000,
      reconnectPeriod: 0, // we reconnect ourselves, with jitter
      queueQoSZero: false,
      will: {
        topic: this.topic('status'),
        payload: this.encode('status', { state: 'offline', agentVersion: this.options.agentVersion }),
        qos: TOPICS.status.qos,
        retain: TOPICS.status.retain,
      },
    });
    this.client = client;
    client.on('connect', () => this.onConnect(client));
    client.on('close', () => this.onClose(client));
    client.on('error', (error) => this.onError(error));
    client.on('message', (topic, payload) => void this.onMessage(client, topic, payload));
  }

  /**
   * The controller answers over HTTP again: try the broker now rather than at the end of a
   * backoff that may have grown to a minute during the outage. No-op while connected or while
   * a connection attempt is under way.
   */
  reconnectNow(): void {
    const client = this.client;
    if (this.stopped || !client || client.connected || !this.reconnectTimer) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.backoff.reset();
    client.reconnect();
  }

  /** Publishes a meter frame if connected; returns false (frame dropped) otherwise. */
  publishMeter(frame: MeterFrame): boolean {
    const client = this.client;
    if (!client?.connected) {
      this.droppedFrames++;
      return false;
    }
    client.publish(this.topic('meters'), this.encode('meters', frame), {
      qos: TOPICS.meters.qos,
      retain: TOPICS.meters.retain,
    });
    return true;
  }

  /** Publishes a live listen frame (QoS 0) if connected; false (dropped) otherwise. */
  publishListen(frame: ListenFrame): boolean {
    const client = this.client;
    if (!client?.connected) return false;
    client.publish(this.topic('listen'), this.encode('listen', frame), {
      qos: TOPICS.listen.qos,
      retain: TOPICS.listen.retain,
    });
    return true;
  }

  /**
   * Publishes a health event at QoS 1; resolves once the broker has acknowledged it, rejects
   * when not connected or not acknowledged in time (the caller keeps it queued).
   */
  async publishHealthEvent(event: HealthEventMessage): Promise<void> {
    const client = this.client;
    if (!client?.connected) throw new Error('not connected to the broker');
    const sent = client.publishAsync(this.topic('events'), this.encode('events', event), {
      qos: TOPICS.events.qos,
      retain: TOPICS.events.retain,
    });
    if (
      !(await withTimeout(
        sent.then(() => true),
        PUBACK_TIMEOUT_MS,
      ).catch(() => false))
    )
      throw new Error('the broker did not acknowledge the health event');
  }

  /** Marks the node offline (a clean disconnect sends no will) and disconnects; bounded in time. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    let announced = false;
    if (client.connected) {
      const publish = client
        .publishAsync(this.topic('status'), this.statusPayload('offline'), {
          qos: TOPICS.status.qos,
          retain: TOPICS.status.retain,
        })
        .then(() => true);
      // A connection that is dying but not yet closed never acks; the will covers that case.
      announced = await withTimeout(publish, STOP_TIMEOUT_MS).catch(() => false);
    }
    await withTimeout(client.endAsync(!announced), STOP_TIMEOUT_MS).catch(() => client.end(true));
  }

  private onConnect(client: MqttClient): void {
    this.backoff.reset();
    // Nagle delays small meter frames by tens of ms under load (measured).
    (client.stream as Partial<Socket>).setNoDelay?.(true);
    this.options.log.info(
      { droppedMeterFrames: this.droppedFrames },
      this.wasConnected ? 'MQTT reconnected' : 'MQTT connected',
    );
    this.wasConnected = true;
    this.droppedFrames = 0;
    // Online only once subscribed: the controller sends what waited for this agent when it
    // reads the online status, and a command sent before the subscription would be lost.
    client.subscribe(this.topic('cmd'), { qos: TOPICS.cmd.qos }, (error) => {
      if (error) this.options.log.error(`cannot subscribe to commands: ${error.message}`);
      // Stopping meanwhile: its 'offline' is sent or on the way, and must stay the last word.
      if (this.stopped || this.client !== client) return;
      client.publish(this.topic('status'), this.statusPayload('online'), {
        qos: TOPICS.status.qos,
        retain: TOPICS.status.retain,
      });
    });
    this.options.onConnect?.();
  }

  private onClose(client: MqttClient): void {
    if (this.stopped || this.client !== client || this.reconnectTimer) return;
    const delayMs = this.backoff.next();
    const level = this.backoff.failures === 1 ? 'warn' : 'debug';
    this.options.log[level]({ retryInMs: delayMs }, 'MQTT connection closed; reconnecting');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.stopped) client.reconnect();
    }, delayMs);
  }

  private onError(error: Error & { code?: number | string }): void {
    // CONNACK 4/5 (3.1.1): bad user name or password / not authorized.
    if (error.code === 4 || error.code === 5) {
      this.options.log.error(
        'MQTT broker refused the node credential: re-enroll with earshot-agent enroll if this persists',
      );
    } else {
      this.options.log.debug(`MQTT error: ${error.message}`);
    }
  }

  private async onMessage(client: MqttClient, topic: string, payload: Buffer): Promise<void> {
    if (topic !== this.topic('cmd')) return;
    const decoded = decodePayload('cmd', payload);
    if (!decoded.ok) {
      this.options.log.warn(`ignoring an invalid command: ${decoded.error}`);
      return;
    }
    const command = decoded.payload;
    // listen-start comes again every few seconds while anyone listens: not worth a line each.
    const level = command.type === 'listen-start' ? 'debug' : 'info';
    this.options.log[level]({ commandId: command.id, type: command.type }, 'command received');
    const { result, afterAnswer } = await runCommand(this.options.commands, command);
    if (client.connected) {
      // Answered before what comes after (a restart): the controller hears how it went first.
      const answered = client.publishAsync(this.topic('cmd-result'), this.encode('cmd-result', result), {
        qos: TOPICS['cmd-result'].qos,
        retain: TOPICS['cmd-result'].retain,
      });
      await withTimeout(answered, PUBACK_TIMEOUT_MS).catch(() => {});
    } // else the controller times the command out; nothing to queue
    afterAnswer?.();
  }

  private statusPayload(state: 'online' | 'offline'): Buffer {
    return this.encode('status', { state, agentVersion: this.options.agentVersion, atMs: Date.now() });
  }

  private topic(name: TopicName): string {
    return nodeTopic(this.options.nodeId, name);
  }

  private encode<T extends TopicName>(name: T, payload: TopicPayload<T>): Buffer {
    return encodePayload(name, payload);
  }
}
