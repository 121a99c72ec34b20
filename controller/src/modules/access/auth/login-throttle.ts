/**
 * Counts failed logins per account and per source address in a sliding hour.
 * Over the limit, login answers 429 with Retry-After whether or not the account
 * exists, so the limit reveals nothing.
 */
const HOUR_MS = 60 * 60 * 1000;

export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly perAccount: number,
    private readonly perAddress: number,
    private readonly now: () => number = Date.now,
  ) {}

  private recent(key: string): number[] {
    const cutoff = this.now() - HOUR_MS;
    const list = (this.failures.get(key) ?? []).filter((t) => t > cutoff);
    if (list.length === 0) this.failures.delete(key);
    else this.failures.set(key, list);
    return list;
  }

  /** Seconds until another attempt is allowed, or 0 when allowed now. */
  retryAfterSeconds(username: string, address: string): number {
    const checks: [string, number][] = [
      [`u:${username.toLowerCase()}`, this.perAccount],
      [`a:${address}`, this.perAddress],
    ];
    let wait = 0;
    for (const [key, limit] of checks) {
      const list = this.recent(key);
      if (list.length >= limit)
        wait = Math.max(wait, Math.ceil((list[list.length - limit]! + HOUR_MS - this.now()) / 1000));
    }
    return wait;
  }

  recordFailure(username: string, address: string): void {
    for (const key of [`u:${username.toLowerCase()}`, `a:${address}`]) {
      this.recent(key);
      const list = this.failures.get(key) ?? [];
      list.push(this.now());
      this.failures.set(key, list);
    }
  }

  recordSuccess(username: string): void {
    this.failures.delete(`u:${username.toLowerCase()}`);
  }
}

/** What login asks of a throttle: in memory (one controller) or shared by the replicas. */
export interface LoginThrottlePort {
  retryAfterSeconds(username: string, address: string): number | Promise<number>;
  recordFailure(username: string, address: string): void | Promise<void>;
  recordSuccess(username: string): void | Promise<void>;
}

/** Counters in a window from the first hit (cluster/shared-counters.repository.ts). */
export interface SharedCounterStore {
  hit(key: string, windowMs: number): Promise<unknown>;
  read(keys: readonly string[]): Promise<Map<string, { count: number; resetAt: Date }>>;
  forget(key: string): Promise<void>;
}

/**
 * The throttle the replicas sharing a PostgreSQL database keep together: failures counted in
 * the database, so N failures spread over the replicas throttle as N on one would. A window
 * opens at an account's (or address's) first failure and lasts an hour: over the limit, login
 * waits until that window ends (in memory the hour slides; here it is fixed from the first
 * failure, which throttles at least as long).
 */
export class SharedLoginThrottle implements LoginThrottlePort {
  constructor(
    private readonly counters: SharedCounterStore,
    private readonly perAccount: number,
    private readonly perAddress: number,
    private readonly now: () => number = Date.now,
  ) {}

  async retryAfterSeconds(username: string, address: string): Promise<number> {
    const limits = new Map([
      [accountKey(username), this.perAccount],
      [`login:a:${address}`, this.perAddress],
    ]);
    const windows = await this.counters.read([...limits.keys()]);
    let wait = 0;
    for (const [key, window] of windows) {
      if (window.count >= (limits.get(key) ?? Number.POSITIVE_INFINITY))
        wait = Math.max(wait, Math.ceil((window.resetAt.getTime() - this.now()) / 1000));
    }
    return wait;
  }

  async recordFailure(username: string, address: string): Promise<void> {
    await Promise.all(
      [accountKey(username), `login:a:${address}`].map((key) => this.counters.hit(key, HOUR_MS)),
    );
  }

  async recordSuccess(username: string): Promise<void> {
    await this.counters.forget(accountKey(username));
  }
}

const accountKey = (username: string) => `login:u:${username.toLowerCase()}`;
