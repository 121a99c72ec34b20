/**
 * The attendance API end to end on a real database: tracker output persisted through
 * the service and the inbound webhook, stored unsigned while the key is locked and
 * signed on unlock, verified publicly and with node:crypto; period reset archives a
 * signed snapshot whose export verifies offline; key rotation keeps old records
 * verifying; guild scope; bad input.
 */
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyExport } from '../../controller/src/modules/attendance/signing/period-export.js';
import { type Method, requestAs } from '../support/api.js';
import { type TestController, testController } from '../support/controller.js';
import { voiceState } from '../support/voice.js';

const GUILD = '110000000000000001';
const OTHER_GUILD = '120000000000000002';
const VOICE = '210000000000000001';
const STAGE = '210000000000000002';
const ALICE = '310000000000000001';
const BOB = '310000000000000002';
const CAROL = '310000000000000003';
const PASSPHRASE = 'correct horse battery staple, attendance edition';
const WEBHOOK_SECRET = 'attendance-webhook-secret-for-tests';

const inVoice = (userId: string, channelId: string | null) => voiceState(userId, channelId);

describe('attendance API', () => {
  let ctl: TestController;
  let owner: string;
  let nowMs = Date.parse('2025-06-02T10:00:00.000Z');
  const advance = (minutes: number) => {
    nowMs += minutes * 60_000;
  };
  const api = (method: Method, url: string, payload?: object, token = owner) =>
    requestAs(ctl.app, token, method, url, payload);
  const guildUrl = (path: string, guildId = GUILD) => `/api/v1/guilds/${guildId}${path}`;

  beforeAll(async () => {
    ctl = await testController({ attendanceWebhookSecret: WEBHOOK_SECRET }, () => new Date(nowMs));
    owner = await ctl.ownerToken();
    await ctl.services.attendance.onGuildAvailable(
      GUILD,
      'Guild A',
      [inVoice(ALICE, VOICE), inVoice(BOB, VOICE)],
      null,
    );
    await ctl.services.attendance.onGuildAvailable(OTHER_GUILD, 'Guild B', [], null);
  });
  afterAll(async () => ctl.stop());

  let firstKeyId: string;
  let aliceSessionId: string;

  it('generates a key; while locked, completed sessions are stored unsigned', async () => {
    const generated = await api('POST', guildUrl('/signing/generate-keys'), { passphrase: PASSPHRASE });
    expect(generated.statusCode, generated.body).toBe(201);
    firstKeyId = generated.json().data.key_id;
    expect(generated.body).not.toContain(PASSPHRASE);
    // A restart: the key is locked again.
    ctl.services.attendanceSigning.lockAll();

    advance(10);
    await ctl.services.attendance.voiceStateUpdate(GUILD, inVoice(ALICE, VOICE), inVoice(ALICE, null));
    const hook = (payload: object, secret = WEBHOOK_SECRET) =>
      ctl.app.inject({
        method: 'POST',
        url: '/api/v1/webhooks/attendance',
        headers: { 'x-webhook-secret': secret },
        payload,
      });
    expect(
      (await hook({ guild_id: GUILD, user_id: CAROL, channel_id: STAGE }, 'wrong-secret')).statusCode,
    ).toBe(401);
    const joined = await hook({ guild_id: GUILD, user_id: CAROL, channel_id: STAGE, self_mute: false });
    expect(joined.statusCode, joined.body).toBe(200);
    expect(joined.json().data.open_session_id).toEqual(expect.any(String));
    advance(5);
    const left = await hook({ guild_id: GUILD, user_id: CAROL, channel_id: null });
    expect(left.json().data.stored).toBe(1);

    const stored = await ctl.db.voiceSession.findMany({
      where: { guildId: GUILD },
      orderBy: { userId: 'asc' },
    });
    expect(stored.map((s) => [s.userId, Number(s.activeMs), s.source, s.signedAt])).toEqual([
      [ALICE, 600_000, 'discord', null],
      [CAROL, 300_000, 'webhook', null],
    ]);
    aliceSessionId = stored[0]!.id;
    const pending = await ctl.app.inject({ method: 'GET', url: `/api/v1/verify/session/${aliceSessionId}` });
    expect(pending.json().data).toEqual({ valid: false, reason: 'pending_signature' });
    const status = await api('GET', guildUrl('/signing/status'));
    expect(status.json().data).toMatchObject({ locked: true, key_id: firstKeyId, pending_sessions: 2 });
  });

  it('unlock signs every pending session; they verify publicly and with node:crypto', async () => {
    const wrong = await api('POST', guildUrl('/signing/unlock'), { passphrase: 'not the passphrase at all' });
    expect(wrong.statusCode).toBe(422);
    const unlocked = await api('POST', guildUrl('/signing/unlock'), { passphrase: PASSPHRASE });
    expect(unlocked.statusCode, unlocked.body).toBe(200);
    expect(unlocked.json().data).toMatchObject({ key_id: firstKeyId, signed_sessions: 2 });
    const audit = await ctl.db.auditEvent.findMany({ where: { action: { startsWith: 'attendance.' } } });
    expect(JSON.stringify(audit)).not.toContain(PASSPHRASE);

    const verified = await ctl.app.inject({ method: 'GET', url: `/api/v1/verify/session/${aliceSessionId}` });
    expect(verified.json().data).toEqual({ valid: true, key_id: firstKeyId });

    const keys = (await api('GET', guildUrl('/signing/public-key'))).json().data;
    const row = await ctl.db.voiceSession.findUniqueOrThrow({ where: { id: aliceSessionId } });
    const publicKey = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: keys.active.public_key },
      format: 'jwk',
    });
    expect(
      nodeVerify(
        null,
        Buffer.from(row.signedBytes!, 'utf8'),
        publicKey,
        Buffer.from(row.signature!, 'base64url'),
      ),
    ).toBe(true);
    const payload = JSON.parse(row.signedBytes!);
    expect(payload).toMatchObject({
      signing_version: 1,
      guild_id: GUILD,
      user_id: ALICE,
      active_seconds: 600,
    });

    const viaOperator = await api('POST', guildUrl('/signing/verify-session'), {
      session_id: aliceSessionId,
    });
    expect(viaOperator.json().data.valid).toBe(true);
  });

  it('reads: leaderboard, stats, live occupancy', async () => {
    const board = (await api('GET', guildUrl('/leaderboard'))).json().data;
    // Bob is still in voice since 10:00 (15 min live), Alice 10 min, Carol 5 min.
    expect(board.entries.map((e: { user_id: string }) => e.user_id)).toEqual([BOB, ALICE, CAROL]);
    const stats = (await api('GET', `${guildUrl('/stats')}?user_id=${ALICE}`)).json().data;
    expect(stats).toMatchObject({ user_id: ALICE, sessions: 1, active_seconds: 600, rank: 2 });
    const live = (await api('GET', guildUrl('/analytics/live-occupancy'))).json().data;
    expect(live.members).toBe(1);
    expect((await api('GET', guildUrl('/analytics/heatmap'))).statusCode).toBe(200);
    expect((await api('GET', guildUrl('/overview'))).json().data.period.index).toBe(0);
  });

  it('reset-now archives a signed period whose export verifies offline, and reopens present members', async () => {
    advance(5);
    const reset = await api('POST', guildUrl('/reset-now'));
    expect(reset.statusCode, reset.body).toBe(200);
    expect(reset.json().data).toMatchObject({
      archived_period_index: 0,
      period_index: 1,
      sessions: 3,
      signed: true,
      reopened_sessions: 1,
    });
    // The export is a Pro feature: a free guild gets 402 saying which plan and how to change it.
    const free = await api('GET', guildUrl('/export/period/0'));
    expect(free.statusCode, free.body).toBe(402);
    expect(free.json().error.code).toBe('plan_required');
    expect(free.json().error.message).toContain('needs the pro plan');
    expect(free.json().error.message).toContain(`PATCH /api/v1/guilds/${GUILD}/subscription`);
    expect((await api('PATCH', guildUrl('/subscription'), { tier: 'pro' })).statusCode).toBe(200);
    const exported = await api('GET', guildUrl('/export/period/0'));
    expect(exported.statusCode, exported.body).toBe(200);
    const verification = await verifyExport(exported.json());
    expect(verification.valid, JSON.stringify(verification.firstFailure)).toBe(true);
    expect(verification.counts.sessions).toBe(3);
    const period = await ctl.app.inject({ method: 'GET', url: `/api/v1/verify/period/${GUILD}/0` });
    expect(period.json().data).toEqual({ valid: true, key_id: firstKeyId });
    const history = (await api('GET', guildUrl('/signing/history'))).json().data;
    expect(history[0]).toMatchObject({ period_index: 0, signed: true });
    expect(history[0].snapshot.leaderboard[0]).toEqual({ user_id: BOB, active_seconds: 1200, rank: 1 });
  });

  it('rotating keys retires the old key, which stays published; old records keep verifying', async () => {
    const rotated = await api('POST', guildUrl('/signing/generate-keys'), { passphrase: `${PASSPHRASE} 2` });
    expect(rotated.json().data.retired_key_id).toBe(firstKeyId);
    const keys = (await api('GET', guildUrl('/signing/public-key'))).json().data;
    expect(keys.retired.map((k: { key_id: string }) => k.key_id)).toEqual([firstKeyId]);
    const old = await ctl.app.inject({ method: 'GET', url: `/api/v1/verify/session/${aliceSessionId}` });
    expect(old.json().data).toEqual({ valid: true, key_id: firstKeyId });
    const exported = await api('GET', guildUrl('/export/period/0'));
    expect((await verifyExport(exported.json())).valid).toBe(true);
    // New sessions are signed with the new key at once.
    advance(3);
    await ctl.services.attendance.voiceStateUpdate(GUILD, inVoice(BOB, VOICE), inVoice(BOB, null));
    const bob = await ctl.db.voiceSession.findFirstOrThrow({ where: { userId: BOB, periodIndex: 1 } });
    expect(bob.keyId).toBe(rotated.json().data.key_id);
  });

  it('persists open sessions as a snapshot and restores them', async () => {
    await ctl.services.attendance.onGuildAvailable(GUILD, 'Guild A', [inVoice(ALICE, VOICE)], null);
    expect(await ctl.services.attendance.saveSnapshot()).toBe(1);
    expect(await ctl.db.openVoiceSession.count()).toBe(1);
    expect(await ctl.services.attendance.restoreSnapshot()).toBe(1);
  });

  it('scopes guilds: attendance:read on guild A is a 404 on guild B and a 403 for manage on A', async () => {
    const { hashPassword } = await import('../../controller/src/crypto/password.js');
    const viewer = await ctl.db.role.findUniqueOrThrow({ where: { name: 'viewer' } });
    await ctl.db.user.create({
      data: {
        username: 'guild-a-viewer',
        displayName: 'guild-a-viewer',
        passwordHash: await hashPassword('guild-a-viewer-password', 10),
        grants: { create: { roleId: viewer.id, scopeType: 'guild', scopeId: GUILD } },
      },
    });
    const login = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'guild-a-viewer', password: 'guild-a-viewer-password' },
    });
    const token = login.json().data.token as string;
    expect((await api('GET', guildUrl('/overview'), undefined, token)).statusCode).toBe(200);
    expect((await api('GET', guildUrl('/overview', OTHER_GUILD), undefined, token)).statusCode).toBe(404);
    expect((await api('GET', guildUrl('/overview', '999999999999999999'), undefined, token)).statusCode).toBe(
      404,
    );
    expect((await api('POST', guildUrl('/reset-now'), undefined, token)).statusCode).toBe(403);
  });

  it('refuses bad input with 400', async () => {
    expect(
      (await ctl.app.inject({ method: 'GET', url: '/api/v1/verify/session/not-a-uuid' })).statusCode,
    ).toBe(400);
    expect((await api('GET', '/api/v1/guilds/abc/overview')).statusCode).toBe(400);
    expect((await api('GET', '/api/v1/guilds/12/overview')).statusCode).toBe(400);
    for (const schedule of [
      { kind: 'calendar', unit: 'day', timeZone: 'Mars/Olympus_Mons' },
      { kind: 'rolling', intervalMs: 5 },
      { kind: 'weekly' },
      { kind: 'calendar', unit: 'fortnight', timeZone: 'UTC' },
    ]) {
      const response = await api('PATCH', guildUrl('/reset-interval'), schedule);
      expect(response.statusCode, JSON.stringify(schedule)).toBe(400);
    }
    const ok = await api('PATCH', guildUrl('/reset-interval'), {
      kind: 'calendar',
      unit: 'week',
      timeZone: 'Europe/Berlin',
    });
    expect(ok.json().data.next_reset_at).toBe('2025-06-08T22:00:00.000Z');
    const webhook = await ctl.app.inject({
      method: 'POST',
      url: '/api/v1/webhooks/attendance',
      headers: { 'x-webhook-secret': WEBHOOK_SECRET },
      payload: { guild_id: GUILD, user_id: 123, channel_id: null },
    });
    expect(webhook.statusCode).toBe(400);
    // A name longer than 100 characters, or empty, is refused with the event (nothing is kept).
    for (const display_name of ['x'.repeat(101), '']) {
      const named = await ctl.app.inject({
        method: 'POST',
        url: '/api/v1/webhooks/attendance',
        headers: { 'x-webhook-secret': WEBHOOK_SECRET },
        payload: { guild_id: GUILD, user_id: '130000000000000999', channel_id: null, display_name },
      });
      expect(named.statusCode, named.body).toBe(400);
      expect(named.json().error.message).toMatch(/display_name/);
    }
    expect(await ctl.db.guildMember.count({ where: { userId: '130000000000000999' } })).toBe(0);
  });
});
