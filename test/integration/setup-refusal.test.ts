/**
 * `POST /api/v1/setup` is public: once an owner exists it is refused (409) before any password
 * is hashed, so nobody can make the controller spend a core on scrypt per request; so is a new
 * user whose name is taken. The hasher is our own code, watched through a call-through spy (it
 * still hashes).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as password from '../../controller/src/crypto/password.js';
import { bearer, OWNER, type TestController, testController } from '../support/controller.js';

vi.mock('../../controller/src/crypto/password.js', { spy: true });

describe('refused before a password is hashed', () => {
  let ctl: TestController;

  beforeAll(async () => {
    ctl = await testController();
  });
  afterAll(async () => ctl?.stop());

  it('hashes the first owner’s password, then refuses every later setup with a 409 and no hash', async () => {
    const first = await ctl.app.inject({ method: 'POST', url: '/api/v1/setup', payload: OWNER });
    expect(first.statusCode).toBe(201);
    const hashes = vi.mocked(password.hashPassword).mock.calls.length;
    expect(hashes).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) {
      const again = await ctl.app.inject({
        method: 'POST',
        url: '/api/v1/setup',
        payload: { username: `intruder${i}`, password: 'a long enough password' },
      });
      expect(again.statusCode).toBe(409);
      expect(again.json().error.message).toMatch(/already complete: sign in/);
    }
    expect(vi.mocked(password.hashPassword).mock.calls.length).toBe(hashes);
    expect(await ctl.db.user.count()).toBe(1);
  });

  it('refuses a new user whose name is taken, in any letter case, with a 409 and no hash', async () => {
    const token = await ctl.ownerToken();
    const hashes = vi.mocked(password.hashPassword).mock.calls.length;
    const taken = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/users',
      headers: bearer(token),
      payload: { username: OWNER.username.toUpperCase(), password: 'a long enough password' },
    });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().error.message).toBe(`The username ${OWNER.username.toUpperCase()} is taken.`);
    expect(vi.mocked(password.hashPassword).mock.calls.length).toBe(hashes);
    // Refused as before: audited as a denial of the creation.
    const denials = await ctl.db.auditEvent.findMany({
      where: { requestId: taken.headers['x-request-id'] as string },
    });
    expect(denials.map((e) => [e.action, e.outcome])).toEqual([['auth.user.create', 'denied']]);
  });
});
