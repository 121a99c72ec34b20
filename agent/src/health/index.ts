/**
 * The agent's health reporting as one component: the persisted event queue, the reporter
 * (MQTT `events`, HTTP fallback) and the monitor feeding the watchdog. The meter feed hands
 * each frame to `meter`; the capture's restarts (after its first start) become events.
 */
import type { EventEmitter } from 'node:events';
import type { NodeConfig } from '../../../shared/src/agent-api.js';
import type { MeterFrame } from '../../../shared/src/mqtt.js';
import { DEFAULT_WATCHDOG_THRESHOLDS, type WatchdogThresholds } from '../../../shared/src/watchdog.js';
import type { CaptureOptions } from '../capture/capture.js';
import type { SupervisorEvents } from '../capture/supervisor.js';
import type { Logger } from '../support/log.js';
import { HealthEventQueue } from './event-queue.js';
import { HealthMonitor, type HealthSources } from './health-monitor.js';
import { HealthReporter, type HealthTransport } from './health-reporter.js';

export interface AgentHealthOptions {
  nodeId: string;
  log: Logger;
  transport: HealthTransport;
  /** The capture's events (its restarts). */
  captureEvents: Pick<EventEmitter<SupervisorEvents>, 'on' | 'off'>;
  sources: HealthSources;
  config: () => NodeConfig;
}

/** The node's watchdog policy, or the built-in thresholds when it has none. */
export function thresholdsOf(config: NodeConfig): WatchdogThresholds {
  const policy = config.watchdogPolicy;
  if (!policy) return DEFAULT_WATCHDOG_THRESHOLDS;
  const { id: _id, name: _name, revision: _revision, ...thresholds } = policy;
  return thresholds;
}

export class AgentHealth {
  readonly queue: HealthEventQueue;
  readonly reporter: HealthReporter;
  readonly monitor: HealthMonitor;
  private starts = 0;
  private readonly onRestarted = (_format: CaptureOptions): void => {
    if (this.starts++ === 0) return; // the first start is not a restart
    const why = this.options.sources.capture.lastError;
    this.monitor.captureRestarted(why ? `after a failure: ${why}` : 'with new capture settings');
  };

  constructor(private readonly options: AgentHealthOptions) {
    this.queue = new HealthEventQueue(options.sources.cacheDir);
    this.reporter = new HealthReporter({
      nodeId: options.nodeId,
      queue: this.queue,
      transport: options.transport,
      log: options.log,
    });
    this.monitor = new HealthMonitor({
      sources: options.sources,
      thresholds: () => thresholdsOf(options.config()),
      report: (event) => this.reporter.report(event),
    });
    // From construction (before the capture starts), so its first start is counted as such.
    options.captureEvents.on('restarted', this.onRestarted);
  }

  meter(frame: MeterFrame): void {
    this.monitor.meter(frame);
  }

  /** Re-sends what is queued (after a reconnect). */
  flush(): void {
    void this.reporter.flush();
  }

  async start(): Promise<void> {
    await this.queue.load();
    this.reporter.start();
    this.monitor.start();
  }

  stop(): void {
    this.monitor.stop();
    this.options.captureEvents.off('restarted', this.onRestarted);
    this.reporter.stop();
  }
}
