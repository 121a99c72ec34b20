import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Config } from '../../controller/src/config.js';
import type { DatabaseTarget } from '../../controller/src/db/client.js';
import {
  WEBHOOK_MAX_ATTEMPTS,
  WEBHOOK_RETRY_DELAYS_MS,
  WEBHOOK_RETRY_JITTER,
} from '../../controller/src/modules/attendance/integrations/outbound-webhooks.rules.js';
import { requestAs, voiceWebhook } from '../support/api.js';
import { bearer, freshDatabase } from '../support/controller.js';
import { type TempDir, tempDir } from '../support/tmp.js';
import {
  type Receiver,
  signatureValid,
  startWebhookApp,
  startReceiver as startWebhookReceiver,
  type WebhookHarness,
} from '../support/webhooks.js';

const INBOUND_SECRET = 'inbound-attendance-secret-for-tests';
const CHANNEL = '210000000000000001';
const SECRET_PATTERN = /^whsec_[A-Za-z0-9_-]{43}$/;

let nowMs = Date.parse('2025-06-02T10:00:00.000Z');
const advanceMs = (ms: number) => {
  nowMs += ms;
};
/** Every log line any app in this file wrote, at trace level. */
const logs: string[] = [];
/** Every signing secret any answer revealed. */
const secrets: string[] = [];

type Harness = WebhookHarness;
const startApp = (target: DatabaseTarget, dataDir: string, overrides: Partial<Config> = {}) =>
  startWebhookApp(target, dataDir, {
    now: () => new Date(nowMs),
    logs,
    tokenName: 'webhooks-test',
    overrides: { attendanceWebhookSecret: INBOUND_SECRET, ...overrides },
  });
// A token in the query, as many receivers have: it must not reach the logs.
const startReceiver = () => startWebhookReceiver('/hooks/earshot?token=receiver-token-123', 204);

let guildSeq = 0;

/** Helpers bound to one app. */
function client(ctl: Harness) {
  const api = (method: 'GET' | 'PATCH', url: string, payload?: object) =>
    requestAs(ctl.app, ctl.token, method, url, payload);
  const settings = (guildId: string) => `/api/v1/guilds/${guildId}/webhooks/settings`;
  return {
    api,
    settings,
    async newGuild(tier: 'free' | 'pro' = 'pro'): Promise<string> {
      const guildId = `1100000000000${String(++guildSeq).padStart(5, '0')}`;
      await ctl.services.attendance.onGuildAvailable(guildId, `guild ${guildSeq}`, [], null);
      if (tier === 'pro') {
        const set = await ctl.app.inject({
          method: 'PATCH',
          url: `/api/v1/guilds/${guildId}/subscription`,
          headers: bearer(ctl.token),
          payload: { tier: 'pro' },
        });
        expect(set.statusCode, set.body).toBe(200);
      }
      return guildId;
    },
    /** Sets the webhook; returns the signing secret the answer revealed. */
    async configure(guildId: string, body: object): Promise<string> {
      const changed = await api('PATCH', settings(guildId), body);
      expect(changed.statusCode, changed.body).toBe(200);
      const secret = changed.json().data.signing_secret as string;
      expect(secret).toMatch(SECRET_PATTERN);
      secrets.push(secret);
      return secret;
    },
    /** A member joins and leaves 5 minutes later through the inbound webhook: one completed session. */
    async completeSession(guildId: string, userId: string) {
      const hook = (channel: string | null) =>
        voiceWebhook(ctl.app, INBOUND_SECRET, guildId, userId, channel);
      expect((await hook(CHANNEL)).statusCode).toBe(200);
      advanceMs(5 * 60_000);
      return hook(null);
    },
    async deliveries(guildId: string) {
      const page = await api('GET', `/api/v1/guilds/${guildId}/webhooks/deliveries`);
      expect(page.statusCode, page.body).toBe(200);
      return page.json().data as {
        id: string;
        status: string;
        attempts: number;
        next_attempt_at: string | null;
        last_status: number | null;
        last_error: string | null;
        body: string;
        event: string;
      }[];
    },
  };
}

describe('outbound webhooks', () => {
  let dir: TempDir;
  let ctl: Harness;
  let c: ReturnType<typeof client>;
  let receiver: Receiver;

  beforeAll(async () => {
    dir = await tempDir('webhooks');
    ctl = await startApp(await freshDatabase(dir.path), dir.path);
    c = client(ctl);
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await ctl.shutdown();
    await receiver.close();
    await dir.cleanup();
  });

  it('is a Pro feature: 402 plan_required on a free guild', async () => {
    const guildId = await c.newGuild('free');
    for (const response of [
      await c.api('GET', c.settings(guildId)),
      await c.api('PATCH', c.settings(guildId), { url: receiver.url }),
      await c.api('GET', `/api/v1/guilds/${guildId}/webhooks/deliveries`),
    ]) {
      expect(response.statusCode, response.body).toBe(402);
      expect(response.json().error.code).toBe('plan_required');
    }
  });

  it('settings: the secret is shown once, then only its hint; rotation; audited without it', async () => {
    const guildId = await c.newGuild();
    const empty = await c.api('GET', c.settings(guildId));
    expect(empty.json().data).toEqual({
      url: null,
      enabled: false,
      events: ['session.completed', 'period.archived'],
      secret: { set: false, hint: null },
    });

    const first = await c.api('PATCH', c.settings(guildId), { url: receiver.url });
    expect(first.statusCode, first.body).toBe(200);
    const secret = first.json().data.signing_secret as string;
    secrets.push(secret);
    expect(secret).toMatch(SECRET_PATTERN);
    expect(first.json().data).toMatchObject({ url: receiver.url, enabled: true, secret: { set: true } });

    const read = await c.api('GET', c.settings(guildId));
    expect(read.json().data).toEqual({
      url: receiver.url,
      enabled: true,
      events: ['session.completed', 'period.archived'],
      secret: { set: true, hint: secret.slice(-4) },
    });
    expect(read.body).not.toContain(secret);

    // Other changes keep the secret and do not show it again.
    const narrowed = await c.api('PATCH', c.settings(guildId), {
      events: ['period.archived'],
      enabled: false,
    });
    expect(narrowed.json().data).toMatchObject({ events: ['period.archived'], enabled: false });
    expect(narrowed.json().data.signing_secret).toBeUndefined();
    expect(narrowed.body).not.toContain(secret);

    const rotated = await c.api('PATCH', c.settings(guildId), { rotate_secret: true });
    const second = rotated.json().data.signing_secret as string;
    secrets.push(second);
    expect(second).toMatch(SECRET_PATTERN);
    expect(second).not.toBe(secret);
    expect(rotated.json().data.secret).toEqual({ set: true, hint: second.slice(-4) });

    // Stored sealed, never in clear; audited with before and after, never the secret.
    const row = await ctl.db.guild.findUniqueOrThrow({ where: { id: guildId } });
    expect(row.webhookSecret).toMatch(/^v1\./);
    expect(JSON.stringify(row)).not.toContain(second);
    const audit = await ctl.db.auditEvent.findMany({
      where: { action: 'attendance.webhook_settings.update', targetId: guildId },
      orderBy: { seq: 'asc' },
    });
    expect(audit).toHaveLength(3);
    expect(JSON.parse(audit[0]!.after!)).toMatchObject({
      url: receiver.url,
      enabled: true,
      secret_generated: true,
    });
    expect(JSON.parse(audit[1]!.before!)).toMatchObject({
      enabled: true,
      events: ['session.completed', 'period.archived'],
    });
    const auditText = JSON.stringify(audit);
    for (const s of [secret, second]) expect(auditText).not.toContain(s);

    // Removing the URL removes the secret; a new URL gets a new one.
    const removed = await c.api('PATCH', c.settings(guildId), { url: null });
    expect(removed.json().data).toMatchObject({
      url: null,
      enabled: false,
      secret: { set: false, hint: null },
    });
    const third = await c.configure(guildId, { url: receiver.url });
    expect([secret, second]).not.toContain(third);
  });

  it('refuses bad input with 400/422 and a clear message', async () => {
    const guildId = await c.newGuild();
    const bad: [object, number, RegExp][] = [
      [{ url: 'ftp://example.com/hook' }, 422, /http or https/],
      [{ url: 'javascript:alert(1)' }, 422, /http or https/],
      [{ url: 'file:///etc/passwd' }, 422, /http or https/],
      [{ url: 'https://user:pass@example.com/hook' }, 422, /credentials/],
      [{ url: 'https://example.com/hook#part' }, 422, /fragment/],
      [{ url: 'not a url' }, 422, /spaces|valid/],
      [{ url: 'example.com/hook' }, 422, /valid absolute URL/],
      [{ url: 'https://exa mple.com/' }, 422, /spaces/],
      [{ url: 'https://example.com/\u0001' }, 422, /control/],
      // A NUL is refused before any route sees it (no database text holds one).
      [{ url: 'https://example.com/\u0000' }, 400, /NUL/],
      [{ url: `https://example.com/${'a'.repeat(2100)}` }, 400, /url/],
      [{ url: '' }, 400, /url/],
      [{ url: 42 }, 400, /url/],
      [{ events: ['session.started'] }, 400, /events/],
      [{ events: ['period.archived', 'period.archived'] }, 400, /events/],
      [{ secret: 'mine' }, 400, /additional|secret/],
      [{ enabled: true }, 422, /set a url/],
      [{ rotate_secret: true }, 422, /set a url/],
    ];
    for (const [payload, status, message] of bad) {
      const response = await c.api('PATCH', c.settings(guildId), payload);
      expect(response.statusCode, `${JSON.stringify(payload)}: ${response.body}`).toBe(status);
      expect(response.json().error.message, JSON.stringify(payload)).toMatch(message);
    }
    // Nothing was stored by any of them.
    expect((await c.api('GET', c.settings(guildId))).json().data.url).toBeNull();
  });

  it('delivers a completed session once, signed, with the exact stored body', async () => {
    const guildId = await c.newGuild();
    const secret = await c.configure(guildId, { url: receiver.url, events: ['session.completed'] });
    const before = receiver.received.length;
    const left = await c.completeSession(guildId, '310000000000000001');
    expect(left.json().data.stored).toBe(1);
    await ctl.services.attendanceEvents.idle();
    await ctl.services.webhookSender.idle();

    expect(receiver.received.length).toBe(before + 1);
    const request = receiver.received.at(-1)!;
    const [delivery] = await c.deliveries(guildId);
    expect(delivery).toMatchObject({
      status: 'delivered',
      attempts: 1,
      last_status: 204,
      next_attempt_at: null,
    });
    expect(request.headers).toMatchObject({
      'content-type': 'application/json',
      'user-agent': expect.stringMatching(/^earshot\/\d+\.\d+\.\d+/),
      'x-earshot-event': 'session.completed',
      'x-earshot-delivery': delivery!.id,
      'x-earshot-timestamp': String(Math.floor(nowMs / 1000)),
    });
    expect(signatureValid(request, secret)).toBe(true);
    expect(signatureValid(request, 'whsec_not-the-secret')).toBe(false);
    expect(request.body).toBe(delivery!.body);
    const stored = await ctl.db.voiceSession.findFirstOrThrow({ where: { guildId } });
    expect(JSON.parse(request.body)).toEqual({
      id: delivery!.id,
      type: 'session.completed',
      guild_id: guildId,
      created_at: new Date(nowMs).toISOString(),
      data: {
        period_index: 0,
        session: {
          id: stored.id,
          user_id: '310000000000000001',
          channel_id: CHANNEL,
          started_at: stored.startedAt.toISOString(),
          ended_at: stored.endedAt.toISOString(),
          active_ms: 300_000,
          paused_ms: 0,
          outage_ms: 0,
          close_reason: stored.closeReason,
          source: 'webhook',
          signed: false,
        },
      },
    });

    // Once: later passes send nothing more.
    advanceMs(24 * 3_600_000);
    await ctl.services.webhookSender.tick();
    expect(receiver.received.length).toBe(before + 1);
    expect(await ctl.metrics.render()).toMatch(
      /earshot_webhook_deliveries_total\{outcome="delivered"\} [1-9]/,
    );
  });

  it('prunes settled deliveries after 30 days; pending ones stay', async () => {
    const guildId = await c.newGuild();
    await c.configure(guildId, { url: receiver.url, events: ['session.completed'] });
    await c.completeSession(guildId, '310000000000000001');
    await ctl.services.attendanceEvents.idle();
    await ctl.services.webhookSender.idle();
    expect((await c.deliveries(guildId)).map((d) => d.status)).toEqual(['delivered']);
    // A second one whose receiver is down stays pending, whatever its age.
    receiver.state.failNext = 1_000;
    try {
      await c.completeSession(guildId, '310000000000000002');
      await ctl.services.attendanceEvents.idle();
      await ctl.services.webhookSender.idle();
      advanceMs(29 * 24 * 3_600_000);
      await ctl.services.webhookSender.tick();
      expect((await c.deliveries(guildId)).map((d) => d.status).sort()).toEqual(['delivered', 'pending']);
      advanceMs(2 * 24 * 3_600_000);
      await ctl.services.webhookSender.tick();
      expect((await c.deliveries(guildId)).map((d) => d.status)).toEqual(['pending']);
    } finally {
      receiver.state.failNext = 0;
    }
  });

  it('an event the webhook does not subscribe to, or a disabled webhook, queues nothing', async () => {
    const guildId = await c.newGuild();
    await c.configure(guildId, { url: receiver.url, events: ['period.archived'] });
    await c.completeSession(guildId, '310000000000000002');
    const off = await c.newGuild();
    await c.configure(off, { url: receiver.url, enabled: false });
    await c.completeSession(off, '310000000000000002');
    expect(await ctl.db.webhookDelivery.count({ where: { guildId: { in: [guildId, off] } } })).toBe(0);
  });

  it('delivers period.archived on a reset', async () => {
    const guildId = await c.newGuild();
    const secret = await c.configure(guildId, { url: receiver.url, events: ['period.archived'] });
    const reset = await ctl.app.inject({
      method: 'POST',
      url: `/api/v1/guilds/${guildId}/reset-now`,
      headers: bearer(ctl.token),
    });
    expect(reset.statusCode, reset.body).toBeLessThan(300);
    await ctl.services.attendanceEvents.idle();
    await ctl.services.webhookSender.idle();
    const request = receiver.received.at(-1)!;
    expect(request.headers['x-earshot-event']).toBe('period.archived');
    expect(signatureValid(request, secret)).toBe(true);
    expect(JSON.parse(request.body)).toMatchObject({
      type: 'period.archived',
      guild_id: guildId,
      data: { period_index: 0, sessions: 0 },
    });
  });

  it('retries with backoff: failing twice, delivered on the third attempt at the backoff instants', async () => {
    const guildId = await c.newGuild();
    const secret = await c.configure(guildId, { url: receiver.url, events: ['session.completed'] });
    receiver.state.failNext = 2;
    const before = receiver.received.length;
    await c.completeSession(guildId, '310000000000000003');
    await ctl.services.attendanceEvents.idle();
    await ctl.services.webhookSender.idle();
    const attemptTimes = [nowMs];

    for (const [failed, delay] of [
      [1, WEBHOOK_RETRY_DELAYS_MS[0]],
      [2, WEBHOOK_RETRY_DELAYS_MS[1]],
    ] as const) {
      const [pending] = await c.deliveries(guildId);
      expect(pending).toMatchObject({ status: 'pending', attempts: failed, last_status: 500 });
      expect(pending!.last_error).toContain('500');
      const dueAt = Date.parse(pending!.next_attempt_at!);
      expect(dueAt - nowMs).toBeGreaterThanOrEqual(delay * (1 - WEBHOOK_RETRY_JITTER));
      expect(dueAt - nowMs).toBeLessThanOrEqual(delay * (1 + WEBHOOK_RETRY_JITTER));
      // A second early: nothing is sent.
      nowMs = dueAt - 1000;
      await ctl.services.webhookSender.tick();
      expect(receiver.received.length).toBe(before + failed);
      // At the instant: the next attempt.
      nowMs = dueAt;
      await ctl.services.webhookSender.tick();
      expect(receiver.received.length).toBe(before + failed + 1);
      attemptTimes.push(nowMs);
    }

    const [delivered] = await c.deliveries(guildId);
    expect(delivered).toMatchObject({ status: 'delivered', attempts: 3, last_status: 204, last_error: null });
    const attempts = receiver.received.slice(before);
    // The same delivery id every time (the receiver's idempotency key), a fresh timestamp and signature each.
    expect(new Set(attempts.map((r) => r.headers['x-earshot-delivery']))).toEqual(new Set([delivered!.id]));
    expect(attempts.map((r) => Number(r.headers['x-earshot-timestamp']))).toEqual(
      attemptTimes.map((t) => Math.floor(t / 1000)),
    );
    for (const r of attempts) expect(signatureValid(r, secret)).toBe(true);
  });

  it(`gives up after ${WEBHOOK_MAX_ATTEMPTS} attempts: failed`, async () => {
    const guildId = await c.newGuild();
    await c.configure(guildId, { url: receiver.url, events: ['session.completed'] });
    receiver.state.failNext = 1000;
    receiver.state.failStatus = 503;
    try {
      await c.completeSession(guildId, '310000000000000004');
      await ctl.services.attendanceEvents.idle();
      await ctl.services.webhookSender.idle();
      for (let attempt = 1; attempt < WEBHOOK_MAX_ATTEMPTS; attempt++) {
        const [pending] = await c.deliveries(guildId);
        expect(pending).toMatchObject({ status: 'pending', attempts: attempt });
        nowMs = Date.parse(pending!.next_attempt_at!);
        await ctl.services.webhookSender.tick();
      }
      const [failed] = await c.deliveries(guildId);
      expect(failed).toMatchObject({
        status: 'failed',
        attempts: WEBHOOK_MAX_ATTEMPTS,
        last_status: 503,
        next_attempt_at: null,
      });
      // Failed is final.
      const sent = receiver.received.length;
      advanceMs(7 * 24 * 3_600_000);
      await ctl.services.webhookSender.tick();
      expect(receiver.received.length).toBe(sent);
      const metrics = await ctl.metrics.render();
      expect(metrics).toMatch(/earshot_webhook_deliveries_total\{outcome="failed"\} [1-9]/);
      expect(metrics).toMatch(/earshot_webhook_deliveries_total\{outcome="retry"\} [1-9]/);
    } finally {
      receiver.state.failNext = 0;
      receiver.state.failStatus = 500;
    }
  });

  it('410 Gone disables the webhook (audited) and fails the delivery', async () => {
    const guildId = await c.newGuild();
    await c.configure(guildId, { url: receiver.url, events: ['session.completed'] });
    receiver.state.failNext = 1;
    receiver.state.failStatus = 410;
    try {
      await c.completeSession(guildId, '310000000000000005');
      await ctl.services.attendanceEvents.idle();
      await ctl.services.webhookSender.idle();
    } finally {
      receiver.state.failStatus = 500;
    }
    const [gone] = await c.deliveries(guildId);
    expect(gone).toMatchObject({ status: 'failed', attempts: 1, last_status: 410 });
    expect((await c.api('GET', c.settings(guildId))).json().data.enabled).toBe(false);
    const audit = await ctl.db.auditEvent.findFirstOrThrow({
      where: { action: 'attendance.webhook_settings.disable', targetId: guildId },
    });
    expect(audit).toMatchObject({ actorType: 'system', outcome: 'success' });
  });

  it('a change that rolls back writes no delivery', async () => {
    const guildId = await c.newGuild();
    await c.configure(guildId, { url: receiver.url, events: ['session.completed'] });
    // The sessions' audit event fails, after the outbox row was written in the same transaction.
    const postgres = ctl.provider === 'postgresql';
    const failAudit = postgres
      ? [
          `CREATE FUNCTION earshot_test_fail() RETURNS trigger AS $$ BEGIN
             IF NEW."action" = 'attendance.sessions.store' THEN RAISE EXCEPTION 'injected failure'; END IF;
             RETURN NEW; END $$ LANGUAGE plpgsql`,
          `CREATE TRIGGER earshot_test_fail BEFORE INSERT ON "AuditEvent" FOR EACH ROW EXECUTE FUNCTION earshot_test_fail()`,
        ]
      : [
          `CREATE TRIGGER earshot_test_fail BEFORE INSERT ON "AuditEvent"
             WHEN NEW."action" = 'attendance.sessions.store'
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END`,
        ];
    for (const sql of failAudit) await ctl.db.$executeRawUnsafe(sql);
    try {
      const left = await c.completeSession(guildId, '310000000000000006');
      expect(left.statusCode).toBe(500);
    } finally {
      await ctl.db.$executeRawUnsafe(`DROP TRIGGER earshot_test_fail${postgres ? ' ON "AuditEvent"' : ''}`);
      if (postgres) await ctl.db.$executeRawUnsafe('DROP FUNCTION earshot_test_fail()');
    }
    await ctl.services.attendanceEvents.idle();
    await ctl.services.webhookSender.idle();
    expect(await ctl.db.voiceSession.count({ where: { guildId } })).toBe(0);
    expect(await ctl.db.webhookDelivery.count({ where: { guildId } })).toBe(0);
  });

  it('the secret never appears in a log line or a GET answer', async () => {
    expect(secrets.length).toBeGreaterThan(5);
    expect(logs.some((line) => line.includes('webhook delivered'))).toBe(true);
    expect(logs.some((line) => line.includes('/webhooks/settings'))).toBe(true);
    const text = logs.join('\n');
    for (const secret of secrets) expect(text).not.toContain(secret);
    // Nor the receiver's URL token: the sender logs the origin only.
    expect(logs.filter((l) => l.includes('webhook delivered')).join('\n')).not.toContain(
      'receiver-token-123',
    );
  });
});

describe('outbound webhooks across a restart', () => {
  it('a delivery pending when the app closes is sent by the next app on the same database', async () => {
    const dir = await tempDir('webhooks-restart');
    const receiver = await startReceiver();
    const target = await freshDatabase(dir.path);
    let first: Harness | undefined = await startApp(target, dir.path);
    try {
      const c1 = client(first);
      const guildId = await c1.newGuild();
      const secret = await c1.configure(guildId, { url: receiver.url });
      receiver.state.failNext = 1;
      await c1.completeSession(guildId, '310000000000000007');
      await first.services.attendanceEvents.idle();
      await first.services.webhookSender.idle();
      const [pending] = await c1.deliveries(guildId);
      expect(pending).toMatchObject({ status: 'pending', attempts: 1 });
      await first.shutdown();
      first = undefined;

      // The next process: same database, same data dir (so the same sealing key file).
      const second = await startApp(target, dir.path);
      try {
        nowMs = Date.parse(pending!.next_attempt_at!);
        await second.services.webhookSender.tick();
        const [delivered] = await client(second).deliveries(guildId);
        expect(delivered).toMatchObject({ id: pending!.id, status: 'delivered', attempts: 2 });
        expect(receiver.received).toHaveLength(2);
        expect(receiver.received[1]!.headers['x-earshot-delivery']).toBe(pending!.id);
        expect(signatureValid(receiver.received[1]!, secret)).toBe(true);
      } finally {
        await second.shutdown();
      }
    } finally {
      await first?.shutdown();
      await receiver.close();
      await dir.cleanup();
    }
  });
});

// Replicas share PostgreSQL; SQLite is one process's database (and two clients in
// one test process would block each other in better-sqlite3's synchronous busy wait).
describe.skipIf(!inject('pgBaseUrl'))('outbound webhooks with two controllers on one PostgreSQL', () => {
  it('each due delivery is sent by one of them, once', async () => {
    const dir = await tempDir('webhooks-replicas');
    const receiver = await startReceiver();
    const target = await freshDatabase(dir.path);
    // Same data dir, so the same sealing key (replicas on one PostgreSQL share EARSHOT_SECRET_KEY).
    const a = await startApp(target, dir.path);
    const b = await startApp(target, dir.path);
    try {
      const c = client(a);
      const guildId = await c.newGuild();
      const secret = await c.configure(guildId, { url: receiver.url, events: ['session.completed'] });
      // Failing while the sessions complete (earlier ones are retried meanwhile), then healthy.
      receiver.state.failNext = 1000;
      for (const user of [
        '310000000000000011',
        '310000000000000012',
        '310000000000000013',
        '310000000000000014',
      ])
        await c.completeSession(guildId, user);
      await a.services.attendanceEvents.idle();
      await a.services.webhookSender.idle();
      receiver.state.failNext = 0;
      const pending = await c.deliveries(guildId);
      expect(pending.map((d) => d.status)).toEqual(Array(4).fill('pending'));
      const sentBefore = receiver.received.length;

      nowMs = Math.max(...pending.map((d) => Date.parse(d.next_attempt_at!)));
      await Promise.all([a.services.webhookSender.tick(), b.services.webhookSender.tick()]);
      const delivered = await c.deliveries(guildId);
      expect(delivered.map((d) => [d.id, d.status, d.attempts])).toEqual(
        pending.map((d) => [d.id, 'delivered', d.attempts + 1]),
      );
      const retries = receiver.received.slice(sentBefore);
      expect(retries).toHaveLength(4);
      expect(new Set(retries.map((r) => r.headers['x-earshot-delivery'])).size).toBe(4);
      for (const r of retries) expect(signatureValid(r, secret)).toBe(true);
    } finally {
      await a.shutdown();
      await b.shutdown();
      await receiver.close();
      await dir.cleanup();
    }
  });
});

describe('outbound webhooks by default reach public addresses only', () => {
  let dir: TempDir;
  let ctl: Harness;
  let receiver: Receiver;
  beforeAll(async () => {
    dir = await tempDir('webhooks-public');
    ctl = await startApp(await freshDatabase(dir.path), dir.path, { webhookAllowPrivateNetworks: false });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await ctl.shutdown();
    await receiver.close();
    await dir.cleanup();
  });

  it('refuses a private, loopback or link-local URL when it is set', async () => {
    const c = client(ctl);
    const guildId = await c.newGuild();
    for (const url of [
      receiver.url,
      'http://localhost:8080/hook',
      'http://127.1/hook',
      'http://[::1]/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://169.254.169.254/latest/meta-data/',
      'http://10.1.2.3/hook',
      'http://192.168.1.10/hook',
      'https://0.0.0.0/hook',
    ]) {
      const response = await c.api('PATCH', c.settings(guildId), { url });
      expect(response.statusCode, url).toBe(422);
      expect(response.json().error.message, url).toMatch(/private|localhost/);
    }
    const fine = await c.api('PATCH', c.settings(guildId), { url: 'https://hooks.example.com/earshot' });
    expect(fine.statusCode, fine.body).toBe(200);
    secrets.push(fine.json().data.signing_secret);
  });

  it('checks the address again when it connects (a name that resolves to loopback is not sent to)', async () => {
    const c = client(ctl);
    const guildId = await c.newGuild();
    secrets.push(await c.configure(guildId, { url: 'https://hooks.example.com/earshot' }));
    // As if DNS for the stored name changed: a name that resolves to 127.0.0.1.
    const port = new URL(receiver.url).port;
    const row = await ctl.db.guild.findUniqueOrThrow({ where: { id: guildId } });
    const settings = JSON.parse(row.webhookSettings!);
    await ctl.db.guild.update({
      where: { id: guildId },
      data: { webhookSettings: JSON.stringify({ ...settings, url: `http://localhost:${port}/hook` }) },
    });
    await c.completeSession(guildId, '310000000000000021');
    await ctl.services.attendanceEvents.idle();
    await ctl.services.webhookSender.idle();
    const [blocked] = await c.deliveries(guildId);
    expect(blocked).toMatchObject({ status: 'pending', attempts: 1, last_status: null });
    expect(blocked!.last_error).toMatch(/private, loopback or reserved address/);
    expect(receiver.received).toHaveLength(0);
  });
});

describe('outbound webhook secrets and logs', () => {
  it('no log line of any app in this file holds a signing secret (runs last)', () => {
    expect(secrets.length).toBeGreaterThan(8);
    const text = logs.join('\n');
    for (const secret of secrets) expect(text).not.toContain(secret);
  });
});
