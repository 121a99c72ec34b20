/**
 * Resolved callers per credential (keyed by the credential's hash, never the secret), each
 * with the access generation read before it was resolved (access-generation.ts). An entry is
 * used only while the generation is unchanged and its own expiry (the session's idle and
 * absolute expiry, the token's) has not passed, and for at most `ttlMs` in any case.
 */
export interface CacheEntry<T> {
  value: T;
  generation: number;
  /** The entry is not used from this instant on (epoch ms). */
  expiresAtMs: number;
}

export class PrincipalCache<T> {
  private readonly entries = new Map<string, CacheEntry<T>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get(key: string, generation: number, nowMs: number): CacheEntry<T> | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.generation === generation && nowMs < entry.expiresAtMs) return entry;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, value: T, generation: number, nowMs: number, expiresAtMs: number): CacheEntry<T> {
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    const entry = { value, generation, expiresAtMs: Math.min(expiresAtMs, nowMs + this.ttlMs) };
    this.entries.set(key, entry);
    return entry;
  }
}
