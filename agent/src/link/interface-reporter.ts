/**
 * Reports this node's capture devices (audio interfaces) to the controller: at start, whenever
 * the set changes (polled every 30 s, sent only when it differs from what was last delivered),
 * and on every MQTT (re)connect, when the controller may have restarted or missed one. A failed
 * report is tried again at the next poll; one warning per outage.
 */
import type { ReportedInterface } from '../../../shared/src/agent-api.js';
import type { Logger } from '../support/log.js';
import { type AgentHttpClient, describeError, isApiError } from './http-client.js';

export const INTERFACE_POLL_MS = 30_000;

export interface InterfaceReporterOptions {
  api: Pick<AgentHttpClient, 'reportInterfaces'>;
  /** The devices now (devices.ts listCaptureDevices); never throws. */
  list: () => Promise<ReportedInterface[]>;
  log: Logger;
  intervalMs?: number;
}

export class InterfaceReporter {
  private timer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private stopped = true;
  private failing = false;
  /** The set last delivered (its canonical JSON); undefined: send the next listing whatever it is. */
  private delivered: string | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly options: InterfaceReporterOptions) {}

  start(): void {
    this.stopped = false;
    void this.poll();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort.abort();
    await this.chain;
  }

  /** Report now even when nothing changed (an MQTT reconnect: the controller may have missed it). */
  resend(): Promise<void> {
    this.delivered = undefined;
    return this.poll();
  }

  /** One listing, and a report when it changed; polls run one at a time. Never throws. */
  poll(): Promise<void> {
    this.chain = this.chain.then(() => this.once());
    return this.chain;
  }

  private async once(): Promise<void> {
    if (this.stopped) return;
    clearTimeout(this.timer);
    try {
      const interfaces = await this.options.list();
      const key = JSON.stringify(interfaces);
      if (key !== this.delivered) await this.send(interfaces, key);
      if (this.failing) this.options.log.info('audio interfaces reported again');
      this.failing = false;
    } catch (error) {
      if (!this.stopped && !this.failing)
        this.options.log.warn(`cannot report the audio interfaces: ${describeError(error)}`);
      this.failing = true;
    }
    if (!this.stopped)
      this.timer = setTimeout(() => void this.poll(), this.options.intervalMs ?? INTERFACE_POLL_MS);
  }

  private async send(interfaces: ReportedInterface[], key: string): Promise<void> {
    try {
      const result = await this.options.api.reportInterfaces({ interfaces }, this.abort.signal);
      this.options.log.info(
        { interfaces: interfaces.map((i) => `${i.ref} (${i.channels} ch)`), ...result },
        'audio interfaces reported',
      );
    } catch (error) {
      // A controller without the route (an older version): nothing to retry until the set changes.
      if (!isApiError(error, 404, 'not_found')) throw error;
      this.options.log.debug('the controller does not take interface reports');
    }
    this.delivered = key;
  }
}
