import { describe, expect, it } from 'vitest';
import { LoginThrottle } from '../../controller/src/modules/access/auth/login-throttle.js';

describe('LoginThrottle', () => {
  it('limits failures per account within an hour, then lets them age out', () => {
    let now = 0;
    const throttle = new LoginThrottle(3, 100, () => now);
    for (let i = 0; i < 3; i++) {
      expect(throttle.retryAfterSeconds('alice', '10.0.0.1')).toBe(0);
      throttle.recordFailure('alice', '10.0.0.1');
      now += 1000;
    }
    expect(throttle.retryAfterSeconds('Alice', '10.0.0.2')).toBeGreaterThan(3000);
    expect(throttle.retryAfterSeconds('bob', '10.0.0.1')).toBe(0);
    now += 60 * 60 * 1000;
    expect(throttle.retryAfterSeconds('alice', '10.0.0.1')).toBe(0);
  });

  it('limits failures per address across accounts', () => {
    const throttle = new LoginThrottle(100, 2, () => 0);
    throttle.recordFailure('a', '192.0.2.1');
    throttle.recordFailure('b', '192.0.2.1');
    expect(throttle.retryAfterSeconds('c', '192.0.2.1')).toBe(3600);
    expect(throttle.retryAfterSeconds('c', '192.0.2.2')).toBe(0);
  });
});
