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
