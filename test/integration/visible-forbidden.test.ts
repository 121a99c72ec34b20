/**
 * README, "API conventions": an object outside the caller's scope is a 404; one the caller
 * may see but not act on that way is a 403. A user who reads site east and deletes in site
 * west holds `recording:delete` (so the route lets it in) but not over east.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../controller/src/crypto/password.js';
import { bearer, enrolledNode, type TestController, testController } from '../support/controller.js';
import { completedRecording, wavBytes } from '../support/recordings.js';

describe('a visible object without the permission is a 403, an invisible one a 404', () => {
  let ctl: TestController;
  let owner: string;
  let mixed: string;
  const recordings: Record<'east' | 'west' | 'north', string> = { east: '', west: '', north: '' };

  beforeAll(async () => {
    ctl = await testController();
    owner = await ctl.ownerToken();
    const sites: Record<string, string> = {};
    for (const site of ['east', 'west', 'north'] as const) {
      const node = await enrolledNode(ctl, { id: `vf-${site}`, site });
      sites[site] = node.siteId;
      recordings[site] = (await completedRecording(ctl, owner, node, wavBytes(4800))).id;
    }
    const role = (name: string) => ctl.db.role.findUniqueOrThrow({ where: { name } });
    await ctl.db.user.create({
      data: {
        username: 'mixed',
        displayName: 'mixed',
        passwordHash: await hashPassword('mixed-password-123', 10),
        grants: {
          create: [
            { roleId: (await role('viewer')).id, scopeType: 'site', scopeId: sites.east! },
            { roleId: (await role('admin')).id, scopeType: 'site', scopeId: sites.west! },
          ],
        },
      },
    });
    const login = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'mixed', password: 'mixed-password-123' },
    });
    mixed = login.json().data.token;
  });
  afterAll(async () => ctl.stop());

  const remove = (id: string) =>
    ctl.app.inject({ method: 'DELETE', url: `/api/v1/recordings/${id}`, headers: bearer(mixed) });
  const denials = (id: string) =>
    ctl.db.auditEvent.count({ where: { outcome: 'denied', actorName: 'mixed', targetId: id } });

  it('refuses with 403 what the caller sees but may not delete, and audits it once', async () => {
    const seen = await ctl.app.inject({
      method: 'GET',
      url: `/api/v1/recordings/${recordings.east}`,
      headers: bearer(mixed),
    });
    expect(seen.statusCode).toBe(200);
    const refused = await remove(recordings.east);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.message).toMatch(/recording:delete/);
    expect(await denials(recordings.east)).toBe(1);
    expect(await ctl.db.recording.count({ where: { id: recordings.east } })).toBe(1);
  });

  it('answers 404 for what the caller cannot see, and deletes where it may', async () => {
    const hidden = await remove(recordings.north);
    expect(hidden.statusCode).toBe(404);
    expect(hidden.json().error.message).toBe('recording not found');
    expect(await denials(recordings.north)).toBe(1);
    expect((await remove(recordings.west)).statusCode).toBe(200);
  });
});
