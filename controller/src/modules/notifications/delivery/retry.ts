/**
 * The retry rules every outbox shares (attendance webhooks, notification integrations): the
 * backoff schedule with jitter, one attempt's time limit, how long settled deliveries stay in a
 * delivery log, and what one attempt's answer means (delivered, try again, or failed for good).
 */

/** Delay after the n-th failed attempt (index n - 1); one attempt more than delays, then failed. */
export const DELIVERY_RETRY_DELAYS_MS = [
  10_000,
  30_000,
  120_000,
  600_000,
  3_600_000,
  3 * 3_600_000,
  6 * 3_600_000,
  12 * 3_600_000,
] as const;
export const DELIVERY_MAX_ATTEMPTS = DELIVERY_RETRY_DELAYS_MS.length + 1;
/** Each delay is scaled by a random factor in [1 - JITTER, 1 + JITTER], so retries spread out. */
export const DELIVERY_RETRY_JITTER = 0.2;
/** One attempt's limit, connection and answer included. */
export const DELIVERY_ATTEMPT_TIMEOUT_MS = 10_000;
/** Delivered and failed deliveries stay in a delivery log this long, then are pruned. */
export const DELIVERY_RETENTION_MS = 30 * 24 * 3_600_000;
/** A claimed attempt whose process died is due again after this (longer than any attempt). */
export const DELIVERY_CLAIM_LEASE_MS = 60_000;
/** Stored errors are cut to this length. */
export const MAX_DELIVERY_ERROR_LENGTH = 500;

export function retryDelayMs(failedAttempts: number, random: () => number): number {
  const index = Math.min(Math.max(failedAttempts, 1), DELIVERY_RETRY_DELAYS_MS.length) - 1;
  const factor = 1 - DELIVERY_RETRY_JITTER + 2 * DELIVERY_RETRY_JITTER * random();
  return Math.round(DELIVERY_RETRY_DELAYS_MS[index]! * factor);
}

/** What one attempt got: an HTTP answer, or no answer (network error, timeout, refused address). */
export type AttemptResult =
  | { kind: 'response'; status: number; body?: string }
  | { kind: 'error'; message: string };
export type DeliveryOutcome = 'delivered' | 'retry' | 'failed';

/** What an outbox records for one attempt; `gone` is a 410 (the receiver is gone for good). */
export type AttemptVerdict =
  | { outcome: 'delivered'; status: number }
  | { outcome: 'retry'; status: number | null; error: string; nextAttemptAt: Date }
  | { outcome: 'failed'; status: number | null; error: string; gone: boolean };

/** The error an attempt's result stands for (null when it was delivered). */
export function attemptError(result: AttemptResult): string | null {
  if (result.kind === 'error') return result.message.slice(0, MAX_DELIVERY_ERROR_LENGTH);
  const { status } = result;
  if (status >= 200 && status < 300) return null;
  if (status >= 300 && status < 400) return `the receiver answered ${status} (redirects are not followed)`;
  return `the receiver answered ${status}`;
}

/**
 * 2xx = delivered; 410 = failed for good; anything else is retried on the schedule until the
 * last attempt (`attempt` is this attempt's number, 1 = first).
 */
export function judgeAttempt(
  result: AttemptResult,
  attempt: number,
  now: Date,
  random: () => number,
): AttemptVerdict {
  const status = result.kind === 'response' ? result.status : null;
  const error = attemptError(result);
  if (status !== null && error === null) return { outcome: 'delivered', status };
  const message = error ?? 'no answer';
  if (status === 410) return { outcome: 'failed', status, error: message, gone: true };
  if (attempt >= DELIVERY_MAX_ATTEMPTS) return { outcome: 'failed', status, error: message, gone: false };
  const nextAttemptAt = new Date(now.getTime() + retryDelayMs(attempt, random));
  return { outcome: 'retry', status, error: message, nextAttemptAt };
}
