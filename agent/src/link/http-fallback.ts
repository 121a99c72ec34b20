/**
 * What the agent sends over HTTP while its MQTT connection is down (AGENT_ROUTES.meterFrame and
 * AGENT_ROUTES.listenChunk; the controller handles either as if published on its topic). Live
 * data, so nothing waits for later, it is only kept fresh:
 *
 * - meters: the newest frame, at most one per `meterIntervalMs` (1 s: the live meters on the
 *   console stay alive at a tenth of MQTT's rate, and a fleet that lost its broker does not
 *   turn into a flood of requests); the frames in between are dropped;
 * - listen: every frame, in order, one request at a time (LISTEN_IN_FLIGHT); past
 *   LISTEN_BACKLOG frames waiting, the oldest are dropped (late audio is worth nothing, and the
 *   listener counts the gap from the sequence numbers).
 *
 * A request that fails drops its frame. After a failure the controller is likely unreachable
 * too, so nothing more is sent for `retryAfterMs`, then one request tries again: a dead network
 * costs a request every few seconds, and one line in the log per outage.
 */
import type { ListenFrame } from '../../../shared/src/listen.js';
import type { MeterFrame } from '../../../shared/src/mqtt.js';
import type { Logger } from '../support/log.js';
import { type AgentHttpClient, describeError } from './http-client.js';

/**
 * Listen requests at once: one, so frames arrive in order (the controller drops a frame older
 * than one it relayed, as late audio). On a LAN a request takes a millisecond or two, well
 * within the 20 ms between frames; over a slower link the backlog drops the oldest.
 */
export const LISTEN_IN_FLIGHT = 1;
/** Listen frames waiting to be sent: one second of audio. */
export const LISTEN_BACKLOG = 50;

export interface HttpFallbackOptions {
  api: Pick<AgentHttpClient, 'meterFrame' | 'listenChunk'>;
  log: Logger;
  /** Default 1000. */
  meterIntervalMs?: number;
  /** Default 5000. */
  retryAfterMs?: number;
  now?: () => number;
}

export class HttpFallback {
  private readonly stopping = new AbortController();
  private readonly meterIntervalMs: number;
  private readonly retryAfterMs: number;
  /** The newest meter frame not sent yet, and whether a request or the interval holds it back. */
  private pendingMeter: MeterFrame | undefined;
  private meterBusy = false;
  private lastMeterAtMs = Number.NEGATIVE_INFINITY;
  private meterTimer: NodeJS.Timeout | undefined;
  private readonly listenQueue: ListenFrame[] = [];
  private listenInFlight = 0;
  /** Until when nothing is sent, after a failure (the controller did not answer either). */
  private pausedUntilMs = Number.NEGATIVE_INFINITY;
  private failing = false;

  constructor(private readonly options: HttpFallbackOptions) {
    this.meterIntervalMs = options.meterIntervalMs ?? 1000;
    this.retryAfterMs = options.retryAfterMs ?? 5000;
  }

  private get now(): number {
    return (this.options.now ?? Date.now)();
  }

  start(): void {}

  stop(): void {
    this.stopping.abort();
    clearTimeout(this.meterTimer);
    this.listenQueue.length = 0;
  }

  /** A meter frame MQTT could not take: the newest is sent within `meterIntervalMs`. */
  meter(frame: MeterFrame): void {
    if (this.stopping.signal.aborted) return;
    this.pendingMeter = frame;
    this.sendMeterWhenDue();
  }

  /** MQTT took a meter frame: one still waiting here for its turn is older, so it stays here. */
  meterSentElsewhere(): void {
    this.pendingMeter = undefined;
  }

  /** A live listen frame MQTT could not take: sent in order, the oldest dropped past the backlog. */
  listen(frame: ListenFrame): void {
    if (this.stopping.signal.aborted) return;
    if (this.now < this.pausedUntilMs) return;
    this.listenQueue.push(frame);
    if (this.listenQueue.length > LISTEN_BACKLOG) this.listenQueue.shift();
    this.pumpListen();
  }

  private sendMeterWhenDue(): void {
    if (this.meterBusy || this.meterTimer) return;
    const dueAtMs = Math.max(this.lastMeterAtMs + this.meterIntervalMs, this.pausedUntilMs);
    const waitMs = dueAtMs - this.now;
    if (waitMs > 0) {
      this.meterTimer = setTimeout(() => {
        this.meterTimer = undefined;
        this.sendMeterWhenDue();
      }, waitMs);
      this.meterTimer.unref();
      return;
    }
    const frame = this.pendingMeter;
    if (!frame) return;
    this.pendingMeter = undefined;
    this.meterBusy = true;
    this.lastMeterAtMs = this.now;
    void this.send(() => this.options.api.meterFrame(frame, this.stopping.signal), 'meters').finally(() => {
      this.meterBusy = false;
      if (this.pendingMeter) this.sendMeterWhenDue();
    });
  }

  private pumpListen(): void {
    while (this.listenInFlight < LISTEN_IN_FLIGHT && this.listenQueue.length > 0) {
      const frame = this.listenQueue.shift()!;
      this.listenInFlight++;
      void this.send(() => this.options.api.listenChunk(frame, this.stopping.signal), 'listen').finally(
        () => {
          this.listenInFlight--;
          this.pumpListen();
        },
      );
    }
  }

  /** One request; a failure drops its frame and pauses sending for `retryAfterMs`. */
  private async send(request: () => Promise<void>, what: 'meters' | 'listen'): Promise<void> {
    try {
      await request();
      if (this.failing) this.options.log.info('live data reaches the controller over HTTP again');
      this.failing = false;
    } catch (error) {
      if (this.stopping.signal.aborted) return;
      this.pausedUntilMs = this.now + this.retryAfterMs;
      if (what === 'listen') this.listenQueue.length = 0; // stale by the time sending resumes
      if (!this.failing)
        this.options.log.warn(
          `live ${what === 'meters' ? 'meter frames' : 'listen audio'} cannot reach the controller over HTTP ` +
            `either (${describeError(error)}); trying again every ${this.retryAfterMs / 1000} s`,
        );
      this.failing = true;
    }
  }
}
