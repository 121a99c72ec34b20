/**
 * Capped exponential backoff with full jitter (AWS Architecture Blog, "Exponential
 * Backoff And Jitter"): the delay before retry n is uniform in [0, min(cap, base·2ⁿ)],
 * so a fleet that lost the controller at the same moment does not come back in
 * lockstep.
 */
export interface BackoffOptions {
  /** Ceiling of the first delay. Default 500 ms. */
  baseMs?: number;
  /** No delay is ever longer than this. Default 60 s. */
  capMs?: number;
  /** Uniform in [0, 1); injected for tests. Default Math.random. */
  random?: () => number;
}

const DEFAULT_BASE_MS = 500;
const DEFAULT_CAP_MS = 60_000;

/** The ceiling for retry `attempt` (0-based): min(cap, base·2^attempt). */
export function backoffCeilingMs(attempt: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? DEFAULT_BASE_MS;
  const cap = options.capMs ?? DEFAULT_CAP_MS;
  // 2^attempt overflows to Infinity for large attempts; min() keeps it at the cap.
  return Math.min(cap, base * 2 ** Math.max(0, attempt));
}

/** A full-jitter delay for retry `attempt` (0-based), an integer in [0, ceiling]. */
export function backoffDelayMs(attempt: number, options: BackoffOptions = {}): number {
  const random = options.random ?? Math.random;
  return Math.floor(random() * (backoffCeilingMs(attempt, options) + 1));
}

/** Counts consecutive failures; `reset()` after a success. */
export class Backoff {
  private attempt = 0;

  constructor(private readonly options: BackoffOptions = {}) {}

  /** The delay before the next retry; each call counts one more failure. */
  next(): number {
    return backoffDelayMs(this.attempt++, this.options);
  }

  get failures(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** Resolves after `ms`, or at once when the signal aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
