import { describe, expect, it } from 'vitest';
import { clockOffsetMs } from '../../agent/src/link/clock.js';
import { Backoff, backoffCeilingMs, backoffDelayMs, sleep } from '../../agent/src/support/backoff.js';

/** A seeded LCG in [0, 1), so the spread test is deterministic. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('backoff', () => {
  it('doubles the ceiling per attempt from the base', () => {
    const options = { baseMs: 100, capMs: 1_000_000 };
    expect([0, 1, 2, 3, 4].map((n) => backoffCeilingMs(n, options))).toEqual([100, 200, 400, 800, 1600]);
  });

  it('never exceeds the cap, even for huge attempt counts', () => {
    const options = { baseMs: 500, capMs: 30_000 };
    expect(backoffCeilingMs(6, options)).toBe(30_000);
    expect(backoffCeilingMs(10_000, options)).toBe(30_000);
    for (const attempt of [0, 5, 50, 5000]) {
      expect(backoffDelayMs(attempt, { ...options, random: () => 0.999_999 })).toBeLessThanOrEqual(30_000);
    }
  });

  it('stays within [0, ceiling] at the extremes of the random source', () => {
    const options = { baseMs: 1000, capMs: 60_000 };
    expect(backoffDelayMs(3, { ...options, random: () => 0 })).toBe(0);
    expect(backoffDelayMs(3, { ...options, random: () => 0.999_999_9 })).toBe(8000);
  });

  it('spreads delays across the whole window (full jitter), so a fleet does not retry in lockstep', () => {
    const random = seeded(42);
    const delays = Array.from({ length: 2000 }, () =>
      backoffDelayMs(4, { baseMs: 1000, capMs: 60_000, random }),
    );
    const ceiling = 16_000;
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThanOrEqual(ceiling);
    // Every quarter of the window gets a fair share (expected 500 each).
    const quarters = [0, 0, 0, 0];
    for (const d of delays) quarters[Math.min(3, Math.floor((d / ceiling) * 4))]!++;
    for (const count of quarters) expect(count).toBeGreaterThan(400);
    expect(new Set(delays).size).toBeGreaterThan(1500);
  });

  it('Backoff counts failures and starts over after reset()', () => {
    const backoff = new Backoff({ baseMs: 100, capMs: 10_000, random: () => 0.999_999 });
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([100, 200, 400]);
    expect(backoff.failures).toBe(3);
    backoff.reset();
    expect(backoff.failures).toBe(0);
    expect(backoff.next()).toBe(100);
  });

  it('sleep resolves at once when its signal aborts', async () => {
    const controller = new AbortController();
    const slept = sleep(3_600_000, controller.signal);
    controller.abort();
    await expect(slept).resolves.toBeUndefined();
    await expect(sleep(3_600_000, AbortSignal.abort())).resolves.toBeUndefined();
  });
});

describe('clock offset', () => {
  it('is the midpoint of the round trip minus the server time (positive: the agent is ahead)', () => {
    expect(clockOffsetMs(1000, 1100, 1050)).toBe(0);
    // Our clock is 5 s behind the controller's.
    expect(clockOffsetMs(1000, 1100, 6050)).toBe(-5000);
    expect(clockOffsetMs(10_000, 10_200, 7_100)).toBe(3000);
  });
});
