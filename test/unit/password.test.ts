import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from '../../controller/src/crypto/password.js';

describe('password hashing', () => {
  it('verifies the right password only, with parameters in the stored string', async () => {
    const stored = await hashPassword('correct horse battery staple', 10);
    expect(stored).toMatch(/^scrypt\$10\$8\$1\$/);
    expect(stored).not.toContain('correct');
    expect(await verifyPassword('correct horse battery staple', stored)).toBe(true);
    expect(await verifyPassword('correct horse battery stapl', stored)).toBe(false);
    expect(await verifyPassword('x', 'garbage')).toBe(false);
  });

  it('salts: the same password hashes differently', async () => {
    expect(await hashPassword('same password here', 10)).not.toBe(
      await hashPassword('same password here', 10),
    );
  });

  it('uses the OWASP cost by default (N = 2^17)', async () => {
    const { DEFAULTS } = await import('../../controller/src/config.js');
    expect(DEFAULTS.scryptLogN).toBeGreaterThanOrEqual(17);
  });
});
