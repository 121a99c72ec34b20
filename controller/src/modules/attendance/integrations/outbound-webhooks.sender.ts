/**
 * Sends the outbound webhook outbox in the background (an adapter: it calls the
 * service, never the database). Woken after each commit that queued events, and by a
 * timer set to the next delivery due (or a poll, for rows another replica queued).
 * `start()` / `stop()`; the constructor only assigns; clock and timers are injected so
 * tests drive it without waiting.
 *
 * Each attempt: POST the stored body with
 *   content-type: application/json
 *   user-agent: earshot/<version>
 *   x-earshot-event: session.completed | period.archived
 *   x-earshot-delivery: <delivery id>   (the same on every retry: dedupe on it)
 *   x-earshot-timestamp: <unix seconds of this attempt>
 *   x-earshot-signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
 * 2xx = delivered; anything else, a network error or no answer within 10 s is retried
 * (see the service). Redirects are not followed; private addresses are refused unless
 * allowed (outbound-webhooks.network.ts).
 */
import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Logger } from '../../../core/logger.js';
import { PrivateAddressError, privateHostProblem, publicOnlyLookup } from './outbound-webhooks.network.js';
import { WEBHOOK_ATTEMPT_TIMEOUT_MS } from './outbound-webhooks.rules.js';
import type { AttemptResult, ClaimedDelivery, OutboundWebhooksService } from './outbound-webhooks.service.js';

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

/** The `x-earshot-signature` value for one attempt. */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

/**
 * One POST; resolves with the answer's status (its body is not read). node:http rather
 * than fetch: redirects are never followed, the socket's DNS lookup can be checked
 * (publicOnlyLookup), and each attempt gets its own connection (`agent: false`), so no
 * keep-alive socket the receiver already closed is reused.
 */
function post(
  url: URL,
  headers: Record<string, string>,
  body: string,
  allowPrivate: boolean,
): Promise<number> {
  if (!allowPrivate && privateHostProblem(url)) return Promise.reject(new PrivateAddressError());
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        agent: false,
        signal: AbortSignal.timeout(WEBHOOK_ATTEMPT_TIMEOUT_MS),
        ...(allowPrivate ? {} : { lookup: publicOnlyLookup }),
      },
      (response) => {
        resolve(response.statusCode ?? 0);
        response.destroy();
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

function describeError(error: unknown): string {
  const err = error as Error & { code?: string };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError')
    return `no answer within ${WEBHOOK_ATTEMPT_TIMEOUT_MS / 1000} s`;
  if (error instanceof PrivateAddressError) return err.message;
  return err?.code ? `${err.code}: ${err.message}` : String(err?.message ?? error);
}

export class OutboundWebhookSender {
  private state: 'new' | 'running' | 'stopped' = 'new';
  private timer: unknown;
  private running: Promise<void> | undefined;
  private again = false;
  private lastPruneMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly webhooks: OutboundWebhooksService,
    private readonly log: Pick<Logger, 'info' | 'warn' | 'error'>,
    private readonly options: {
      version: string;
      now: () => Date;
      timers?: SenderTimers;
      /** Allow receivers on loopback / private addresses (outbound-webhooks.network.ts). */
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
    this.running = (async () => {
      do {
        this.again = false;
        await this.sendDue().catch((err: unknown) => this.log.error({ err }, 'webhooks: sending failed'));
        await this.prune().catch((err: unknown) => this.log.error({ err }, 'webhooks: pruning failed'));
        if (!this.again)
          await this.schedule().catch((err: unknown) =>
            this.log.error({ err }, 'webhooks: scheduling failed'),
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
      const batch = await this.webhooks.claimDue(BATCH);
      if (batch.length === 0) return;
      await Promise.all(batch.map((delivery) => this.send(delivery)));
    }
  }

  private async prune(): Promise<void> {
    const nowMs = this.options.now().getTime();
    if (nowMs - this.lastPruneMs < PRUNE_EVERY_MS) return;
    this.lastPruneMs = nowMs;
    const pruned = await this.webhooks.pruneSettled();
    if (pruned > 0) this.log.info({ pruned }, 'webhooks: pruned settled deliveries past retention');
  }

  private async schedule(): Promise<void> {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.state !== 'running') return;
    const next = await this.webhooks.nextDueAt();
    const wait = next === undefined ? POLL_MS : next.getTime() - this.options.now().getTime();
    this.timer = this.timers.setTimeout(
      () => {
        this.timer = undefined;
        void this.tick();
      },
      Math.min(Math.max(wait, MIN_WAIT_MS), POLL_MS),
    );
  }

  private async send(delivery: ClaimedDelivery): Promise<void> {
    const timestamp = Math.floor(this.options.now().getTime() / 1000);
    let result: AttemptResult;
    try {
      const status = await post(
        new URL(delivery.url),
        {
          'content-type': 'application/json',
          'user-agent': `earshot/${this.options.version}`,
          'x-earshot-event': delivery.event,
          'x-earshot-delivery': delivery.id,
          'x-earshot-timestamp': String(timestamp),
          'x-earshot-signature': webhookSignature(delivery.secret, timestamp, delivery.body),
        },
        delivery.body,
        this.options.allowPrivateNetworks === true,
      );
      result = { kind: 'response', status };
    } catch (error) {
      result = { kind: 'error', message: describeError(error) };
    }
    const outcome = await this.webhooks.recordAttempt(delivery, result);
    // The URL's origin only: paths and queries of webhook URLs often carry tokens.
    const fields = {
      deliveryId: delivery.id,
      guildId: delivery.guildId,
      event: delivery.event,
      attempt: delivery.attempt,
      origin: URL.canParse(delivery.url) ? new URL(delivery.url).origin : 'invalid url',
      ...(result.kind === 'response' ? { status: result.status } : { error: result.message }),
      outcome,
    };
    if (outcome === 'delivered') this.log.info(fields, 'webhook delivered');
    else
      this.log.warn(
        fields,
        outcome === 'retry' ? 'webhook attempt failed; will retry' : 'webhook delivery failed',
      );
  }
}
