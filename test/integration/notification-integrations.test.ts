/**
 * Notification integrations end to end: the real app on a real database, a real HTTP receiver
 * (node:http on 127.0.0.1) per test that records what it got and answers as told, and an
 * injected clock and timers so retries and quiet periods happen exactly when the test says.
 * Each kind's payload and signature are checked as its receiver would; real health events
 * (entered through the API) and node presence (the broker's entry point) end in deliveries.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Config } from '../../controller/src/config.js';
import { controllerSecretBox } from '../../controller/src/crypto/secret-box.js';
import type { DatabaseTarget } from '../../controller/src/db/client.js';
import {
  DELIVERY_RETRY_DELAYS_MS,
  DELIVERY_RETRY_JITTER,
} from '../../controller/src/modules/notifications/index.js';
import { requestAs } from '../support/api.js';
import { enrolledNode, freshDatabase, type TestController } from '../support/controller.js';
import { type TempDir, tempDir } from '../support/tmp.js';
import {
  type Receiver,
  signatureValid,
  startWebhookApp,
  startReceiver as startWebhookReceiver,
  type WebhookHarness,
} from '../support/webhooks.js';

let nowMs = Date.parse('2025-09-01T08:00:00.000Z');
const advanceMs = (ms: number) => {
  nowMs += ms;
};
const logs: string[] = [];
const secrets: string[] = [];

type Harness = WebhookHarness;
const startApp = (target: DatabaseTarget, dataDir: string, overrides: Partial<Config> = {}) =>
  startWebhookApp(target, dataDir, {
    now: () => new Date(nowMs),
    logs,
    tokenName: 'notifications-test',
    overrides,
  });
// A token in the path, as chat webhooks have: it must not be shown or logged.
const startReceiver = () => startWebhookReceiver('/hooks/T000/B000/receiver-token-123');

/** Feishu's check: base64(HMAC-SHA256(key = "<timestamp>\n<secret>", message = "")). */
function feishuSignValid(body: { timestamp?: string; sign?: string }, secret: string): boolean {
  const expected = createHmac('sha256', `${body.timestamp}\n${secret}`).update('').digest('base64');
  return body.sign === expected;
}

let seq = 0;

function client(ctl: Harness) {
  const api = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    requestAs(ctl.app, ctl.token, method, url, payload);
  return {
    api,
    async create(body: object) {
      const created = await api('POST', '/api/v1/integrations', { name: `integration ${++seq}`, ...body });
      expect(created.statusCode, created.body).toBe(201);
      const data = created.json().data;
      if (data.signingSecret) secrets.push(data.signingSecret);
      return data as { id: string; status: string; signingSecret?: string; url: string };
    },
    async verifyAndEnable(id: string) {
      const verified = await api('POST', `/api/v1/integrations/${id}/verify`);
      expect(verified.statusCode, verified.body).toBe(200);
      expect(verified.json().data.lastVerification.ok, verified.body).toBe(true);
      const enabled = await api('POST', `/api/v1/integrations/${id}/enable`);
      expect(enabled.statusCode, enabled.body).toBe(200);
      expect(enabled.json().data.status).toBe('enabled');
    },
    async deliveries(id: string) {
      const page = await api('GET', `/api/v1/integrations/${id}/deliveries`);
      expect(page.statusCode, page.body).toBe(200);
      return page.json().data as {
        id: string;
        event: string;
        status: string;
        attempts: number;
        lastStatus: number | null;
        lastError: string | null;
        body: string;
        nextAttemptAt: string | null;
      }[];
    },
    /** Every change heard so far written to the outbox, and everything due sent. */
    async settle() {
      await ctl.services.notificationOutbox.idle();
      await ctl.services.notificationSender.tick();
      await ctl.services.notificationSender.idle();
    },
    async node(id: string, site = 'north') {
      const asController = { app: ctl.app, ownerToken: async () => ctl.token } as unknown as TestController;
      return enrolledNode(asController, { id, site });
    },
    async healthEvent(nodeId: string, severity = 'critical', type?: string) {
      advanceMs(1000); // after what came before, in the newest-first delivery log
      const created = await api('POST', '/api/v1/health-events', {
        nodeId,
        severity,
        message: 'the microphone went quiet',
        ...(type ? { type } : {}),
      });
      expect(created.statusCode, created.body).toBe(201);
      return created.json().data.id as string;
    },
  };
}

/** Only health events of a node and node presence: rules that take everything of severity warning up. */
const ALL_EVENTS = {
  events: ['health.opened', 'health.resolved', 'node.offline', 'node.online'],
  healthTypes: null,
  severities: ['warning', 'critical'],
  siteIds: null,
};

describe('notification integrations', () => {
  let dir: TempDir;
  let ctl: Harness;
  let receiver: Receiver;
  beforeAll(async () => {
    dir = await tempDir('notifications');
    ctl = await startApp(await freshDatabase(dir.path), dir.path);
  });
  afterAll(async () => {
    await ctl.shutdown();
    await dir.cleanup();
  });
  /** A new receiver; earlier tests' integrations are disabled (a new receiver may get an old one's port). */
  const fresh = async () => {
    await ctl.db.notificationIntegration.updateMany({ data: { status: 'disabled' } });
    await receiver?.close();
    receiver = await startReceiver();
    return receiver;
  };

  it('a webhook: a draft, refused enabling until verified; the test message is signed; then enabled', async () => {
    const c = client(ctl);
    const r = await fresh();
    const created = await c.create({ kind: 'webhook', url: r.url, rules: ALL_EVENTS });
    expect(created.status).toBe('draft');
    expect(created.signingSecret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    // Only the origin and the last characters of the URL are shown.
    expect(created.url).not.toContain('receiver-token');
    const actions = async () =>
      (await c.api('GET', `/api/v1/integrations/${created.id}/actions`)).json().data;
    // What a client may offer says what the routes would answer.
    expect(await actions()).toMatchObject({
      enable: { allowed: false, reason: expect.stringMatching(/^Verify it first/) },
      disable: { allowed: true, reason: null },
      verify: { allowed: true },
      rotateSecret: { allowed: true },
    });
    const early = await c.api('POST', `/api/v1/integrations/${created.id}/enable`);
    expect(early.statusCode, early.body).toBe(409);
    expect(early.json().error.message).toMatch(/verif/);

    await c.verifyAndEnable(created.id);
    expect(await actions()).toMatchObject({ enable: { allowed: true }, disable: { allowed: true } });
    expect(r.received).toHaveLength(1);
    const [test] = r.received;
    expect(signatureValid(test!, created.signingSecret!)).toBe(true);
    expect(test!.headers['x-earshot-event']).toBe('test');
    expect(JSON.parse(test!.body)).toMatchObject({
      type: 'test',
      text: expect.stringContaining('test message'),
    });
    const got = await c.api('GET', `/api/v1/integrations/${created.id}`);
    expect(got.json().data).toMatchObject({ status: 'enabled', secret: { set: true } });
    expect(got.json().data.verifiedAt).not.toBeNull();
    expect(got.body).not.toContain(created.signingSecret!);
    const [logged] = await c.deliveries(created.id);
    expect(logged).toMatchObject({ event: 'test', status: 'delivered', attempts: 1, lastStatus: 200 });
  });

  it('a health event entered by hand ends in a signed delivery; its resolution too', async () => {
    const c = client(ctl);
    const r = await fresh();
    const { id } = await c.create({ kind: 'webhook', url: r.url, rules: ALL_EVENTS });
    const secret = secrets.at(-1)!;
    await c.verifyAndEnable(id);
    const node = await c.node('notify-node-1');
    advanceMs(1000);
    const eventId = await c.healthEvent(node.nodeId);
    await c.settle();
    expect(r.received).toHaveLength(2);
    const opened = r.received[1]!;
    expect(signatureValid(opened, secret)).toBe(true);
    expect(opened.headers['x-earshot-event']).toBe('health.opened');
    const body = JSON.parse(opened.body);
    expect(body).toMatchObject({
      type: 'health.opened',
      node_id: node.nodeId,
      site_id: node.siteId,
      subject: { type: 'health_event', id: eventId },
      data: { type: 'manual', severity: 'critical', status: 'open', message: 'the microphone went quiet' },
    });
    expect(opened.headers['x-earshot-delivery']).toBe(body.id);

    advanceMs(1000);
    const resolved = await c.api('POST', `/api/v1/health-events/${eventId}/resolve`, {});
    expect(resolved.statusCode, resolved.body).toBe(200);
    await c.settle();
    // The resolution waits out the quiet period (default 300 s) in case the condition reopens.
    expect(r.received).toHaveLength(2);
    advanceMs(300_000);
    await c.settle();
    expect(r.received).toHaveLength(3);
    expect(JSON.parse(r.received[2]!.body)).toMatchObject({
      type: 'health.resolved',
      data: { status: 'resolved' },
    });
    const log = await c.deliveries(id);
    expect(log.map((d) => [d.event, d.status])).toEqual([
      ['health.resolved', 'delivered'],
      ['health.opened', 'delivered'],
      ['test', 'delivered'],
    ]);
  });

  it('routing rules: a severity or site not routed sends nothing', async () => {
    const c = client(ctl);
    const r = await fresh();
    const node = await c.node('notify-node-2', 'south');
    const { id } = await c.create({
      kind: 'slack',
      url: r.url,
      rules: { ...ALL_EVENTS, severities: ['critical'], siteIds: [node.siteId] },
    });
    await c.verifyAndEnable(id);
    const other = await c.node('notify-node-3', 'east');
    await c.healthEvent(node.nodeId, 'warning'); // severity not routed
    await c.healthEvent(other.nodeId, 'critical'); // site not routed
    await c.healthEvent(node.nodeId, 'critical', 'clipping');
    await c.settle();
    expect(r.received.map((m) => JSON.parse(m.body).text)).toEqual([
      expect.stringContaining('test message'),
      expect.stringMatching(
        /^\[CRITICAL\] clipping opened on node notify-node-2: the microphone went quiet$/,
      ),
    ]);
  });

  it('slack, discord and feishu: each in its own format; feishu signed with its scheme', async () => {
    const c = client(ctl);
    const node = await c.node('notify-node-4');
    const slack = await fresh();
    const s = await c.create({ kind: 'slack', url: slack.url, rules: ALL_EVENTS });
    await c.verifyAndEnable(s.id);
    const slackActions = (await c.api('GET', `/api/v1/integrations/${s.id}/actions`)).json().data;
    expect(slackActions.rotateSecret).toEqual({
      allowed: false,
      reason: expect.stringMatching(/no signing secret/),
    });
    expect((await c.api('POST', `/api/v1/integrations/${s.id}/rotate-secret`, {})).statusCode).toBe(409);
    const discord = await startReceiver();
    discord.state.status = 204;
    discord.state.answer = '';
    const d = await c.create({ kind: 'discord', url: discord.url, rules: ALL_EVENTS });
    await c.verifyAndEnable(d.id);
    const feishu = await startReceiver();
    feishu.state.answer = '{"code":0,"msg":"success","data":{}}';
    const feishuSecret = 'feishu-bot-signing-secret';
    const f = await c.create({ kind: 'feishu', url: feishu.url, secret: feishuSecret, rules: ALL_EVENTS });
    await c.verifyAndEnable(f.id);

    await c.healthEvent(node.nodeId, 'warning', 'silence');
    await c.settle();
    expect(JSON.parse(slack.received[1]!.body)).toEqual({
      text: '[WARNING] silence opened on node notify-node-4: the microphone went quiet',
    });
    const embed = JSON.parse(discord.received[1]!.body);
    expect(embed).toMatchObject({
      allowed_mentions: { parse: [] },
      embeds: [{ title: '[WARNING] silence opened on node notify-node-4', color: 0xf9a825 }],
    });
    expect(embed.embeds[0].description).toContain('the microphone went quiet');
    const message = JSON.parse(feishu.received[1]!.body);
    expect(message).toMatchObject({
      msg_type: 'text',
      content: { text: '[WARNING] silence opened on node notify-node-4: the microphone went quiet' },
    });
    expect(message.timestamp).toBe(String(Math.floor(nowMs / 1000)));
    expect(feishuSignValid(message, feishuSecret)).toBe(true);
    expect(feishuSignValid(JSON.parse(feishu.received[0]!.body), feishuSecret)).toBe(true);
    // Chat webhooks have no signing secret: the URL is the credential.
    const rotate = await c.api('POST', `/api/v1/integrations/${s.id}/rotate-secret`, {});
    expect(rotate.statusCode, rotate.body).toBe(409);
    await discord.close();
    await feishu.close();
  });

  it('feishu: an answer of 200 with a non-zero code is a failed verification; enabling stays refused', async () => {
    const c = client(ctl);
    const r = await fresh();
    r.state.answer =
      '{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}';
    const f = await c.create({ kind: 'feishu', url: r.url, secret: 'wrong-secret' });
    const verified = await c.api('POST', `/api/v1/integrations/${f.id}/verify`);
    expect(verified.statusCode, verified.body).toBe(200);
    expect(verified.json().data.lastVerification).toMatchObject({ ok: false, status: null });
    expect(verified.json().data.lastVerification.error).toMatch(/code 19021: sign match fail/);
    expect((await c.api('POST', `/api/v1/integrations/${f.id}/enable`)).statusCode).toBe(409);
  });

  it('the controller’s own events: a missed recording and a broken audit chain, routed by type', async () => {
    const c = client(ctl);
    const r = await fresh();
    const types = ['occurrence_missed', 'upload_failing', 'audit_chain'];
    const { id } = await c.create({
      kind: 'webhook',
      url: r.url,
      rules: { ...ALL_EVENTS, healthTypes: types },
    });
    await c.verifyAndEnable(id);
    const node = await c.node('notify-node-9');
    const alerts = ctl.services.healthAlerts;
    await c.healthEvent(node.nodeId, 'critical', 'clipping'); // not a routed type
    advanceMs(1000);
    await alerts.occurrenceMissed({
      nodeId: node.nodeId,
      scheduleId: 'schedule-1',
      jobId: 'job-1',
      plannedStartAt: new Date(nowMs - 60_000),
      reason: 'the agent was offline',
    });
    advanceMs(1000);
    await alerts.auditChainVerified({
      ok: false,
      checked: 10,
      brokenAt: { seq: 4, id: 'a4', reason: 'hash' },
    });
    await c.settle();
    const bodies = r.received.slice(1).map((m) => JSON.parse(m.body));
    expect(bodies.map((b) => [b.type, b.data.type, b.node_id])).toEqual([
      ['health.opened', 'occurrence_missed', node.nodeId],
      ['health.opened', 'audit_chain', null],
    ]);
    expect(bodies[1].text).toMatch(/^\[CRITICAL\] audit_chain opened on the controller \(fleet-wide\)/);
  });

  it('a 410 Gone fails the message and disables the integration (audited), with no retry', async () => {
    const c = client(ctl);
    const r = await fresh();
    const { id } = await c.create({ kind: 'slack', url: r.url, rules: ALL_EVENTS });
    await c.verifyAndEnable(id);
    const node = await c.node('notify-node-gone');
    r.state.failNext = 1;
    r.state.failStatus = 410;
    await c.healthEvent(node.nodeId);
    await c.settle();
    r.state.failStatus = 500;
    const [gone] = await c.deliveries(id);
    expect(gone).toMatchObject({ status: 'failed', attempts: 1, lastStatus: 410 });
    expect(gone!.lastError).toMatch(/the integration was disabled/);
    const got = await c.api('GET', `/api/v1/integrations/${id}`);
    expect(got.json().data.status).toBe('disabled');
    const audited = await ctl.db.auditEvent.findMany({
      where: { action: 'integration.disable', targetId: id },
    });
    expect(audited).toEqual([
      expect.objectContaining({ actorType: 'system', reason: 'the receiver answered 410 Gone' }),
    ]);
    // Disabled: the next change queues nothing for it.
    await c.healthEvent(node.nodeId, 'critical', 'silence');
    await c.settle();
    expect(await c.deliveries(id)).toHaveLength(2); // the test message and the one that met the 410
  });

  it('retries after a 500 on the backoff schedule, then delivers', async () => {
    const c = client(ctl);
    const r = await fresh();
    const { id } = await c.create({ kind: 'discord', url: r.url, rules: ALL_EVENTS });
    await c.verifyAndEnable(id);
    const node = await c.node('notify-node-5');
    r.state.failNext = 1;
    await c.healthEvent(node.nodeId);
    await c.settle();
    const [failed] = await c.deliveries(id);
    expect(failed).toMatchObject({ status: 'pending', attempts: 1, lastStatus: 500 });
    expect(failed!.lastError).toMatch(/answered 500/);
    const waitMs = Date.parse(failed!.nextAttemptAt!) - nowMs;
    const first = DELIVERY_RETRY_DELAYS_MS[0];
    expect(waitMs).toBeGreaterThanOrEqual(first * (1 - DELIVERY_RETRY_JITTER));
    expect(waitMs).toBeLessThanOrEqual(first * (1 + DELIVERY_RETRY_JITTER));
    // Not due yet: a pass sends nothing.
    await ctl.services.notificationSender.tick();
    expect(r.received).toHaveLength(2);
    advanceMs(waitMs);
    await ctl.services.notificationSender.tick();
    expect(r.received).toHaveLength(3);
    expect(r.received[2]!.body).toBe(r.received[1]!.body);
    const [delivered] = await c.deliveries(id);
    expect(delivered).toMatchObject({ status: 'delivered', attempts: 2, lastStatus: 200, lastError: null });
    const counted = (await ctl.metrics.notificationDeliveries.get()).values;
    const count = (outcome: string) =>
      counted.find((v) => v.labels.kind === 'discord' && v.labels.outcome === outcome)?.value ?? 0;
    expect(count('retry')).toBeGreaterThanOrEqual(1);
    expect(count('delivered')).toBeGreaterThanOrEqual(1);
  });

  it('a redirect is not followed: the delivery fails with a clear error', async () => {
    const c = client(ctl);
    const r = await fresh();
    const { id } = await c.create({ kind: 'slack', url: r.url, rules: ALL_EVENTS });
    await c.verifyAndEnable(id);
    const node = await c.node('notify-node-6');
    r.state.failNext = 1;
    r.state.failStatus = 302;
    r.state.location = `${new URL(r.url).origin}/redirected`;
    await c.healthEvent(node.nodeId);
    await c.settle();
    const [redirected] = await c.deliveries(id);
    expect(redirected).toMatchObject({ status: 'pending', attempts: 1, lastStatus: 302 });
    expect(redirected!.lastError).toMatch(/302 \(redirects are not followed\)/);
    expect(r.received.map((m) => m.path)).not.toContain('/redirected');
    // A verification answered with a redirect fails too.
    r.state.failNext = 1;
    const verified = await c.api('POST', `/api/v1/integrations/${id}/verify`);
    expect(verified.json().data.lastVerification).toMatchObject({ ok: false, status: 302 });
    expect(r.received.map((m) => m.path)).not.toContain('/redirected');
  });

  it('a quiet period: a flapping node sends one offline, and one online once it stayed online', async () => {
    const c = client(ctl);
    const r = await fresh();
    const { id } = await c.create({ kind: 'slack', url: r.url, rules: ALL_EVENTS, quietSeconds: 600 });
    await c.verifyAndEnable(id);
    const node = await c.node('notify-node-7');
    const { nodes } = ctl.services;
    await nodes.setPresence(node.nodeId, true); // online with no opening sent: nothing to resolve
    for (let i = 0; i < 3; i++) {
      await nodes.setPresence(node.nodeId, false);
      advanceMs(30_000);
      await nodes.setPresence(node.nodeId, true);
      advanceMs(30_000);
    }
    await c.settle();
    expect(r.received.slice(1).map((m) => JSON.parse(m.body).text)).toEqual([
      '[OFFLINE] node notify-node-7 is offline',
    ]);
    advanceMs(600_000); // online for the whole quiet period: now it is said
    await c.settle();
    expect(r.received.slice(1).map((m) => JSON.parse(m.body).text)).toEqual([
      '[OFFLINE] node notify-node-7 is offline',
      '[ONLINE] node notify-node-7 is back online',
    ]);
    // Two openings of one health condition within the quiet period: one message.
    await c.healthEvent(node.nodeId, 'critical', 'device_lost');
    advanceMs(60_000);
    await c.healthEvent(node.nodeId, 'critical', 'device_lost');
    await c.settle();
    expect(r.received.slice(3).map((m) => JSON.parse(m.body).text)).toEqual([
      expect.stringMatching(/^\[CRITICAL\] device_lost opened on node notify-node-7/),
    ]);
    // Past the quiet period, the condition speaks again.
    advanceMs(600_000);
    await nodes.setPresence(node.nodeId, false);
    await c.settle();
    expect(JSON.parse(r.received.at(-1)!.body).text).toBe('[OFFLINE] node notify-node-7 is offline');
  });

  it('a condition that flaps and ends open is never reported resolved', async () => {
    const c = client(ctl);
    const r = await fresh();
    const { id } = await c.create({ kind: 'slack', url: r.url, rules: ALL_EVENTS, quietSeconds: 600 });
    await c.verifyAndEnable(id);
    const node = await c.node('notify-node-flap');
    const { nodes } = ctl.services;
    await nodes.setPresence(node.nodeId, true);
    for (let i = 0; i < 3; i++) {
      await nodes.setPresence(node.nodeId, false);
      advanceMs(30_000);
      await nodes.setPresence(node.nodeId, true);
      advanceMs(30_000);
      await c.settle();
    }
    await nodes.setPresence(node.nodeId, false); // and it stays offline
    advanceMs(3_600_000);
    await c.settle();
    expect(r.received.slice(1).map((m) => JSON.parse(m.body).text)).toEqual([
      '[OFFLINE] node notify-node-flap is offline',
    ]);
    const log = await c.deliveries(id);
    expect(log.map((d) => [d.event, d.status])).toEqual([
      ['node.offline', 'delivered'],
      ['test', 'delivered'],
    ]);
  });

  it('disabled: nothing is queued; a new URL makes it a draft that must be verified again', async () => {
    const c = client(ctl);
    const r = await fresh();
    const { id } = await c.create({ kind: 'webhook', url: r.url, rules: ALL_EVENTS });
    await c.verifyAndEnable(id);
    const disabled = await c.api('POST', `/api/v1/integrations/${id}/disable`);
    expect(disabled.json().data.status).toBe('disabled');
    const node = await c.node('notify-node-8');
    await c.healthEvent(node.nodeId);
    await c.settle();
    expect(r.received).toHaveLength(1);
    await c.verifyAndEnable(id);
    const moved = await c.api('PATCH', `/api/v1/integrations/${id}`, { url: `${r.url}/moved` });
    expect(moved.json().data).toMatchObject({ status: 'draft', verifiedAt: null });
    expect((await c.api('POST', `/api/v1/integrations/${id}/enable`)).statusCode).toBe(409);
  });

  it('rotates a webhook secret: shown once, the next message signed with it; audited without it', async () => {
    const c = client(ctl);
    const r = await fresh();
    const { id } = await c.create({ kind: 'webhook', url: r.url, rules: ALL_EVENTS });
    await c.verifyAndEnable(id);
    const rotated = await c.api('POST', `/api/v1/integrations/${id}/rotate-secret`, {});
    expect(rotated.statusCode, rotated.body).toBe(200);
    const secret = rotated.json().data.signingSecret as string;
    secrets.push(secret);
    expect(secret).toMatch(/^whsec_/);
    expect(rotated.json().data.secret.hint).toBe(secret.slice(-4));
    await c.api('POST', `/api/v1/integrations/${id}/verify`);
    expect(signatureValid(r.received.at(-1)!, secret)).toBe(true);
    const audit = await ctl.db.auditEvent.findMany({ where: { targetId: id } });
    expect(audit.map((e) => e.action)).toEqual(
      expect.arrayContaining(['integration.create', 'integration.rotate_secret', 'integration.verify']),
    );
    expect(JSON.stringify(audit)).not.toContain(secret);
    expect(JSON.stringify(audit)).not.toContain('receiver-token');
  });

  it('refuses bad input with 4xx and a useful message', async () => {
    const c = client(ctl);
    const cases: [object, number, RegExp][] = [
      [{ kind: 'sms', url: 'https://example.com/x' }, 400, /kind/],
      [{ kind: 'slack', url: 'ftp://example.com/x' }, 422, /http or https/],
      [{ kind: 'slack', url: 'https://example.com/x', secret: 'x' }, 422, /no signing secret/],
      [{ kind: 'webhook', url: 'https://example.com/x', secret: 'x' }, 422, /generated/],
      [{ kind: 'slack', url: 'https://example.com/x', quietSeconds: -1 }, 400, /quietSeconds/],
    ];
    for (const [body, status, message] of cases) {
      const response = await c.api('POST', '/api/v1/integrations', { name: `bad ${++seq}`, ...body });
      expect(response.statusCode, response.body).toBe(status);
      expect(response.json().error.message).toMatch(message);
    }
    const name = `dup ${++seq}`;
    expect(
      (await c.api('POST', '/api/v1/integrations', { name, kind: 'slack', url: 'https://e.com/a' }))
        .statusCode,
    ).toBe(201);
    const dup = await c.api('POST', '/api/v1/integrations', { name, kind: 'slack', url: 'https://e.com/a' });
    expect(dup.statusCode).toBe(409);
    const missing = await c.api('POST', '/api/v1/integrations/nope/verify');
    expect(missing.statusCode).toBe(404);
  });

  it('the delivery log pages with a cursor, newest first', async () => {
    const c = client(ctl);
    const r = await fresh();
    const { id } = await c.create({ kind: 'slack', url: r.url });
    for (let i = 0; i < 3; i++) {
      await c.api('POST', `/api/v1/integrations/${id}/verify`);
      advanceMs(1000);
    }
    const first = await c.api('GET', `/api/v1/integrations/${id}/deliveries?limit=2`);
    expect(first.json().data).toHaveLength(2);
    const next = first.json().nextCursor as string;
    const second = await c.api('GET', `/api/v1/integrations/${id}/deliveries?limit=2&cursor=${next}`);
    expect(second.json().data).toHaveLength(1);
    const ids = [...first.json().data, ...second.json().data].map((d: { id: string }) => d.id);
    expect(new Set(ids).size).toBe(3);
    const deleted = await c.api('DELETE', `/api/v1/integrations/${id}`);
    expect(deleted.statusCode).toBe(204);
    expect((await c.api('GET', `/api/v1/integrations/${id}/deliveries`)).statusCode).toBe(404);
    await receiver.close();
  });
});

describe('notification integrations by default reach public addresses only', () => {
  let dir: TempDir;
  let ctl: Harness;
  let receiver: Receiver;
  beforeAll(async () => {
    dir = await tempDir('notifications-public');
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
    for (const url of [
      receiver.url,
      'http://localhost:8080/hook',
      'http://[::1]/hook',
      'http://169.254.169.254/latest/meta-data/',
      'http://10.1.2.3/hook',
      'http://192.168.1.10/hook',
    ]) {
      const response = await c.api('POST', '/api/v1/integrations', {
        name: `p ${++seq}`,
        kind: 'slack',
        url,
      });
      expect(response.statusCode, url).toBe(422);
      expect(response.json().error.message, url).toMatch(/private|localhost/);
    }
  });

  it('checks the address again when it sends (a stored loopback URL is not sent to)', async () => {
    const c = client(ctl);
    const created = await c.create({ kind: 'slack', url: 'https://hooks.example.com/services/T/B/x' });
    // As if the stored URL pointed at loopback (sealed with the controller's key, as the app does).
    const box = await controllerSecretBox({ configuredKey: undefined, dataDir: ctl.dataDir })();
    await ctl.db.notificationIntegration.update({
      where: { id: created.id },
      data: { url: box.seal(receiver.url, `earshot.notification-url:${created.id}`) },
    });
    const verified = await c.api('POST', `/api/v1/integrations/${created.id}/verify`);
    expect(verified.statusCode, verified.body).toBe(200);
    expect(verified.json().data.lastVerification).toMatchObject({ ok: false, status: null });
    expect(verified.json().data.lastVerification.error).toMatch(/private, loopback or reserved address/);
    expect(receiver.received).toHaveLength(0);
  });
});

// Replicas share PostgreSQL; SQLite is one process's database (and two clients in one test
// process would block each other in better-sqlite3's synchronous busy wait).
describe.skipIf(!inject('pgBaseUrl'))('notifications with two controllers on one PostgreSQL', () => {
  it('each due message is sent by one of them, once', async () => {
    const dir = await tempDir('notifications-replicas');
    const receiver = await startReceiver();
    const target = await freshDatabase(dir.path);
    // Same data dir, so the same sealing key (replicas on one PostgreSQL share EARSHOT_SECRET_KEY).
    const a = await startApp(target, dir.path);
    const b = await startApp(target, dir.path);
    try {
      const c = client(a);
      const { id } = await c.create({ kind: 'webhook', url: receiver.url, rules: ALL_EVENTS });
      await c.verifyAndEnable(id);
      const node = await c.node('replica-node-1');
      // Failing while the events open, then healthy.
      receiver.state.failNext = 1000;
      for (const type of ['silence', 'clipping', 'device_lost', 'disk_low'])
        await c.healthEvent(node.nodeId, 'critical', type);
      await c.settle();
      receiver.state.failNext = 0;
      const pending = (await c.deliveries(id)).filter((d) => d.event !== 'test');
      expect(pending.map((d) => d.status)).toEqual(Array(4).fill('pending'));
      const sentBefore = receiver.received.length;
      nowMs = Math.max(...pending.map((d) => Date.parse(d.nextAttemptAt!)));
      await Promise.all([a.services.notificationSender.tick(), b.services.notificationSender.tick()]);
      const delivered = (await c.deliveries(id)).filter((d) => d.event !== 'test');
      expect(delivered.map((d) => [d.id, d.status, d.attempts])).toEqual(
        pending.map((d) => [d.id, 'delivered', d.attempts + 1]),
      );
      const retries = receiver.received.slice(sentBefore);
      expect(retries).toHaveLength(4);
      expect(new Set(retries.map((r) => r.headers['x-earshot-delivery'])).size).toBe(4);
    } finally {
      await a.shutdown();
      await b.shutdown();
      await receiver.close();
      await dir.cleanup();
    }
  });
});

describe('notification secrets and logs', () => {
  it('no log line holds a signing secret or a URL token (runs last)', () => {
    expect(secrets.length).toBeGreaterThan(3);
    const text = logs.join('\n');
    expect(text).toContain('notification delivered');
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toContain('receiver-token-123');
  });
});
