/**
 * Live meters in memory (docs/architecture.md, flow 1): the latest frame per node, and fan-out to
 * subscribers. Never a database row per frame. Each subscriber has a bounded buffer
 * that drops its oldest frames when the consumer falls behind, so one slow client
 * costs neither memory nor the other subscribers' latency.
 */
import type { MeterFrame } from '../../../../shared/src/mqtt.js';

/** About 1,000 s of one node at 10 Hz, or 1 s of a 1,000-node fleet. */
export const DEFAULT_SUBSCRIBER_BUFFER = 10_000;
/**
 * How long a reader is left to sleep after a frame arrives, so it takes the frames of that
 * while in one write: a fleet's frames arrive in thousands of small reads a second, and a write
 * (a system call) per read and per stream cost more than everything else together.
 */
export const WAKE_BATCH_MS = 10;

export class MeterReading {
  private eventData: string | undefined;

  constructor(
    readonly nodeId: string,
    readonly siteId: string,
    readonly frame: MeterFrame,
    readonly receivedAtMs: number,
  ) {}

  /** `{nodeId, frame}` as JSON, serialised once however many streams carry it. */
  toEventData(): string {
    this.eventData ??= JSON.stringify({ nodeId: this.nodeId, frame: this.frame });
    return this.eventData;
  }
}

export class MeterSubscription implements AsyncIterable<MeterReading> {
  private readonly ring: (MeterReading | undefined)[];
  private head = 0;
  private size = 0;
  private closed = false;
  private wake: (() => void) | undefined;
  private wakeScheduled = false;
  /** Frames dropped because the consumer was slow. */
  dropped = 0;

  constructor(
    readonly accepts: (reading: MeterReading) => boolean,
    readonly capacity: number,
    private readonly onClose: (subscription: MeterSubscription) => void,
  ) {
    this.ring = new Array(capacity);
  }

  get buffered(): number {
    return this.size;
  }

  push(reading: MeterReading): void {
    if (this.closed) return;
    if (this.size === this.capacity) {
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.size--;
      this.dropped++;
    }
    this.ring[(this.head + this.size) % this.capacity] = reading;
    this.size++;
    this.notify();
  }

  /**
   * Every buffered reading, oldest first, waiting for one if none is; empty once closed. A
   * stream writes them in one go: one write per wake-up, not one per frame.
   */
  async drain(): Promise<MeterReading[]> {
    while (this.size === 0) {
      if (this.closed) return [];
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
    const out: MeterReading[] = new Array(this.size);
    for (let i = 0; i < out.length; i++) {
      const at = (this.head + i) % this.capacity;
      out[i] = this.ring[at]!;
      this.ring[at] = undefined;
    }
    this.head = (this.head + out.length) % this.capacity;
    this.size = 0;
    return out;
  }

  /** The oldest buffered reading, waiting for one if needed; undefined once closed. */
  async next(): Promise<MeterReading | undefined> {
    while (this.size === 0) {
      if (this.closed) return undefined;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
    const reading = this.ring[this.head];
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.size--;
    return reading;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ring.fill(undefined);
    this.size = 0;
    this.onClose(this);
    this.notify();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<MeterReading> {
    for (;;) {
      const reading = await this.next();
      if (!reading) return;
      yield reading;
    }
  }

  /**
   * Wakes the reader WAKE_BATCH_MS after the first frame since it last read: the frames of that
   * while then reach a stream in one write (at most a hundred writes a second per stream,
   * whatever the fleet's size), for at most that much added latency. Closing wakes it at once.
   */
  private notify(): void {
    if (this.wakeScheduled || !this.wake) return;
    if (this.closed) {
      const wake = this.wake;
      this.wake = undefined;
      wake();
      return;
    }
    this.wakeScheduled = true;
    setTimeout(() => {
      this.wakeScheduled = false;
      const wake = this.wake;
      this.wake = undefined;
      wake?.();
    }, WAKE_BATCH_MS).unref();
  }
}

export class MeterStore {
  private readonly latest = new Map<string, MeterReading>();
  private readonly subscriptions = new Set<MeterSubscription>();

  constructor(private readonly subscriberBuffer = DEFAULT_SUBSCRIBER_BUFFER) {}

  put(reading: MeterReading): void {
    this.latest.set(reading.nodeId, reading);
    for (const subscription of this.subscriptions)
      if (subscription.accepts(reading)) subscription.push(reading);
  }

  latestOf(nodeId: string): MeterReading | undefined {
    return this.latest.get(nodeId);
  }

  /** Drops a node's last frame (the node was removed). */
  forget(nodeId: string): void {
    this.latest.delete(nodeId);
  }

  subscribe(
    accepts: (reading: MeterReading) => boolean,
    capacity = this.subscriberBuffer,
  ): MeterSubscription {
    const subscription = new MeterSubscription(accepts, capacity, (s) => this.subscriptions.delete(s));
    this.subscriptions.add(subscription);
    return subscription;
  }

  subscriberCount(): number {
    return this.subscriptions.size;
  }

  /** Ends every subscription (shutdown: open streams must not hold the HTTP server). */
  closeSubscriptions(): void {
    for (const subscription of [...this.subscriptions]) subscription.close();
  }
}
