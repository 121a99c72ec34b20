/**
 * Sends an outbox in the background: the one delivery loop of every outbox (attendance
 * webhooks, notification integrations). An adapter: it calls its outbox, never the database.
 * Woken after each commit that queued deliveries, and by a timer set to the next delivery due
 * (or a poll, for rows another replica queued). Each delivery is claimed by one sender across
 * replicas (the outbox's compare-and-set claim, with a lease), POSTed once per claim, and its
 * result recorded by the outbox (retry with backoff and jitter, or settle). `start()` /
 * `stop()`; the constructor only assigns; clock and timers are injected so tests drive it
 * without waiting. Redirects are not followed; private addresses are refused unless allowed
 * (network.ts).
 */
import type { Logger } from '../../../core/logger.js';
import { describeError, postOnce } from './http-post.js';
import type { AttemptResult, DeliveryOutcome } from './retry.js';

export interface SenderTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const SYSTEM_TIMERS: SenderTimers = {
  setTimeout: (fn, ms) => {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** With nothing due, look again this often: another replica may have queued deliveries. */
const POLL_MS = 30_000;
/** Never spin: at least this long between timer-driven passes. */
const MIN_WAIT_MS = 1_000;
/** Settled deliveries past their retention are pruned at most this often. */
const PRUNE_EVERY_MS = 3_600_000;
/** Deliveries sent concurrently per pass. */
const BATCH = 8;

/** A delivery claimed for one attempt. */
export interface ClaimedAttempt {
  id: string;
  url: string;
  /** This attempt's number (1 = first). */
  attempt: number;
}

/** One attempt's request; `readBody` when the answer's body decides (recordAttempt reads it). */
export interface OutboundRequest {
  headers: Record<string, string>;
  body: string;
  readBody?: boolean;
}

/** What a sender needs of its outbox. */
export interface Outbox<D extends ClaimedAttempt> {
  /** Claims up to `limit` due deliveries for one attempt each (one claimant across replicas). */
  claimDue(limit: number): Promise<D[]>;
  /** The request of this attempt (headers and body; signatures for `timestamp`, unix seconds). */
  request(delivery: D, timestamp: number): OutboundRequest;
  recordAttempt(delivery: D, result: AttemptResult): Promise<DeliveryOutcome>;
  nextDueAt(): Promise<Date | undefined>;
  pruneSettled(): Promise<number>;
  /** What a log line about the delivery names (never a secret, nor the URL's path or query). */
  logFields(delivery: D): Record<string, unknown>;
}

export class OutboxSender<D extends ClaimedAttempt> {
  private state: 'new' | 'running' | 'stopped' = 'new';
  private timer: unknown;
  private running: Promise<void> | undefined;
  private again = false;
  private lastPruneMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly outbox: Outbox<D>,
    private readonly log: Pick<Logger, 'info' | 'warn' | 'error'>,
    private readonly options: {
      /** What is sent, in log lines: e.g. `webhook`, `notification`. */
      what: string;
      now: () => Date;
      timers?: SenderTimers;
      /** Allow receivers on loopback / private addresses (network.ts). */
      allowPrivateNetworks?: boolean;
    },
  ) {}

  private get timers(): SenderTimers {
    return this.options.timers ?? SYSTEM_TIMERS;
  }

  start(): void {
    if (this.state !== 'new') return;
    this.state = 'running';
    void this.tick();
  }

  /** Something was queued: send it now (ignored before start and after stop). */
  wake(): void {
    if (this.state === 'running') void this.tick();
  }

  /** One pass over everything due; a call during a pass makes it run once more. */
  tick(): Promise<void> {
    if (this.state !== 'running') return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const { what } = this.options;
    this.running = (async () => {
      do {
        this.again = false;
        await this.sendDue().catch((err: unknown) => this.log.error({ err }, `${what}s: sending failed`));
        await this.prune().catch((err: unknown) => this.log.error({ err }, `${what}s: pruning failed`));
        if (!this.again)
          await this.schedule().catch((err: unknown) =>
            this.log.error({ err }, `${what}s: scheduling failed`),
          );
      } while (this.again && this.state === 'running');
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Resolves when no pass is running (tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    await this.idle();
  }

  private async sendDue(): Promise<void> {
    while (this.state === 'running') {
      const batch = await this.outbox.claimDue(BATCH);
      if (batch.length === 0) return;
      await Promise.all(batch.map((delivery) => this.send(delivery)));
    }
  }

  private async prune(): Promise<void> {
    const nowMs = this.options.now().getTime();
    if (nowMs - this.lastPruneMs < PRUNE_EVERY_MS) return;
    this.lastPruneMs = nowMs;
    const pruned = await this.outbox.pruneSettled();
    if (pruned > 0)
      this.log.info({ pruned }, `${this.options.what}s: pruned settled deliveries past retention`);
  }

  private async schedule(): Promise<void> {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.state !== 'running') return;
    const next = await this.outbox.nextDueAt();
    const wait = next === undefined ? POLL_MS : next.getTime() - this.options.now().getTime();
    this.timer = this.timers.setTimeout(
      () => {
        this.timer = undefined;
        void this.tick();
      },
      Math.min(Math.max(wait, MIN_WAIT_MS), POLL_MS),
    );
  }

  private async send(delivery: D): Promise<void> {
    const result = await sendAttempt(
      delivery.url,
      this.outbox.request(delivery, Math.floor(this.options.now().getTime() / 1000)),
      this.options.allowPrivateNetworks === true,
    );
    const outcome = await this.outbox.recordAttempt(delivery, result);
    // The URL's origin only: paths and queries of webhook URLs often carry tokens.
    const fields = {
      ...this.outbox.logFields(delivery),
      attempt: delivery.attempt,
      origin: URL.canParse(delivery.url) ? new URL(delivery.url).origin : 'invalid url',
      ...(result.kind === 'response' ? { status: result.status } : { error: result.message }),
      outcome,
    };
    const { what } = this.options;
    if (outcome === 'delivered') this.log.info(fields, `${what} delivered`);
    else
      this.log.warn(
        fields,
        outcome === 'retry' ? `${what} attempt failed; will retry` : `${what} delivery failed`,
      );
  }
}

/** One attempt: POST `request` to `url`; never throws (no answer is an `error` result). */
export async function sendAttempt(
  url: string,
  request: OutboundRequest,
  allowPrivateNetworks: boolean,
): Promise<AttemptResult> {
  try {
    const { status, body } = await postOnce(
      new URL(url),
      request.headers,
      request.body,
      allowPrivateNetworks,
      request.readBody === true,
    );
    return body === undefined ? { kind: 'response', status } : { kind: 'response', status, body };
  } catch (error) {
    return { kind: 'error', message: describeError(error) };
  }
}
