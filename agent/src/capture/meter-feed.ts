/**
 * The meter wiring: the shared capture's PCM → MeterAccumulator → publish (the MQTT
 * link). A capture that restarts, possibly at another format, gets a fresh accumulator.
 */
import type { EventEmitter } from 'node:events';
import type { MeterFrame } from '../../../shared/src/mqtt.js';
import type { CaptureOptions } from './capture.js';
import { MeterAccumulator } from './meter.js';
import type { SupervisorEvents } from './supervisor.js';

export interface MeterFeedOptions {
  /** The shared capture: PCM and restart events plus the format it is running at. */
  source: Pick<EventEmitter<SupervisorEvents>, 'on' | 'off'> & { readonly format: CaptureOptions };
  /** Read whenever an accumulator is made, so a config change applies at the next restart. */
  windowMs: () => number;
  /** Frames that cannot be sent are the publisher's to drop. */
  publish: (frame: MeterFrame) => void;
}

export class MeterFeed {
  private meter: MeterAccumulator | undefined;

  private readonly onRestarted = (format: CaptureOptions): void => {
    this.meter = new MeterAccumulator({ ...format, windowMs: this.options.windowMs() });
  };

  private readonly onData = (chunk: Buffer): void => {
    if (!this.meter) return;
    for (const frame of this.meter.push(chunk)) this.options.publish(frame);
  };

  constructor(private readonly options: MeterFeedOptions) {}

  /** Listens to the capture; start it before the capture so no audio goes unmetered. */
  start(): void {
    this.meter = new MeterAccumulator({ ...this.options.source.format, windowMs: this.options.windowMs() });
    this.options.source.on('restarted', this.onRestarted);
    this.options.source.on('data', this.onData);
  }

  stop(): void {
    this.options.source.off('restarted', this.onRestarted);
    this.options.source.off('data', this.onData);
  }
}
