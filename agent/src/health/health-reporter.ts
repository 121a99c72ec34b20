/**
 * Sends the watchdog's events to the controller. Every event is queued first (persisted, see
 * event-queue.ts), then sent oldest first: over the MQTT `events` topic (QoS 1: done once the
 * broker acknowledges) while connected, else over the HTTP fallback. What fails stays queued
 * and goes at the next report, reconnect or retry tick; the controller stores each event id
 * once, so a re-send after a lost acknowledgement is harmless.
 */
import type { HealthEventMessage } from '../../../shared/src/mqtt.js';
import { describeError, isRetryable } from '../link/http-client.js';
import type { Logger } from '../support/log.js';
import type { AgentHealthEvent } from './condition.js';
import type { HealthEventQueue } from './event-queue.js';

export interface HealthTransport {
  mqtt: { readonly connected: boolean; publishHealthEvent(message: HealthEventMessage): Promise<void> };
  http: { healthEvent(message: HealthEventMessage, signal?: AbortSignal): Promise<void> };
}

export interface HealthReporterOptions {
  nodeId: string;
  queue: HealthEventQueue;
  transport: HealthTransport;
  log: Logger;
  /** How often queued events are retried while the controller cannot be reached. Default 15 s. */
  retryMs?: number;
  now?: () => number;
}

/** The contract's message for an event of this node. */
export function healthMessage(nodeId: string, event: AgentHealthEvent): HealthEventMessage {
  return {
    id: event.id,
    nodeId,
    type: event.type,
    severity: event.severity,
    state: event.state,
    ...(event.channel === undefined ? {} : { channel: event.channel }),
    message: event.message.slice(0, 1000),
    values: event.values,
    firstSeenAt: new Date(event.firstSeenAtMs).toISOString(),
    lastSeenAt: new Date(event.lastSeenAtMs).toISOString(),
    count: Math.max(1, event.count),
  };
}

export class HealthReporter {
  private flushing: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly stopping = new AbortController();

  constructor(private readonly options: HealthReporterOptions) {}

  start(): void {
    const retry = () => {
      this.timer = setTimeout(() => void this.flush().finally(retry), this.options.retryMs ?? 15_000);
      this.timer.unref?.();
    };
    retry();
    void this.flush();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.stopping.abort();
  }

  /** Queues an event and sends what is queued. Never throws. */
  report(event: AgentHealthEvent): void {
    const level = event.state === 'open' && event.severity !== 'info' ? 'warn' : 'info';
    this.options.log[level]({ type: event.type, channel: event.channel, state: event.state }, event.message);
    void this.options.queue
      .push(event)
      .then(() => this.flush())
      .catch((error) => this.options.log.error(`cannot queue a health event: ${describeError(error)}`));
  }

  /** Sends every queued event, oldest first, stopping at the first that cannot go. Single-flight. */
  flush(): Promise<void> {
    if (this.flushing) {
      this.again = true;
      return this.flushing;
    }
    this.flushing = (async () => {
      do {
        this.again = false;
        await this.sendQueued();
      } while (this.again && !this.stopping.signal.aborted);
    })().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async sendQueued(): Promise<void> {
    const { queue, transport, nodeId, log } = this.options;
    for (const event of queue.pending((this.options.now ?? Date.now)())) {
      if (this.stopping.signal.aborted) return;
      const message = healthMessage(nodeId, event);
      const overMqtt = transport.mqtt.connected;
      try {
        if (overMqtt) await transport.mqtt.publishHealthEvent(message);
        else await transport.http.healthEvent(message, this.stopping.signal);
      } catch (error) {
        if (overMqtt || isRetryable(error)) {
          log.debug(`health event ${event.id} not sent yet (${queue.size} queued): ${describeError(error)}`);
          return;
        }
        // Refused for good (e.g. a 400): sending it again would block every later event.
        log.error(`the controller refused health event ${event.id}, dropped: ${describeError(error)}`);
      }
      await queue.sent(event);
    }
  }
}
